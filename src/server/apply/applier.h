// Applier: turns one committed InternalRequest into state changes on the
// KvStore and the response for the waiting client. Called by the apply loop
// only (single thread), in log order; the caller commits the store after a
// group of requests (KvStore::Commit), which is what makes them durable and
// visible. Read-only requests (Range, read-only Txn) are served from the
// published state by any thread through the same executors.
#ifndef QUORUM_SERVER_APPLY_APPLIER_H_
#define QUORUM_SERVER_APPLY_APPLIER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "etcdserverpb/rpc.pb.h"
#include "internal/internal.pb.h"
#include "mvcc/kv_store.h"
#include "mvcc/lessor.h"
#include "server/apply/txn_executor.h"

namespace quorum::server {

class Applier {
 public:
  // `lessor` (not owned, may be null in KV-only tests) receives lease grants,
  // revocations and key attachments; `leases` answers Put's lease check.
  Applier(mvcc::KvStore* store, LeaseLookup leases, mvcc::Lessor* lessor = nullptr)
      : store_(store), leases_(std::move(leases)), lessor_(lessor) {}

  // Apply thread. A non-OK status is the client's error (e.g. key not
  // found); the request then changed nothing.
  absl::StatusOr<internalpb::InternalResponse> Apply(const internalpb::InternalRequest& req);

  // Any thread: reads at the published revision.
  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& r) const;
  absl::StatusOr<etcdserverpb::TxnResponse> ReadOnlyTxn(const etcdserverpb::TxnRequest& r) const;

 private:
  absl::StatusOr<etcdserverpb::CompactionResponse> Compact(const etcdserverpb::CompactionRequest& r);
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> LeaseGrant(
      const etcdserverpb::LeaseGrantRequest& r);

  mvcc::KvStore* store_;
  LeaseLookup leases_;
  mvcc::Lessor* lessor_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_APPLIER_H_
