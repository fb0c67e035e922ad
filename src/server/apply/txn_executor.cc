#include "server/apply/txn_executor.h"

#include "server/apply/range_executor.h"
#include "server/errors.h"
#include "mvcc/errors.h"

namespace quorum::server {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RequestOp;

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// etcd's compareKV: a missing union member compares as zero / empty.
bool CompareKv(const Compare& c, const mvccpb::KeyValue& kv) {
  int result = 0;
  switch (c.target()) {
    case Compare::VALUE:
      result = Cmp<std::string>(kv.value(), c.has_value() ? c.value() : std::string());
      break;
    case Compare::CREATE:
      result = Cmp<int64_t>(kv.create_revision(), c.has_create_revision() ? c.create_revision() : 0);
      break;
    case Compare::MOD:
      result = Cmp<int64_t>(kv.mod_revision(), c.has_mod_revision() ? c.mod_revision() : 0);
      break;
    case Compare::VERSION:
      result = Cmp<int64_t>(kv.version(), c.has_version() ? c.version() : 0);
      break;
    case Compare::LEASE:
      result = Cmp<int64_t>(kv.lease(), c.has_lease() ? c.lease() : 0);
      break;
    default:
      break;
  }
  switch (c.result()) {
    case Compare::EQUAL:
      return result == 0;
    case Compare::NOT_EQUAL:
      return result != 0;
    case Compare::GREATER:
      return result > 0;
    case Compare::LESS:
      return result < 0;
    default:
      return true;
  }
}

}  // namespace

bool TxnExecutor::Compare(const etcdserverpb::Compare& c) const {
  auto rr = reader_.Range(c.key(), c.range_end(), mvcc::RangeOptions{});
  if (!rr.ok()) return false;
  if (rr->kvs.empty()) {
    // A value compare on a missing key always fails (no "missing" value).
    if (c.target() == Compare::VALUE) return false;
    return CompareKv(c, mvccpb::KeyValue());
  }
  for (const auto& kv : rr->kvs) {
    if (!CompareKv(c, kv)) return false;
  }
  return true;
}

void TxnExecutor::ComputePath(const etcdserverpb::TxnRequest& r, std::vector<bool>* path) const {
  bool ok = true;
  for (const auto& c : r.compare()) {
    if (!Compare(c)) {
      ok = false;
      break;
    }
  }
  path->push_back(ok);
  for (const auto& op : ok ? r.success() : r.failure()) {
    if (op.has_request_txn()) ComputePath(op.request_txn(), path);
  }
}

absl::Status TxnExecutor::CheckPut(const etcdserverpb::PutRequest& r,
                                   const FromKeyDeletes& from_key_deletes) const {
  if (r.ignore_value() || r.ignore_lease()) {
    auto rr = reader_.Range(r.key(), "", mvcc::RangeOptions{});
    if (!rr.ok()) return rr.status();
    if (rr->kvs.empty()) return ErrKeyNotFound();
    // Gone by the time the put runs: failing now keeps the txn all or
    // nothing (etcd panics on this txn).
    for (const std::string& from : from_key_deletes) {
      if (r.key() >= from) return ErrKeyNotFound();
    }
  }
  if (r.lease() != 0 && !(leases_ && leases_(r.lease()))) return ErrLeaseNotFound();
  return absl::OkStatus();
}

