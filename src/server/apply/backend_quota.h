// BackendQuota: etcd's space quota (--quota-backend-bytes). A Put, Txn or
// LeaseGrant is "available" when the backend's size plus the request's cost
// stays below the quota; when it is not, the member raises the NOSPACE alarm
// (see api/quota_gate.h and Applier). Cost is etcd's: 256 bytes of overhead
// + key + value per put (a txn costs its more expensive branch; nested txns
// cost nothing), 64 bytes per lease.
// Size counts the replicated state's column families (SST files + memtables),
// not the raft log: etcd counts its bbolt file, not its WAL. It is sampled at
// most every kSizeRefresh (by one caller at a time) so the check stays cheap
// on the write path; the quota is a soft limit, as etcd's is.
// Thread-safety: all methods, any thread.
#ifndef QUORUM_SERVER_APPLY_BACKEND_QUOTA_H_
#define QUORUM_SERVER_APPLY_BACKEND_QUOTA_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "etcdserverpb/rpc.pb.h"
#include "internal/internal.pb.h"
#include "mvcc/backend/backend.h"

namespace quorum::server {

inline constexpr int64_t kDefaultQuotaBytes = int64_t{2} << 30;  // etcd's DefaultQuotaBytes
inline constexpr int64_t kMaxQuotaBytes = int64_t{8} << 30;      // above it etcd warns

int64_t QuotaCost(const etcdserverpb::PutRequest& r);
int64_t QuotaCost(const etcdserverpb::TxnRequest& r);
int64_t QuotaCost(const etcdserverpb::LeaseGrantRequest& r);

class BackendQuota {
 public:
  // `quota_bytes` as the flag: 0 means the 2 GiB default, < 0 disables it.
  BackendQuota(const mvcc::Backend* backend, int64_t quota_bytes);

  bool enabled() const { return limit_ > 0; }
  int64_t limit() const { return limit_; }
  // True when `cost` more bytes fit: size + cost < quota.
  bool Available(int64_t cost) const;
  // The requests the quota applies to (Put, Txn, LeaseGrant) and their cost;
  // nullopt-like -1 for any other request.
  static int64_t CostOf(const internalpb::InternalRequest& r);
  // The sampled size (refreshed when older than kSizeRefresh).
  int64_t Size() const;

  static constexpr std::chrono::milliseconds kSizeRefresh{50};

 private:
  const mvcc::Backend* backend_;
  int64_t limit_;
  mutable std::atomic<int64_t> size_{0};
  mutable std::atomic<int64_t> sampled_at_ns_{0};
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_BACKEND_QUOTA_H_
