#include "server/apply/backend_quota.h"

#include <algorithm>

namespace quorum::server {
namespace {

constexpr int64_t kKvOverhead = 256;    // etcd's per-put estimate of index + bbolt overhead
constexpr int64_t kLeaseOverhead = 64;  // etcd's per-lease estimate

const std::vector<mvcc::Cf> kQuotaCfs = {mvcc::Cf::kKv, mvcc::Cf::kMeta, mvcc::Cf::kLease,
                                         mvcc::Cf::kAuth, mvcc::Cf::kMembers};

int64_t BranchCost(const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops) {
  int64_t c = 0;
  for (const auto& op : ops) {
    if (op.has_request_put()) c += QuotaCost(op.request_put());
  }
  return c;
}

}  // namespace

int64_t QuotaCost(const etcdserverpb::PutRequest& r) {
  return kKvOverhead + static_cast<int64_t>(r.key().size() + r.value().size());
}

int64_t QuotaCost(const etcdserverpb::TxnRequest& r) {
  return std::max(BranchCost(r.success()), BranchCost(r.failure()));
}

int64_t QuotaCost(const etcdserverpb::LeaseGrantRequest&) { return kLeaseOverhead; }

BackendQuota::BackendQuota(const mvcc::Backend* backend, int64_t quota_bytes)
    : backend_(backend), limit_(quota_bytes == 0 ? kDefaultQuotaBytes : quota_bytes) {}

int64_t BackendQuota::Size() const {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t at = sampled_at_ns_.load(std::memory_order_acquire);
  // One caller refreshes (the one that claims the new sample time); the
  // others keep using the previous size meanwhile.
  if ((at == 0 || now - at > std::chrono::nanoseconds(kSizeRefresh).count()) &&
      sampled_at_ns_.compare_exchange_strong(at, now, std::memory_order_acq_rel)) {
    size_.store(backend_->ColumnFamilyBytes(kQuotaCfs), std::memory_order_release);
    if (at == 0) return size_.load(std::memory_order_acquire);
  }
  return size_.load(std::memory_order_acquire);
}

bool BackendQuota::Available(int64_t cost) const {
  if (!enabled()) return true;
  return Size() + cost < limit_;
}

int64_t BackendQuota::CostOf(const internalpb::InternalRequest& r) {
  switch (r.op_case()) {
    case internalpb::InternalRequest::kPut:
      return QuotaCost(r.put());
    case internalpb::InternalRequest::kTxn:
      return QuotaCost(r.txn());
    case internalpb::InternalRequest::kLeaseGrant:
      return QuotaCost(r.lease_grant());
    default:
      return -1;
  }
}

}  // namespace quorum::server