absl::Status TxnExecutor::CheckOps(const etcdserverpb::TxnRequest& r,
                                   const std::vector<bool>& path, size_t* pos, CheckPass pass,
                                   FromKeyDeletes* from_key_deletes) const {
  const bool ok = path[(*pos)++];
  for (const auto& op : ok ? r.success() : r.failure()) {
    switch (op.request_case()) {
      case RequestOp::kRequestRange: {
        if (pass != CheckPass::kRanges) break;
        const int64_t rev = op.request_range().revision();
        if (rev > reader_.Rev()) return mvcc::ErrFutureRev();
        if (rev != 0 && rev < reader_.CompactRev()) return mvcc::ErrCompacted();
        break;
      }
      case RequestOp::kRequestPut:
        if (pass != CheckPass::kPuts) break;
        if (auto s = CheckPut(op.request_put(), *from_key_deletes); !s.ok()) return s;
        break;
      case RequestOp::kRequestDeleteRange:
        if (op.request_delete_range().range_end() == std::string(1, '\0')) {
          from_key_deletes->push_back(op.request_delete_range().key());
        }
        break;
      case RequestOp::kRequestTxn:
        if (auto s = CheckOps(op.request_txn(), path, pos, pass, from_key_deletes); !s.ok()) {
          return s;
        }
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<etcdserverpb::PutResponse> TxnExecutor::Put(const etcdserverpb::PutRequest& r) {
  if (r.lease() != 0 && !(leases_ && leases_(r.lease()))) return ErrLeaseNotFound();
  return ApplyPut(r);
}

absl::StatusOr<etcdserverpb::PutResponse> TxnExecutor::ApplyPut(const etcdserverpb::PutRequest& r) {
  etcdserverpb::PutResponse resp;
  std::string value = r.value();
  int64_t lease = r.lease();
  if (r.ignore_value() || r.ignore_lease() || r.prev_kv()) {
    auto rr = reader_.Range(r.key(), "", mvcc::RangeOptions{});
    if (!rr.ok()) return rr.status();
    if ((r.ignore_value() || r.ignore_lease()) && rr->kvs.empty()) return ErrKeyNotFound();
    if (!rr->kvs.empty()) {
      if (r.ignore_value()) value = rr->kvs[0].value();
      if (r.ignore_lease()) lease = rr->kvs[0].lease();
      if (r.prev_kv()) *resp.mutable_prev_kv() = rr->kvs[0];
    }
  }
  if (lease != 0 && !(leases_ && leases_(lease))) return ErrLeaseNotFound();
  resp.mutable_header()->set_revision(writer_->Put(r.key(), value, lease));
  return resp;
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> TxnExecutor::DeleteRange(
    const etcdserverpb::DeleteRangeRequest& r) {
  etcdserverpb::DeleteRangeResponse resp;
  if (r.prev_kv()) {
    auto rr = reader_.Range(r.key(), r.range_end(), mvcc::RangeOptions{});
    if (!rr.ok()) return rr.status();
    for (auto& kv : rr->kvs) *resp.add_prev_kvs() = std::move(kv);
  }
  resp.set_deleted(writer_->DeleteRange(r.key(), r.range_end()));
  resp.mutable_header()->set_revision(writer_->Rev());
  return resp;
}

absl::Status TxnExecutor::ApplyTxn(const etcdserverpb::TxnRequest& r,
                                   const std::vector<bool>& path, size_t* pos,
                                   etcdserverpb::TxnResponse* resp) {
  const bool ok = path[(*pos)++];
  resp->set_succeeded(ok);
  for (const auto& op : ok ? r.success() : r.failure()) {
    etcdserverpb::ResponseOp* out = resp->add_responses();
    switch (op.request_case()) {
      case RequestOp::kRequestRange: {
        auto rr = ExecuteRange(reader_, op.request_range());
        if (!rr.ok()) return rr.status();
        *out->mutable_response_range() = std::move(*rr);
        break;
      }
      case RequestOp::kRequestPut: {
        auto pr = ApplyPut(op.request_put());
        if (!pr.ok()) return pr.status();
        *out->mutable_response_put() = std::move(*pr);
        break;
      }
      case RequestOp::kRequestDeleteRange: {
        auto dr = DeleteRange(op.request_delete_range());
        if (!dr.ok()) return dr.status();
        *out->mutable_response_delete_range() = std::move(*dr);
        break;
      }
      case RequestOp::kRequestTxn: {
        etcdserverpb::TxnResponse* nested = out->mutable_response_txn();
        nested->mutable_header();
        if (auto s = ApplyTxn(op.request_txn(), path, pos, nested); !s.ok()) return s;
        break;
      }
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<etcdserverpb::TxnResponse> TxnExecutor::Txn(const etcdserverpb::TxnRequest& r) {
  std::vector<bool> path;
  ComputePath(r, &path);
  for (CheckPass pass : {CheckPass::kPuts, CheckPass::kRanges}) {
    size_t pos = 0;
    FromKeyDeletes from_key_deletes;
    if (auto s = CheckOps(r, path, &pos, pass, &from_key_deletes); !s.ok()) return s;
  }
  etcdserverpb::TxnResponse resp;
  size_t pos = 0;
  if (auto s = ApplyTxn(r, path, &pos, &resp); !s.ok()) return s;
  resp.mutable_header()->set_revision(reader_.Rev());
  return resp;
}

}  // namespace quorum::server
