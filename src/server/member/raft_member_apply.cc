// RaftMember's apply pipeline: the apply thread, its queue, and the state
// snapshots it writes (see raft_member.h for the division of work).
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/time/time.h"
#include "server/member/raft_member.h"
#include "server/member/state_snapshot.h"
#include "server/transport/snapshot_file_writer.h"
#include "util/member_id.h"
#include "util/release_memory.h"

namespace quorum::server {
namespace {

// Bounds the memory of committed-but-unapplied entries: the raft thread
// waits (it has nothing better to do) when the apply thread falls this far
// behind.
constexpr size_t kMaxQueuedEntries = 16384;
// Nice value of the thread writing a snapshot's state file.
constexpr int kSnapshotNice = 10;
// How often parked reads are checked for their deadline while idle.
constexpr absl::Duration kParkedReadCheck = absl::Milliseconds(100);

int64_t MillisSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

void RaftMember::StartApply() {
  apply_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "raft-apply");
    ApplyLoop();
  });
}

void RaftMember::StopApply() {
  if (!apply_thread_.joinable()) return;
  {
    absl::MutexLock lock(&apply_mu_);
    apply_stop_ = true;
  }
  apply_thread_.join();
}

void RaftMember::QueueApply(ApplyJob job) {
  absl::MutexLock lock(&apply_mu_);
  if (!apply_thread_.joinable()) {
    // Not started (tests that drive the member without Start): nothing to
    // hand over to; keep the reads for FailEverything.
    apply_queue_.push_back(std::move(job));
    return;
  }
  // Entries wait for room; reads alone never do (an inline runner may
  // queue them: it must not wait on the apply thread).
  if (!job.ents.empty()) {
    apply_mu_.Await(absl::Condition(
        +[](RaftMember* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->apply_mu_) {
          return m->apply_queued_entries_ < kMaxQueuedEntries;
        },
        this));
  }
  apply_queued_entries_ += job.ents.size();
  apply_queue_.push_back(std::move(job));
}

bool RaftMember::ApplyIdle() {
  absl::MutexLock lock(&apply_mu_);
  return apply_thread_.joinable() && apply_queue_.empty() && !apply_busy_;
}

bool RaftMember::ApplyQueueNearlyFull(const raft::Ready& rd) {
  absl::MutexLock lock(&apply_mu_);
  return apply_queued_entries_ + rd.committed_entries.size() >= kMaxQueuedEntries;
}

void RaftMember::DrainApply() {
  absl::MutexLock lock(&apply_mu_);
  if (!apply_thread_.joinable()) return;
  apply_mu_.Await(absl::Condition(
      +[](RaftMember* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->apply_mu_) {
        return m->apply_stop_ || (m->apply_queue_.empty() && !m->apply_busy_);
      },
      this));
}

void RaftMember::ApplyLoop() {
  std::vector<ApplyJob> jobs;
  raft::EntryVec ents;
  for (;;) {
    bool only_expire = false;
    {
      absl::MutexLock lock(&apply_mu_);
      apply_busy_ = false;
      const absl::Condition work(
          +[](RaftMember* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->apply_mu_) {
            return m->apply_stop_ || !m->apply_queue_.empty();
          },
          this);
      // Parked reads must time out even when nothing more is applied.
      if (reads_ready_.empty()) {
        apply_mu_.Await(work);
      } else {
        apply_mu_.AwaitWithTimeout(work, kParkedReadCheck);
      }
      if (apply_stop_) return;
      // Woken by the timeout alone: the raft thread, seeing this thread
      // idle, may be applying inline (or installing a snapshot) right now,
      // so stay idle and touch nothing but the parked reads.
      only_expire = apply_queue_.empty();
      if (!only_expire) {
        jobs.swap(apply_queue_);
        apply_queued_entries_ = 0;
        apply_busy_ = true;
      }
    }
    if (only_expire) {
      ServeReadyReads();
      continue;
    }
    // Everything queued meanwhile is applied as one group commit.
    if (jobs.size() == 1) {
      ents.swap(jobs[0].ents);
    } else {
      for (auto& job : jobs) {
        for (auto& e : job.ents) ents.push_back(std::move(e));
      }
    }
    ApplyEntries(ents);
    ents.clear();
    for (auto& job : jobs) {
      for (auto& r : job.reads) reads_ready_.push_back(std::move(r));
    }
    jobs.clear();
    ServeReadyReads();
    MaybeSnapshot();
  }
}

void RaftMember::ServeReadyReads() {
  if (reads_ready_.empty()) return;
  const auto now = Clock::now();
  uint64_t applied;
  do {
    applied = applied_.load();
    ReadyReads keep;
    for (auto& [index, reads] : reads_ready_) {
      if (index <= applied) {
        ServeReads(std::move(reads));
        continue;
      }
      // Not applied yet: those past their deadline get etcd's timeout.
      ExpireReads(&reads, now);
      if (!reads.empty()) keep.emplace_back(index, std::move(reads));
    }
    reads_ready_.swap(keep);
    reads_parked_ = reads_ready_.size();
    // An apply on the loop's thread that raced this saw no parked reads and
    // did not wake us: look at applied_ again after publishing the count.
  } while (!reads_ready_.empty() && applied_.load() != applied);
}

void RaftMember::ServeReads(std::vector<PendingRead> reads) {
  // One task per ReadIndex round, not per read: fewer wake-ups.
  read_pool_.Schedule([reads = std::move(reads)]() mutable {
    for (auto& r : reads) std::move(r.fn)(absl::OkStatus());
  });
}

