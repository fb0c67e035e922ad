// Lessor: etcd's lease manager. A lease is {id, ttl, attached keys}; keys put
// with `lease` are attached and are deleted when the lease is revoked.
//
// Two kinds of state with different rules:
//  - Replicated state (leases, their TTLs, key attachments) changes ONLY on the
//    apply thread, in log order, identically on every member: Grant, Revoke and
//    ApplyChanges (puts attach, deletes detach). Grant/Revoke write the lease
//    record into the store's pending batch, so it commits atomically with the
//    KV changes and consistent_index. Attachments are not persisted: they are
//    rebuilt from the kv column family on Open/Reload (every live key with
//    lease != 0).
//  - Expiry is tracked ONLY on the primary (the raft leader): Promote(extend)
//    starts it (every lease expires `extend` later than its remaining TTL so
//    none expires because of the election; expiries are spread when many would
//    fall into the same second), Demote stops it. Renew (keep-alive) works only
//    on the primary. FindExpired reports expired leases; the caller proposes a
//    LeaseRevoke for each. The lessor never deletes anything by itself.
//
// Time comes from an injected util::Clock; it never influences the replicated
// state (a follower's leases never expire; a grant's expiry is set only when
// primary).
//
// Persisted format (column family `lease`, DO NOT CHANGE):
//   key   = be64(id)
//   value = be64(id) be64(ttl seconds) be64(remaining_ttl seconds, 0 = unset)
// On recovery a lease is granted its remaining_ttl when set, else its full ttl
// (etcd's behaviour: a restart re-grants the TTL).
//
// Errors carry etcd's gRPC codes and exact texts (they pass through the
// server's ToGrpcStatus unchanged).
//
// Thread-safety: all methods are thread-safe (one internal mutex); the
// replicated-state mutators must still be called from the apply thread only,
// which is what keeps members identical.
#ifndef QUORUM_MVCC_LESSOR_H_
#define QUORUM_MVCC_LESSOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mvcc/backend/backend.h"
#include "mvcc/kv_store.h"
#include "util/clock.h"

namespace quorum::mvcc {

using LeaseId = int64_t;
inline constexpr LeaseId kNoLease = 0;
// etcd's MaxLeaseTTL (seconds).
inline constexpr int64_t kMaxLeaseTtl = 9000000000LL;

absl::Status ErrLeaseNotFound();     // NotFound "etcdserver: requested lease not found"
absl::Status ErrLeaseExists();       // FailedPrecondition "etcdserver: lease already exists"
absl::Status ErrLeaseTtlTooLarge();  // OutOfRange "etcdserver: too large lease TTL"
absl::Status ErrNotPrimary();        // Unavailable "etcdserver: not primary lessor"
bool IsNotPrimary(const absl::Status& s);
// Renew of an expired lease whose revoke is not applied yet. Not an etcd
// error and never sent to clients: the keep-alive waits (see Renew).
absl::Status ErrLeaseExpired();
bool IsLeaseExpired(const absl::Status& s);

struct LessorOptions {
  // Grants with a smaller TTL get this one (etcd: ceil(1.5 * election timeout)).
  int64_t min_ttl_s = 2;
  // How often the primary checkpoints the remaining TTL of leases longer than
  // this (etcd's --experimental-lease-checkpoint, interval 5 min); 0 = never.
  // A checkpoint is replicated, so a new leader (or a restart) resumes from
  // the remaining TTL instead of granting the full TTL again.
  util::Clock::Duration checkpoint_interval = std::chrono::minutes(5);
  // Not owned; nullptr = util::RealClock.
  util::Clock* clock = nullptr;
};

// etcd's minimum lease TTL for an election timeout and heartbeat:
// ceil(((3 * election_ticks) / 2) * heartbeat) in seconds.
int64_t MinLeaseTtlSeconds(int election_ms, int heartbeat_ms);

struct LeaseInfo {
  LeaseId id = kNoLease;
  int64_t ttl = 0;  // granted TTL, seconds
  // Time left until expiry; only known on the primary.
  std::optional<util::Clock::Duration> remaining;
  std::vector<std::string> keys;  // sorted; filled only when asked for
};

// Told when a renewal waiting on an expired lease may end (etcd's revokec /
// demotec): the lease was revoked, or every lease may have changed (demoted,
// reloaded). Called on the apply / raft thread, after the change, with no
// lessor lock held; must not block.
class RevokeObserver {
 public:
  virtual ~RevokeObserver() = default;
  virtual void LeaseRevoked(LeaseId id) = 0;
  virtual void AllLeasesChanged() = 0;
};

class Lessor {
 public:
  // Loads leases and (from the kv column family) attachments from `backend`
  // (not owned; must outlive the lessor). Call before the store takes writes.
  static absl::StatusOr<std::unique_ptr<Lessor>> Open(Backend* backend, LessorOptions opts);

