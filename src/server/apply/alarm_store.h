// AlarmStore: the cluster's active alarms (etcd's v3alarm.AlarmStore). It
// changes only when an Alarm request is applied (apply thread, log order),
// so every member holds the same list; each change is written into the apply
// group's batch and so survives restarts and travels in state snapshots.
// Persisted in the `meta` column family (docs/formats.md):
//   "alarm/" member_id:be64 type:be32  ->  ""  (one key per active alarm)
// Thread-safety: Activate/Deactivate/Load on the apply thread; Get and Has
// from any thread.
#ifndef QUORUM_SERVER_APPLY_ALARM_STORE_H_
#define QUORUM_SERVER_APPLY_ALARM_STORE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/backend/backend.h"

namespace quorum::server {

class AlarmStore {
 public:
  explicit AlarmStore(mvcc::Backend* backend) : backend_(backend) {}

  // (Re)reads the alarms from the backend: at startup and after a state
  // snapshot replaced the column families.
  absl::Status Load();

  // Returns the alarm as now recorded: the existing one when it was active
  // already (etcd answers it too), nullopt for AlarmType NONE.
  std::optional<etcdserverpb::AlarmMember> Activate(uint64_t member_id,
                                                    etcdserverpb::AlarmType type,
                                                    mvcc::Batch* batch);
  // Returns the alarm removed, nullopt when it was not active.
  std::optional<etcdserverpb::AlarmMember> Deactivate(uint64_t member_id,
                                                      etcdserverpb::AlarmType type,
                                                      mvcc::Batch* batch);

  // Active alarms of `type` (NONE: all), ordered by type then member id.
  std::vector<etcdserverpb::AlarmMember> Get(etcdserverpb::AlarmType type) const;
  // True when any member has an alarm of `type` active (lock-free).
  bool Has(etcdserverpb::AlarmType type) const;

 private:
  void PublishFlagsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mvcc::Backend* backend_;
  mutable absl::Mutex mu_;
  std::set<std::pair<int, uint64_t>> active_ ABSL_GUARDED_BY(mu_);  // (type, member id)
  std::atomic<bool> nospace_{false}, corrupt_{false};
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_ALARM_STORE_H_