bool RaftMember::SnapshotDue(uint64_t applied) const {
  return opts_.snapshot_count != 0 && applied >= snapshot_index_.load() + opts_.snapshot_count;
}

void RaftMember::MaybeSnapshot() {
  const uint64_t applied = applied_.load();
  if (!SnapshotDue(applied)) return;
  if (snapshot_pending_.load()) return;
  if (applied != store_->ConsistentIndex()) return;  // only at a committed group boundary
  // The state file must not claim more than the durable database holds.
  if (auto st = backend_->SyncWal(); !st.ok()) {
    spdlog::error("snapshot skipped: {}", std::string(st.message()));
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(opts_.snapshot_dir, ec);
  const std::string path =
      (std::filesystem::path(opts_.snapshot_dir) /
       transport::SnapshotFileWriter::FinalName(Term(), applied))
          .string();
  // The view is the state at `applied` (taken here, at a committed group
  // boundary); writing the file (a scan of every key and its history, zstd,
  // fsync: about a second with 100k keys) happens on its own thread, so
  // apply, and every write waiting on it, goes on meanwhile.
  // conf_state_ changes only while this thread is idle, so it is the one at
  // `applied`. The raft log itself belongs to the raft thread.
  mvcc::Backend::ReadView view = backend_->TakeReadView();
  snapshot_pending_ = true;
  JoinSnapshotWriter();  // the previous one is done (pending was clear) or exiting
  snapshot_writer_ = std::thread([this, applied, cs = conf_state_, path,
                                  view = std::move(view)]() mutable {
    pthread_setname_np(pthread_self(), "snapshot");
    // Background work: on a busy machine it yields the CPU to the threads
    // serving requests (a snapshot just takes longer).
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kSnapshotNice);
    if (opts_.before_snapshot_write) opts_.before_snapshot_write();
    const auto start = std::chrono::steady_clock::now();
    const absl::Status st = WriteStateSnapshot(*backend_, path, SnapshotEncoding::kZstd, view);
    const int64_t write_ms = MillisSince(start);
    view.reset();  // unpin RocksDB's old versions now
    if (!st.ok()) {
      spdlog::error("snapshot failed: {}", std::string(st.message()));
      snapshot_pending_ = false;
      return;
    }
    EnqueueForRaftThread([this, applied, cs = std::move(cs), path, write_ms](bool stopped) mutable {
      if (!stopped) RegisterSnapshot(applied, std::move(cs), std::move(path), write_ms);
      snapshot_pending_ = false;
      // Applies made while the file was written skipped their snapshot
      // check. If one is due and writes have stopped, nothing would check
      // again: wake the apply thread with an empty job to take it.
      if (!stopped && SnapshotDue(applied_.load())) QueueApply({});
    });
  });
}

void RaftMember::JoinSnapshotWriter() {
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
}

void RaftMember::RegisterSnapshot(uint64_t index, raft::ConfState cs, std::string path,
                                  int64_t write_ms) {
  if (index <= snapshot_index_.load()) return;  // a received snapshot overtook it
  const auto start = std::chrono::steady_clock::now();
  if (auto st = storage_->CreateSnapshot(index, cs, path); !st.ok()) {
    spdlog::error("snapshot failed: {}", std::string(st.message()));
    return;
  }
  const uint64_t previous = snapshot_index_.load();
  snapshot_index_ = index;
  if (index > opts_.snapshot_catchup_entries) {
    const uint64_t compact_to = index - opts_.snapshot_catchup_entries;
    if (compact_to >= storage_->FirstIndex()) storage_->Compact(compact_to).IgnoreError();
  }
  // Compacting the in-memory log just freed entries; without a trim glibc
  // keeps those pages resident. malloc_trim walks the whole heap (it can take
  // milliseconds), so it runs on the read pool, not on this raft loop.
  const int64_t log_ms = MillisSince(start);
  read_pool_.Schedule([this, index, previous, write_ms, log_ms] {
    const auto trim_start = std::chrono::steady_clock::now();
    const int64_t released = util::ReleaseFreeMemory();
    const int64_t trim_ms = MillisSince(trim_start);
    const auto mem = backend_->GetMemoryUsage();
    spdlog::info(
        "member {} snapshot at index {} (previous {}; file {} ms, log compaction {} ms, trim {} "
        "ms); released {} KiB, RSS {} KiB, memtables {} KiB, block cache {} KiB",
        util::IdToHex(opts_.id), index, previous, write_ms, log_ms, trim_ms, -released / 1024,
        util::ResidentBytes() / 1024, mem.memtable_bytes / 1024, mem.block_cache_bytes / 1024);
  });
  // Keep the two newest snapshot files (one may be streaming to a peer).
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (auto& f : std::filesystem::directory_iterator(opts_.snapshot_dir, ec)) {
    if (f.path().extension() == ".snap") files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + 2 < files.size(); ++i) std::filesystem::remove(files[i], ec);
  PruneReceivedSnapshots(index);
}

void RaftMember::PruneReceivedSnapshots(uint64_t upto) {
  auto current = storage_->GetSnapshot();
  const auto keep = std::filesystem::path(current.ok() ? current->data() : "").filename();
  std::error_code ec;
  const auto dir = std::filesystem::path(opts_.snapshot_dir) / "recv";
  for (auto& f : std::filesystem::directory_iterator(dir, ec)) {
    const auto index = transport::SnapshotFileWriter::IndexOfName(f.path().filename().string());
    if (!index || *index > upto || f.path().filename() == keep) continue;
    std::error_code rm;
    std::filesystem::remove(f.path(), rm);
  }
}

}  // namespace quorum::server