  // --- apply thread: replicated state -------------------------------------
  // Grants lease `id` (> 0, chosen by the proposer) and returns the granted
  // TTL (raised to the minimum). ErrLeaseExists, ErrLeaseTtlTooLarge.
  absl::StatusOr<int64_t> Grant(LeaseId id, int64_t ttl, Batch* batch);
  // Removes the lease and its record. The caller deletes the attached keys
  // (Keys()) in the same apply step. ErrLeaseNotFound.
  absl::Status Revoke(LeaseId id, Batch* batch);
  // Attaches/detaches keys after a committed write txn: a put moves its key to
  // kv.lease (detaching it from its previous lease), a delete detaches it.
  void ApplyChanges(const std::vector<Change>& changes);
  // Records a leader's checkpoint: the lease's remaining TTL (seconds, 0 =
  // unset), persisted. Unknown ids are ignored (revoked meanwhile).
  void Checkpoint(LeaseId id, int64_t remaining_ttl, Batch* batch);
  // Rebuilds every in-memory structure from the backend (after a state
  // snapshot replaced its column families). Keeps the primary role; expiries restart.
  absl::Status Reload();

  // --- any thread: reads ----------------------------------------------------
  bool Lookup(LeaseId id) const;
  std::optional<LeaseInfo> Get(LeaseId id, bool with_keys) const;
  // Attached keys of `id` (sorted), ErrLeaseNotFound.
  absl::StatusOr<std::vector<std::string>> Keys(LeaseId id) const;
  std::vector<LeaseId> Leases() const;  // by expiry (primary), then id
  size_t LeaseCount() const;

  // --- primary (leader) only ------------------------------------------------
  // Becomes primary: every lease expires at now + extend + remaining TTL.
  void Promote(util::Clock::Duration extend);
  // Stops tracking expiry (leases live until a primary revokes them).
  void Demote();
  bool IsPrimary() const;
  // Keep-alive: restarts the lease's full TTL and returns it. A lease with a
  // persisted checkpoint gets it cleared by the next CollectCheckpoints
  // (etcd: Renew proposes Remaining_TTL 0), so a new leader does not resume
  // from the stale remaining TTL.
  // ErrLeaseNotFound (unknown), ErrNotPrimary, ErrLeaseExpired (expired, not
  // yet revoked: etcd's Renew then waits until the revoke is applied, and
  // answers not found, or until the lessor is demoted; the caller renews
  // again until one of them holds).
  absl::StatusOr<int64_t> Renew(LeaseId id);
  // Up to `limit` expired leases whose revocation should be proposed. A lease
  // is reported again only after kExpiredRetry (its revoke may be lost).
  std::vector<LeaseId> FindExpired(size_t limit);
  // Up to `limit` (id, remaining seconds) checkpoints due now, for the caller
  // to propose as one LeaseCheckpoint request: the periodic ones (leases
  // longer than the interval, every interval) and, with remaining 0, the
  // clears that Renew asked for.
  std::vector<std::pair<LeaseId, int64_t>> CollectCheckpoints(size_t limit);
  // Sets (null: clears) the observer of revokes, demotion and reloads.
  // Clearing waits for a notification in progress, so the observer may be
  // destroyed afterwards.
  void SetRevokeObserver(RevokeObserver* observer);

  static constexpr util::Clock::Duration kExpiredRetry = std::chrono::seconds(3);
  // Promote spreads expiries so that at most this many fall in one second
  // (etcd: 3/4 of leaseRevokeRate = 1000/s).
  static constexpr int kTargetExpiresPerSecond = 750;

 private:
  struct Lease {
    int64_t ttl = 0;
    int64_t remaining_ttl = 0;  // persisted checkpoint; 0 = unset
    util::Clock::TimePoint expiry = util::Clock::TimePoint::max();  // max = not tracked
    util::Clock::TimePoint revoke_requested = util::Clock::TimePoint::min();
    util::Clock::TimePoint next_checkpoint = util::Clock::TimePoint::max();
    // Primary: renewed since remaining_ttl was persisted; the next
    // CollectCheckpoints proposes remaining 0 (unset) for it.
    bool clear_checkpoint = false;
    absl::flat_hash_set<std::string> keys;
  };

  Lessor(Backend* backend, LessorOptions opts);
  absl::Status LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AttachLocked(LeaseId id, const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DetachLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static std::string EncodeKey(LeaseId id);
  static std::string EncodeValue(LeaseId id, const Lease& l);
  bool CheckpointingEnabled() const;
  // Primary: when `l` should next be checkpointed (max = never).
  util::Clock::TimePoint NextCheckpoint(const Lease& l, util::Clock::TimePoint now) const;

  Backend* backend_;
  LessorOptions opts_;
  util::Clock* clock_;

  // Leaf lock: nothing is called while holding it.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<LeaseId, Lease> leases_ ABSL_GUARDED_BY(mu_);
  // key -> lease it is attached to (etcd's itemMap); every entry's lease
  // exists and lists the key.
  absl::flat_hash_map<std::string, LeaseId> items_ ABSL_GUARDED_BY(mu_);
  bool primary_ ABSL_GUARDED_BY(mu_) = false;
  // Held while notifying (never together with mu_), so clearing the
  // observer waits for a notification in progress.
  absl::Mutex observer_mu_;
  RevokeObserver* observer_ ABSL_GUARDED_BY(observer_mu_) = nullptr;
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_LESSOR_H_
