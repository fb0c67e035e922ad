// Compactor: drops from the backend the kv records a compaction left behind,
// on its own thread, in bounded batches.
//
// Why: dropping 200k records inside the compaction's apply group held every
// member's apply, and so every write, for 0.6 s. etcd deletes in batches of
// 1,000 with a 10 ms pause between them for the same reason. Nothing reads
// the records meanwhile: the index no longer points at them, readers of a
// revision below the compaction get ErrCompacted, and hashes skip them (see
// FilterFor()).
//
// A job scans the kv records at or below its revision from the first one and
// deletes those its keep set lacks. A later compaction's keep set lacks every
// record an earlier one's lacks, so a newer job replaces a queued one and
// also drops whatever an earlier, unfinished one left. The job's last batch
// records the finished revision in meta. A crash before that leaves the
// scheduled revision above the finished one, and KvStore::Open schedules the
// job again.
//
// A job that fails (a backend error) is retried after kRetryPause.
//
// Thread-safety: all methods are thread-safe. Waiters run on the worker
// thread (or the caller's, when already satisfied) and must not block.
#ifndef QUORUM_MVCC_COMPACTOR_H_
#define QUORUM_MVCC_COMPACTOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mvcc/backend/backend.h"
#include "mvcc/key_index.h"
#include "mvcc/revision.h"
#include "mvcc/tree_index.h"

namespace quorum::mvcc {

struct CompactorOptions {
  size_t batch = 1000;                            // records looked at per batch (0 = 1)
  absl::Duration pause = absl::Milliseconds(10);  // between batches
  // Told when a job fails; the job is retried after kRetryPause.
  std::function<void(int64_t rev, const absl::Status&)> on_error;
  // Tests: runs before every batch, on the worker thread, with a query that
  // turns true once the job is cancelled (Pause, Stop).
  std::function<void(const std::function<bool()>& cancelled)> before_batch;
};

// Deletes every kv record at or below `rev` that `keep` lacks, `batch`
// records per backend write, then records `rev` as finished. `stop`, when
// set, is polled before every batch (a false return means it stopped early).
absl::StatusOr<bool> DropCompacted(Backend* backend, int64_t rev, const RevisionSet& keep,
                                   const CompactorOptions& opts,
                                   const std::function<bool()>& stop = {});

class Compactor {
 public:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;
  static constexpr absl::Duration kRetryPause = absl::Seconds(1);

  // Keys compacted per hold of the index lock.
  static constexpr size_t kIndexStep = 1000;

  struct Job {
    int64_t rev = 0;
    // Null until the job has compacted the index (it does that first, in
    // steps of kIndexStep keys, and the index yields the keep set).
    std::shared_ptr<const RevisionSet> keep;
  };

  // `finished`: the compaction revision whose records are all gone already.
  // `index` (not owned) is compacted by jobs scheduled without a keep set.
  Compactor(Backend* backend, TreeIndex* index, int64_t finished, CompactorOptions opts = {});
  ~Compactor();  // Stop()

  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  // Queues `job` (replacing a queued, not yet started one).
  void Schedule(Job job) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `done` once every record compaction `rev` left behind is gone
  // (OK), or when the compactor stops first (Unavailable).
  void WhenFinished(int64_t rev, Done done) ABSL_LOCKS_EXCLUDED(mu_);

  // For hashes, taken under one lock: whether the records of compaction
  // `rev` (or a newer one) can be told apart yet -- its job was handed over,
  // the Compactor is not paused, and the newest unfinished job has its keep
  // set -- and that job, if any. Records at or below its revision that its
  // keep set lacks are not state any more.
  struct Filter {
    bool ready = false;
    std::optional<Job> unfinished;
  };
  Filter FilterFor(int64_t rev) const ABSL_LOCKS_EXCLUDED(mu_);

  // Before the backend's state is replaced (a state snapshot installed):
  // drops the queued job and returns once no batch runs; nothing runs until
  // Resume(). Why: a job of the old state deleting records of the new one
  // mid-way could drop a tombstone but not the put it ends, and bring a
  // deleted key back.
  void Pause() ABSL_LOCKS_EXCLUDED(mu_);
  // Starts over on the new state: `finished` is its finished compaction,
  // `job` its unfinished one, if any.
  void Resume(int64_t finished, std::optional<Job> job) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the worker after its current batch; waiters get Unavailable. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run();
  // Compacts the index at job.rev in steps; null when cancelled.
  std::shared_ptr<const RevisionSet> CompactIndex(int64_t rev, const std::function<bool()>& cancelled);
  // Between the batches of a running drop: gives a queued job its keep set,
  // so hashes need not wait for the whole drop before the newer job starts.
  void PrepareQueued(const std::function<bool()>& cancelled);
  // Runs the waiters satisfied by finished_ (outside mu_).
  void Notify() ABSL_LOCKS_EXCLUDED(mu_);

  Backend* backend_;
  TreeIndex* index_;
  const CompactorOptions opts_;
  mutable absl::Mutex mu_;
  std::optional<Job> queued_ ABSL_GUARDED_BY(mu_);
  std::optional<Job> running_ ABSL_GUARDED_BY(mu_);
  int64_t scheduled_ ABSL_GUARDED_BY(mu_);
  int64_t finished_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by Pause: a running job stops
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<int64_t, Done>> waiters_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_COMPACTOR_H_
