#include "server/request_validation.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "server/errors.h"

namespace quorum::server {
namespace {

using etcdserverpb::RequestOp;

absl::Status CheckTxnFields(const etcdserverpb::TxnRequest& r, int max_txn_ops);

absl::Status CheckRequestOp(const RequestOp& op, int max_txn_ops) {
  switch (op.request_case()) {
    case RequestOp::kRequestRange:
      return CheckRangeRequest(op.request_range());
    case RequestOp::kRequestPut:
      return CheckPutRequest(op.request_put());
    case RequestOp::kRequestDeleteRange:
      return CheckDeleteRequest(op.request_delete_range());
    case RequestOp::kRequestTxn:
      return CheckTxnFields(op.request_txn(), max_txn_ops);
    default:
      return ErrKeyNotFound();  // an empty op, as etcd answers it
  }
}

// A half-open key interval; end "" = the single key. As in etcd's check,
// end "\0" (delete from the key on) is taken literally: it holds no key, so
// such a delete conflicts with no put.
struct Interval {
  std::string begin, end;
  bool Contains(const std::string& k) const {
    if (end.empty()) return k == begin;
    return k >= begin && k < end;
  }
};

struct PutsAndDeletes {
  absl::flat_hash_set<std::string> puts;
  std::vector<Interval> dels;
  bool Deletes(const std::string& k) const {
    return std::any_of(dels.begin(), dels.end(), [&](const Interval& i) { return i.Contains(k); });
  }
};

// etcd's checkIntervals: a key may be put once per execution path, and not
// both put and deleted; then/else branches of a nested txn exclude each other.
absl::Status CheckIntervals(const google::protobuf::RepeatedPtrField<RequestOp>& reqs,
                            PutsAndDeletes* out) {
  for (const auto& op : reqs) {
    if (op.has_request_delete_range()) {
      const auto& d = op.request_delete_range();
      out->dels.push_back(Interval{d.key(), d.range_end()});
    }
  }
  for (const auto& op : reqs) {
    if (!op.has_request_txn()) continue;
    PutsAndDeletes then_side, else_side;
    if (auto s = CheckIntervals(op.request_txn().success(), &then_side); !s.ok()) return s;
    if (auto s = CheckIntervals(op.request_txn().failure(), &else_side); !s.ok()) return s;
    for (const auto& k : then_side.puts) {
      if (out->puts.contains(k) || out->Deletes(k)) return ErrDuplicateKey();
      out->puts.insert(k);
    }
    for (const auto& k : else_side.puts) {
      if (out->puts.contains(k) && !then_side.puts.contains(k)) return ErrDuplicateKey();
      if (out->Deletes(k)) return ErrDuplicateKey();
      out->puts.insert(k);
    }
    out->dels.insert(out->dels.end(), then_side.dels.begin(), then_side.dels.end());
    out->dels.insert(out->dels.end(), else_side.dels.begin(), else_side.dels.end());
  }
  for (const auto& op : reqs) {
    if (!op.has_request_put()) continue;
    const std::string& k = op.request_put().key();
    if (out->puts.contains(k) || out->Deletes(k)) return ErrDuplicateKey();
    out->puts.insert(k);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRangeRequest(const etcdserverpb::RangeRequest& r) {
  if (r.key().empty()) return ErrEmptyKey();
  if (!etcdserverpb::RangeRequest::SortOrder_IsValid(r.sort_order()) ||
      !etcdserverpb::RangeRequest::SortTarget_IsValid(r.sort_target())) {
    return ErrInvalidSortOption();
  }
  return absl::OkStatus();
}

absl::Status CheckPutRequest(const etcdserverpb::PutRequest& r) {
  if (r.key().empty()) return ErrEmptyKey();
  if (r.ignore_value() && !r.value().empty()) return ErrValueProvided();
  if (r.ignore_lease() && r.lease() != 0) return ErrLeaseProvided();
  return absl::OkStatus();
}

absl::Status CheckDeleteRequest(const etcdserverpb::DeleteRangeRequest& r) {
  if (r.key().empty()) return ErrEmptyKey();
  return absl::OkStatus();
}

namespace {

// Every field of the txn and of its nested txns; the duplicate-key check
// runs once over the whole request after these, as in etcd.
absl::Status CheckTxnFields(const etcdserverpb::TxnRequest& r, int max_txn_ops) {
  const int opc = std::max({r.compare_size(), r.success_size(), r.failure_size()});
  if (opc > max_txn_ops) return ErrTooManyOps();
  for (const auto& c : r.compare()) {
    if (c.key().empty()) return ErrEmptyKey();
  }
  for (const auto& op : r.success()) {
    if (auto s = CheckRequestOp(op, max_txn_ops - opc); !s.ok()) return s;
  }
  for (const auto& op : r.failure()) {
    if (auto s = CheckRequestOp(op, max_txn_ops - opc); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTxnRequest(const etcdserverpb::TxnRequest& r, int max_txn_ops) {
  if (auto s = CheckTxnFields(r, max_txn_ops); !s.ok()) return s;
  PutsAndDeletes success, failure;
  if (auto s = CheckIntervals(r.success(), &success); !s.ok()) return s;
  return CheckIntervals(r.failure(), &failure);
}

// As etcd's isTxnReadonly / isTxnSerializable: only top-level ranges count;
// a nested txn, even one of ranges only, makes the txn a write (through
// raft, under the alarms and the request size limit).
bool IsTxnReadOnly(const etcdserverpb::TxnRequest& r) {
  auto ranges_only = [](const auto& ops) {
    return std::all_of(ops.begin(), ops.end(),
                       [](const RequestOp& op) { return op.has_request_range(); });
  };
  return ranges_only(r.success()) && ranges_only(r.failure());
}

bool IsTxnSerializable(const etcdserverpb::TxnRequest& r) {
  auto serializable = [](const auto& ops) {
    return std::all_of(ops.begin(), ops.end(), [](const RequestOp& op) {
      return op.has_request_range() && op.request_range().serializable();
    });
  };
  return serializable(r.success()) && serializable(r.failure());
}

}  // namespace quorum::server
