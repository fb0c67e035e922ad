// KvStore: etcd's MVCC key-value store on one Backend.
//
// Writers: only the apply thread. It opens one WriteTxn per replicated
// request (one main revision per txn that changes anything), and after a
// group of requests calls Commit(), which writes every change of the group
// plus the applied raft index (consistent_index) in ONE RocksDB WriteBatch, so
// a crash either keeps the whole group or none of it and replay after restart
// is idempotent. Only then are the new revisions published to readers.
//
// Readers: any thread. They see the state as of the last Commit() (the
// published revision), never half a group.
//
// Invariants: -1 <= compact_rev <= published_rev <= current_rev; a fresh
// store is at revision 1 (etcd's convention; the first write makes 2); every revision
// <= published_rev that the index references is in the backend.
#ifndef QUORUM_MVCC_KV_STORE_H_
#define QUORUM_MVCC_KV_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mvcc/backend/backend.h"
#include "mvcc/compactor.h"
#include "mvcc/revision.h"
#include "mvcc/tree_index.h"
#include "mvccpb/kv.pb.h"

namespace quorum::mvcc {

struct RangeOptions {
  int64_t limit = 0;  // <= 0: no limit
  int64_t rev = 0;    // <= 0: the current revision
  bool count_only = false;
};

struct RangeResult {
  std::vector<mvccpb::KeyValue> kvs;
  int64_t rev = 0;    // the store revision the range was served at
  int64_t count = 0;  // matching keys, ignoring limit
};

// A range whose key-values stay in their stored form: each a serialized
// mvccpb::KeyValue, in key order.
struct SerializedRange {
  ValueList kvs;
  int64_t rev = 0;    // the store revision the range was served at
  int64_t count = 0;  // matching keys, ignoring limit
};

class WriteTxn;

// One change of a committed write txn, as watchers see it: a put carries the
// whole KeyValue, a delete only key and mod_revision.
struct Change {
  mvccpb::KeyValue kv;
  bool deleted = false;
};

// Told about every committed group, after it is published to readers (so
// watchers never see a revision a reader could not). Called on the apply
// thread; must not block.
class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  // `changes` is handed over (the store keeps no copy).
  virtual void OnCommit(std::vector<Change> changes, int64_t rev) = 0;
  // The backend's state is about to be replaced (PrepareReload), and was
  // (Reload: the store serves the new state).
  virtual void OnStateReplacing() {}
  virtual void OnStateReplaced() {}
};

class KvStore {
 public:
  // Opens the store on `backend` (not owned; must outlive the store) and
  // rebuilds the index from it, finishing an interrupted compaction.
  static absl::StatusOr<std::unique_ptr<KvStore>> Open(Backend* backend,
                                                       CompactorOptions compactor = {});
  ~KvStore();

  // --- readers, any thread -------------------------------------------------
  absl::StatusOr<RangeResult> Range(std::string_view key, std::string_view end,
                                    const RangeOptions& opts) const;
  // Range of published state at opts.rev (> 0), with the key-values left
  // serialized as stored. Why: a large range (a list of thousands of keys)
  // otherwise spends most of its time parsing values only for the response
  // to serialize them again.
  absl::StatusOr<SerializedRange> RangeSerializedAt(std::string_view key, std::string_view end,
                                                    const RangeOptions& opts) const;
  int64_t Rev() const { return published_rev_.load(std::memory_order_acquire); }
  int64_t CompactRev() const { return compact_rev_.load(std::memory_order_acquire); }
  uint64_t ConsistentIndex() const { return consistent_index_.load(); }
  uint64_t ConsistentTerm() const { return consistent_term_.load(); }
  size_t KeyCount() const { return index_.KeyCount(); }
  Backend* backend() const { return backend_; }

  // --- apply thread only ---------------------------------------------------
  std::unique_ptr<WriteTxn> Write();
  // Compacts history below `rev`: readers stop seeing it when the group
  // commits, and the Compactor then drops its records from the backend in
  // the background. ErrCompacted / ErrFutureRev like etcd.
  absl::Status Compact(int64_t rev);
  // Commits the pending group together with the applied index, then
  // publishes its revisions. `sync` fsyncs the WAL first.
  absl::Status Commit(uint64_t consistent_index, uint64_t term, bool sync);
  // crc32c over every record with main revision <= rev (0 = current), for
  // HashKV: members with the same applied history give the same hash.
  // `compact_rev` gets the compaction revision the hash is taken at.
  absl::StatusOr<uint32_t> HashKv(int64_t rev, int64_t* hashed_rev, int64_t* compact_rev) const;

  // Which kv records are state. Records a compaction left behind stay in the
  // backend until the Compactor drops them; hashes skip them, so members at
  // the same applied state agree wherever their dropping is. Any thread.
  class LiveRecords {
   public:
    bool operator()(std::string_view kv_key) const;

