#include "client/kv.h"

#include "client/txn.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {
namespace {

// "\0": as range_end, every key >= key; as key with range_end "\0", all keys.
const std::string kNul(1, '\0');

using Channel = std::shared_ptr<grpc::Channel>;

// Applies prefix / from_key / explicit range to (key, range_end) the way
// clientv3's WithPrefix / WithFromKey / WithRange do.
void ResolveRange(std::string_view key_in, const std::string& range_end, bool prefix, bool from_key,
                  std::string* key, std::string* end) {
  key->assign(key_in.data(), key_in.size());
  end->clear();
  if (prefix) {
    if (key->empty()) {
      *key = kNul;
      *end = kNul;
    } else {
      *end = PrefixRangeEnd(*key);
    }
  } else if (from_key) {
    if (key->empty()) *key = kNul;
    *end = kNul;
  } else {
    *end = range_end;
  }
}

bool IsIdempotent(const etcdserverpb::TxnRequest& req);

bool IsReadOnly(const etcdserverpb::RequestOp& op) {
  switch (op.request_case()) {
    case etcdserverpb::RequestOp::kRequestRange:
      return true;
    case etcdserverpb::RequestOp::kRequestTxn:
      return IsIdempotent(op.request_txn());
    default:
      return false;
  }
}

// A txn whose branches only read can be re-sent safely.
bool IsIdempotent(const etcdserverpb::TxnRequest& req) {
  for (const auto& op : req.success()) {
    if (!IsReadOnly(op)) return false;
  }
  for (const auto& op : req.failure()) {
    if (!IsReadOnly(op)) return false;
  }
  return true;
}

}  // namespace

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  for (size_t i = end.size(); i-- > 0;) {
    if (static_cast<unsigned char>(end[i]) < 0xff) {
      end[i] = static_cast<char>(static_cast<unsigned char>(end[i]) + 1);
      end.resize(i + 1);
      return end;
    }
  }
  return kNul;
}

etcdserverpb::RangeRequest BuildRangeRequest(std::string_view key, const GetOptions& opts) {
  etcdserverpb::RangeRequest r;
  ResolveRange(key, opts.range_end, opts.prefix, opts.from_key, r.mutable_key(),
               r.mutable_range_end());
  r.set_limit(opts.limit);
  if (opts.revision > 0) r.set_revision(opts.revision);
  SortOrder order = opts.sort_order;
  // Keys come back in ascending key order anyway; asking for it would make
  // the server sort the whole range before applying the limit.
  if (opts.sort_target == SortTarget::kKey && order == SortOrder::kAscend) order = SortOrder::kNone;
  r.set_sort_order(static_cast<etcdserverpb::RangeRequest::SortOrder>(order));
  r.set_sort_target(static_cast<etcdserverpb::RangeRequest::SortTarget>(opts.sort_target));
  r.set_serializable(opts.serializable);
  r.set_keys_only(opts.keys_only);
  r.set_count_only(opts.count_only);
  r.set_min_mod_revision(opts.min_mod_revision);
  r.set_max_mod_revision(opts.max_mod_revision);
  r.set_min_create_revision(opts.min_create_revision);
  r.set_max_create_revision(opts.max_create_revision);
  return r;
}

etcdserverpb::PutRequest BuildPutRequest(std::string_view key, std::string_view value,
                                         const PutOptions& opts) {
  etcdserverpb::PutRequest r;
  r.set_key(std::string(key));
  r.set_value(std::string(value));
  r.set_lease(opts.lease);
  r.set_prev_kv(opts.prev_kv);
  r.set_ignore_value(opts.ignore_value);
  r.set_ignore_lease(opts.ignore_lease);
  return r;
}

etcdserverpb::DeleteRangeRequest BuildDeleteRequest(std::string_view key,
                                                    const DeleteOptions& opts) {
  etcdserverpb::DeleteRangeRequest r;
  ResolveRange(key, opts.range_end, opts.prefix, opts.from_key, r.mutable_key(),
               r.mutable_range_end());
  r.set_prev_kv(opts.prev_kv);
  return r;
}

absl::StatusOr<etcdserverpb::RangeResponse> KvClient::Get(std::string_view key,
                                                          const GetOptions& opts) {
  return Range(BuildRangeRequest(key, opts));
}

absl::StatusOr<etcdserverpb::RangeResponse> KvClient::Range(const etcdserverpb::RangeRequest& req) {
  return client_.Invoke<etcdserverpb::RangeResponse>(
      Idempotency::kIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::RangeResponse* resp) {
        return etcdserverpb::KV::NewStub(ch)->Range(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::PutResponse> KvClient::Put(std::string_view key,
                                                        std::string_view value,
                                                        const PutOptions& opts) {
  const etcdserverpb::PutRequest req = BuildPutRequest(key, value, opts);
  return client_.Invoke<etcdserverpb::PutResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::PutResponse* resp) {
        return etcdserverpb::KV::NewStub(ch)->Put(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> KvClient::Delete(std::string_view key,
                                                                   const DeleteOptions& opts) {
  const etcdserverpb::DeleteRangeRequest req = BuildDeleteRequest(key, opts);
  return client_.Invoke<etcdserverpb::DeleteRangeResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::DeleteRangeResponse* resp) {
        return etcdserverpb::KV::NewStub(ch)->DeleteRange(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::TxnResponse> KvClient::Commit(const class Txn& txn) {
  return Txn(txn.Build());
}

absl::StatusOr<etcdserverpb::TxnResponse> KvClient::Txn(const etcdserverpb::TxnRequest& req) {
  return client_.Invoke<etcdserverpb::TxnResponse>(
      IsIdempotent(req) ? Idempotency::kIdempotent : Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::TxnResponse* resp) {
        return etcdserverpb::KV::NewStub(ch)->Txn(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::CompactionResponse> KvClient::Compact(int64_t revision,
                                                                   const CompactOptions& opts) {
  etcdserverpb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(opts.physical);
  return client_.Invoke<etcdserverpb::CompactionResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::CompactionResponse* resp) {
        return etcdserverpb::KV::NewStub(ch)->Compact(ctx, req, resp);
      });
}

}  // namespace quorum::client
