// Applier: turns one committed InternalRequest into state changes on the
// KvStore and the response for the waiting client. Called by the apply loop
// only (single thread), in log order; the caller commits the store after a
// group of requests (KvStore::Commit), which is what makes them durable and
// visible. Read-only requests (Range, read-only Txn) are served from the
// published state by any thread through the same executors.
#ifndef QUORUM_SERVER_APPLY_APPLIER_H_
#define QUORUM_SERVER_APPLY_APPLIER_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "etcdserverpb/rpc.pb.h"
#include "internal/internal.pb.h"
#include "mvcc/kv_store.h"
#include "mvcc/lessor.h"
#include "server/apply/alarm_store.h"
#include "server/apply/backend_quota.h"
#include "server/apply/range_executor.h"
#include "server/apply/txn_executor.h"

namespace quorum::server {

class Applier {
 public:
  // `lessor` (not owned, may be null in KV-only tests) receives lease grants,
  // revocations and key attachments; `leases` answers Put's lease check.
  Applier(mvcc::KvStore* store, LeaseLookup leases, mvcc::Lessor* lessor = nullptr)
      : store_(store), leases_(std::move(leases)), lessor_(lessor) {}

  // Alarms and the space quota (applier_alarms.cc); unset in KV-only tests.
  // While CORRUPT is active writes fail with ErrCorrupt, while NOSPACE is
  // active puts / txns with puts / lease grants fail with ErrNoSpace (etcd's
  // corrupt and capped appliers). A Put, Txn or LeaseGrant applied while the
  // backend is over the quota still applies but answers ErrNoSpace, and
  // `on_no_space` (apply thread, must not block) is asked to raise the alarm.
  void SetAlarms(AlarmStore* alarms, const BackendQuota* quota, std::function<void()> on_no_space) {
    alarms_ = alarms;
    quota_ = quota;
    on_no_space_ = std::move(on_no_space);
  }

  // Apply thread. A non-OK status is the client's error (e.g. key not
  // found); the request then changed nothing (except over the quota, above).
  absl::StatusOr<internalpb::InternalResponse> Apply(const internalpb::InternalRequest& req);

  // Any thread: reads at the published revision.
  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& r) const;
  // Range for requests CanServeSerialized accepts, key-values left serialized.
  absl::StatusOr<SerializedRangeResult> RangeSerialized(const etcdserverpb::RangeRequest& r) const;
  absl::StatusOr<etcdserverpb::TxnResponse> ReadOnlyTxn(const etcdserverpb::TxnRequest& r) const;

 private:
  // The request itself, without the alarm gates and the quota (applier.cc).
  absl::StatusOr<internalpb::InternalResponse> ApplyOp(const internalpb::InternalRequest& req);
  absl::StatusOr<etcdserverpb::AlarmResponse> ApplyAlarm(const etcdserverpb::AlarmRequest& r);
  absl::StatusOr<etcdserverpb::CompactionResponse> Compact(const etcdserverpb::CompactionRequest& r);
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> LeaseGrant(
      const etcdserverpb::LeaseGrantRequest& r);

  mvcc::KvStore* store_;
  LeaseLookup leases_;
  mvcc::Lessor* lessor_;
  AlarmStore* alarms_ = nullptr;
  const BackendQuota* quota_ = nullptr;
  std::function<void()> on_no_space_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_APPLIER_H_