   private:
    friend class KvStore;
    int64_t rev_ = -1;  // records at or below it that keep_ lacks are not state
    std::shared_ptr<const RevisionSet> keep_;
  };
  // Taken at the published compaction, returned in `*compact_rev`.
  // Unavailable if the Compactor has not got that compaction's job within
  // kLiveWaitMs (a state snapshot being installed).
  absl::StatusOr<LiveRecords> Live(int64_t* compact_rev) const;
  // Runs `done` once the records compaction `rev` left behind are gone from
  // this member's backend (etcd answers a physical compaction then).
  void WhenCompacted(int64_t rev, Compactor::Done done) { compactor_->WhenFinished(rev, std::move(done)); }
  // Not owned; set once before the first write.
  void SetCommitObserver(CommitObserver* o) { observer_ = o; }
  // The WriteBatch of the pending group, for other state kept in the same
  // database (membership, leases) that must commit atomically with it.
  Batch* PendingBatch() { return &pending_; }
  // Before the backend's state column families are replaced (a state
  // snapshot is installed): stops the Compactor until Reload(). Apply thread.
  // Reads wait from here until Reload() returns: between the two, the
  // index still describes the old state while the backend holds the new one.
  void PrepareReload();
  // Rebuilds everything from the backend after its state column families
  // were replaced. Apply thread only.
  absl::Status Reload();
  // At shutdown, once nothing applies any more: ends the Compactor (its
  // waiters get Unavailable; open finishes an unfinished job).
  void StopCompactor() { compactor_->Stop(); }
  // Revision including uncommitted txns of the pending group.
  int64_t CurrentRevForApply() const { return current_rev_; }
  // Compaction revision including a Compact() of the pending group; apply
  // decisions (ErrCompacted checks in txns) must use this, not CompactRev().
  int64_t CompactRevForApply() const { return compact_rev_for_apply_; }

 private:
  friend class WriteTxn;
  explicit KvStore(Backend* backend);
  absl::Status Restore();
  // Looks up values: the pending group first (apply thread), then backend.
  absl::StatusOr<std::vector<mvccpb::KeyValue>> Fetch(const std::vector<Revision>& revs,
                                                      bool include_pending) const;
  // Yields until a commit in flight publishes a compaction past `rev`.
  void WaitForCompactionPast(int64_t rev) const;
  // With `serialized`, the key-values go there (published state only)
  // instead of into the result's kvs.
  absl::StatusOr<RangeResult> RangeAt(std::string_view key, std::string_view end,
                                      const RangeOptions& opts, int64_t cur,
                                      bool include_pending,
                                      ValueList* serialized = nullptr) const;
  // Looks up values in the backend without parsing them.
  absl::StatusOr<ValueList> FetchSerialized(const std::vector<Revision>& revs) const;

  Backend* backend_;
  TreeIndex index_;

  // Apply-thread state.
  int64_t current_rev_ = 0;
  // The compaction as the apply thread sees it: set by Compact() at once, so
  // apply results do not depend on commit grouping. Readers see compact_rev_,
  // which follows at Commit(); until then the index keeps the history below
  // it, as readers may still read the published revision.
  // compact_rev_ <= compact_rev_for_apply_.
  int64_t compact_rev_for_apply_ = -1;
  Batch pending_;
  // Serialized KeyValues (tombstones too) of the pending group by revision.
  absl::flat_hash_map<Revision, std::string, RevisionHash> pending_kvs_;
  std::vector<Change> pending_changes_;  // of the group, in revision order
  CommitObserver* observer_ = nullptr;
  // Held shared by Range and RangeSerializedAt and exclusively from
  // PrepareReload() to the end of Reload(). HashKv scans for long and so
  // does not hold it: it retries when reload_epoch_ moved.
  mutable absl::Mutex reload_mu_;
  // One HashKv pass, without regard to a state reload.
  absl::StatusOr<uint32_t> HashKvOnce(int64_t rev, int64_t* hashed_rev, int64_t* compact_rev) const;
  // Odd from PrepareReload() to the end of Reload(), while reload_mu_ is held.
  std::atomic<uint64_t> reload_epoch_{0};
  // Drops compacted records; created by Open() after Restore().
  std::unique_ptr<Compactor> compactor_;
  // What Restore() found: the finished compaction, and the job of an
  // unfinished one (handed to the Compactor, then cleared).
  int64_t restored_finished_ = -1;
  std::optional<Compactor::Job> restored_job_;
  // How long Live() waits for the Compactor to have a published compaction's job (ms).
  static constexpr int kLiveWaitMs = 10000;

  std::atomic<int64_t> published_rev_{0};
  std::atomic<int64_t> compact_rev_{-1};  // -1: never compacted
  std::atomic<uint64_t> consistent_index_{0};
  std::atomic<uint64_t> consistent_term_{0};
};

// One write transaction: every change gets the same main revision
// (current + 1) and increasing sub revisions. Reads inside see the txn's own
// changes, as etcd's storeTxnWrite does.
class WriteTxn {
 public:
  using Change = mvcc::Change;

  explicit WriteTxn(KvStore* store);
  absl::StatusOr<RangeResult> Range(std::string_view key, std::string_view end,
                                    const RangeOptions& opts) const;
  // Returns the main revision of the txn.
  int64_t Put(std::string_view key, std::string_view value, int64_t lease);
  // Deletes live keys in range; returns how many.
  int64_t DeleteRange(std::string_view key, std::string_view end);
  // Finishes the txn; the store revision moves on iff something changed.
  // Returns the changes (for watchers).
  std::vector<Change> End();

  // The revision a read would see now, and the txn's revision once ended.
  int64_t Rev() const { return begin_rev_ + (changes_.empty() ? 0 : 1); }

 private:
  KvStore* store_;
  int64_t begin_rev_;
  std::vector<Change> changes_;
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_KV_STORE_H_
