// WatchableStore: etcd's watchable store — watchers over keys and ranges fed
// with the changes of committed write groups.
//
//   synced watchers:   up to date; fed directly by OnCommit (apply thread),
//                      looked up by key (map) or scanned (ranges).
//   unsynced watchers: behind (historical start revision, or their sink was
//                      full); a background thread replays their history
//                      from the backend in bounded batches (kMaxRevsPerPass
//                      revisions) and moves them to synced once caught up.
//
// Events reach sinks as shared EventGroups (one per commit or replay scan)
// plus, per watcher, the indexes of the changes it wants: no per-watcher
// copies. Each sink gets one call per group with all of its watchers.
// A sink that cannot take events (refuses a delivery) never blocks apply:
// its watcher simply becomes unsynced and is replayed later. Each watcher
// sees events in revision order, without gaps or duplicates: `next_rev` is
// the first revision it has not been given. A watcher whose next_rev falls
// below the compaction revision is told so and removed. When the store's
// state is replaced (snapshot install), the first group after it reveals
// the revision jump and every synced watcher is replayed from the new state.
//
// Thread-safety: all methods are thread-safe. Lock order: mu_ -> sink locks
// (sinks are called with mu_ held and must not call back into the store).
#ifndef QUORUM_MVCC_WATCHABLE_STORE_H_
#define QUORUM_MVCC_WATCHABLE_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "mvcc/event_group.h"
#include "mvcc/kv_store.h"

namespace quorum::mvcc {

using WatchId = int64_t;

// Events of one watcher from one group (events.group->rev() is the store
// revision they were read at).
struct Delivery {
  WatchId id = 0;
  EventRef events;
  // A synced watcher's events of one commit (as opposed to a catch-up
  // batch read from storage): etcd answers those once per revision.
  bool live = false;
  bool accepted = false;  // set by the sink
};

class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Deliveries of one group for watchers of this sink, each in revision
  // order. The sink sets `accepted` on those it takes; leaving it false
  // means "full right now" (the watcher is replayed later). Called with the
  // store's lock held: must not block or call back into the store.
  virtual void Deliver(absl::Span<Delivery> deliveries) = 0;
  // The watcher's next revision was compacted away; it has been removed.
  virtual void Compacted(WatchId id, int64_t compact_rev) = 0;
  // Whether the sink can take events now (replay waits otherwise).
  virtual bool Ready() = 0;
  // Progress at `rev`: every event of a revision <= rev that the watcher
  // (or, for kProgressAll, every watcher asked about) wants has been
  // delivered. Called with the store's lock held, so no delivery can come
  // between the check and this call.
  virtual void Progress(WatchId id, int64_t rev) = 0;
  // A watcher of this sink caught up through replay (store's lock held).
  virtual void Synced(WatchId id) {}
};

// Progress(kProgressAll, rev): stream-wide progress (ProgressAll).
inline constexpr WatchId kProgressAll = 0;

struct WatchOptions {
  std::string key;
  std::string end;         // "" = the key only, "\0" = every key >= key
  int64_t start_rev = 0;   // 0 = from the next revision
  bool no_put = false;
  bool no_delete = false;
};

class WatchableStore final : public CommitObserver {
 public:
  static constexpr int64_t kMaxRevsPerPass = 1000;
  static constexpr int kMaxWatchersPerPass = 512;

  // Registers itself as `store`'s commit observer and starts the replay thread.
  explicit WatchableStore(KvStore* store);
  ~WatchableStore() override;

  // Ids are allocated first so a sink can record one before any event for
  // it can arrive; then Watch(id, ...) starts the watcher.
  WatchId NewWatchId() { return next_id_.fetch_add(1); }
  void Watch(WatchId id, const WatchOptions& opts, WatchSink* sink);
  // After Cancel returns, the sink is never called for `id` again.
  void Cancel(WatchId id);
  bool IsSynced(WatchId id) const;
  size_t WatcherCount() const;

  void OnCommit(std::vector<Change> changes, int64_t rev) override;
  // The backend's state is about to be replaced (snapshot install): replay
  // stops reading until OnStateReplaced, and a pass that read the state
  // meanwhile is discarded.
  void OnStateReplacing() override;
  // The store's state was replaced (snapshot installed): every synced
  // watcher is replayed from the new state right away (etcd's Restore).
  void OnStateReplaced() override;

  // Progress for each of `ids` (watchers of `sink`) that is synced:
  // sink->Progress(id, rev) with the last revision handed to watchers.
  // Unsynced ones are skipped (etcd's RequestProgress).
  void ProgressEach(WatchSink* sink, absl::Span<const WatchId> ids);
  // Stream-wide progress: only when every one of `ids` still watching is
  // synced, one sink->Progress(kProgressAll, rev) and true; otherwise false
  // and the caller asks again once a watcher syncs (WatchSink::Synced), as
  // etcd 3.5's RequestProgressAll defers it.
  bool ProgressAll(WatchSink* sink, absl::Span<const WatchId> ids);

 private:
  struct Watcher {
    WatchId id;
    std::string key, end;
    int64_t next_rev;
    bool no_put, no_delete;
    WatchSink* sink;
    bool synced;
    // Scratch while one group is matched: indexes of the changes it wants.
    absl::InlinedVector<uint32_t, 2> pending;
  };
  bool Matches(const Watcher& w, const std::string& key) const;
  bool Wanted(const Watcher& w, const Change& c) const;
  void AddSyncedLocked(Watcher* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveSyncedLocked(Watcher* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands every watcher in `ws` its `pending` events of `group`, one sink
  // call per sink, then calls on_result(watcher, accepted) for each. Empties
  // `ws` and every watcher's `pending`. `live`: see Delivery::live.
  template <typename OnResult>
  void DeliverLocked(const std::shared_ptr<const EventGroup>& group, bool live,
                     std::vector<Watcher*>* ws, OnResult on_result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReplayLoop();
  enum class Pass {
    kIdle,     // nothing unsynced
    kBlocked,  // unsynced watchers, but none could take events (or reads failed)
    kMore,     // work was done and more remains: go on at once
  };
  Pass ReplayOnce();

  KvStore* store_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<WatchId, std::unique_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<Watcher*>> synced_keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Watcher*> synced_ranges_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Watcher*> unsynced_ ABSL_GUARDED_BY(mu_);
  // Scratch reused across groups (no allocation per commit once warm).
  std::vector<Watcher*> touched_ ABSL_GUARDED_BY(mu_);
  std::vector<Delivery> deliveries_ ABSL_GUARDED_BY(mu_);
  // The last revision OnCommit was told about; a group starting beyond
  // notified_rev_ + 1 reveals a state reload (see OnCommit).
  int64_t notified_rev_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped by OnStateReplacing/OnStateReplaced: a replay pass whose reads
  // straddle a state replacement is dropped.
  uint64_t state_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  bool replacing_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<WatchId> next_id_{1};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_WATCHABLE_STORE_H_
