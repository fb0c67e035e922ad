#include "mvcc/compactor.h"

#include <algorithm>
#include <string>

#include "mvcc/meta_keys.h"
#include "util/coding.h"

namespace quorum::mvcc {

absl::StatusOr<bool> DropCompacted(Backend* backend, int64_t rev, const RevisionSet& keep,
                                   const CompactorOptions& opts,
                                   const std::function<bool()>& stop) {
  const size_t batch = std::max<size_t>(1, opts.batch);
  const std::string end = EncodeRevKey(Revision{rev + 1, 0});
  std::string next;  // first key not looked at yet
  for (;;) {
    if (opts.before_batch) opts.before_batch(stop ? stop : [] { return false; });
    if (stop && stop()) return false;
    Batch b = backend->NewBatch();
    size_t seen = 0;
    std::string last;
    auto s = backend->Scan(Cf::kKv, next, end, [&](std::string_view k, std::string_view) {
      auto d = DecodeRevKey(k);
      if (d && !keep.contains(d->rev)) b.Delete(Cf::kKv, k);
      last.assign(k);
      return ++seen < batch;
    });
    if (!s.ok()) return s;
    const bool done = seen < batch;
    if (done) b.Put(Cf::kMeta, meta::kFinishedCompactRev, util::EncodeFixed64BE(rev));
    // Not synced: a crash loses at most records the job drops again at open.
    if (!b.Empty()) {
      if (auto st = backend->Commit(std::move(b), /*sync=*/false); !st.ok()) return st;
    }
    if (done) return true;
    next = last;
    next.push_back('\0');  // the smallest key after `last`
    if (opts.pause > absl::ZeroDuration()) absl::SleepFor(opts.pause);
  }
}

Compactor::Compactor(Backend* backend, TreeIndex* index, int64_t finished, CompactorOptions opts)
    : backend_(backend),
      index_(index),
      opts_(std::move(opts)),
      scheduled_(finished),
      finished_(finished) {
  thread_ = std::thread([this] { Run(); });
}

Compactor::~Compactor() { Stop(); }

void Compactor::Schedule(Job job) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || job.rev <= scheduled_) return;
  scheduled_ = job.rev;
  queued_ = std::move(job);
}

void Compactor::WhenFinished(int64_t rev, Done done) {
  bool stopped = false;
  {
    absl::MutexLock lock(&mu_);
    stopped = stopping_;
    if (!stopped && finished_ < rev) {
      waiters_.emplace_back(rev, std::move(done));
      return;
    }
  }
  std::move(done)(stopped ? absl::UnavailableError("etcdserver: server stopped") : absl::OkStatus());
}

Compactor::Filter Compactor::FilterFor(int64_t rev) const {
  absl::MutexLock lock(&mu_);
  Filter f;
  f.unfinished = queued_ ? queued_ : running_;
  f.ready = !paused_ && scheduled_ >= rev && !(f.unfinished && f.unfinished->keep == nullptr);
  return f;
}

void Compactor::Pause() {
  absl::MutexLock lock(&mu_);
  ++epoch_;
  paused_ = true;
  queued_.reset();
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !running_.has_value(); };
  mu_.Await(absl::Condition(&idle));
}

void Compactor::Resume(int64_t finished, std::optional<Job> job) {
  {
    absl::MutexLock lock(&mu_);
    paused_ = false;
    finished_ = finished;
    scheduled_ = finished;
    queued_.reset();
    if (job && job->rev > finished) {
      scheduled_ = job->rev;
      queued_ = std::move(job);
    }
  }
  Notify();
}

void Compactor::Stop() {
  std::vector<std::pair<int64_t, Done>> waiters;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    ++epoch_;
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&mu_);
    waiters.swap(waiters_);
  }
  for (auto& [rev, done] : waiters) std::move(done)(absl::UnavailableError("etcdserver: server stopped"));
}

void Compactor::Notify() {
  std::vector<Done> ready;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->first <= finished_) {
        ready.push_back(std::move(it->second));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : ready) std::move(done)(absl::OkStatus());
}

std::shared_ptr<const RevisionSet> Compactor::CompactIndex(int64_t rev,
                                                           const std::function<bool()>& cancelled) {
  auto keep = std::make_shared<RevisionSet>();
  std::string from;
  for (;;) {
    if (cancelled()) return nullptr;
    if (index_->CompactSome(rev, &from, kIndexStep, keep.get())) return keep;
    std::this_thread::yield();  // let the apply thread and readers at the index
  }
}

void Compactor::PrepareQueued(const std::function<bool()>& cancelled) {
  int64_t rev = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!queued_ || queued_->keep != nullptr) return;
    rev = queued_->rev;
  }
  // The newer compaction's index walk; the running drop's keep set stays
  // valid (what it lacks, the newer one lacks too).
  auto keep = CompactIndex(rev, cancelled);
  absl::MutexLock lock(&mu_);
  if (keep != nullptr && queued_ && queued_->rev == rev) queued_->keep = std::move(keep);
}

void Compactor::Run() {
  for (;;) {
    Job job;
    uint64_t epoch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (!paused_ && queued_.has_value());
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      job = std::move(*queued_);
      queued_.reset();
      running_ = job;
      epoch = epoch_;
    }
    auto cancelled = [this, epoch] {
      absl::MutexLock lock(&mu_);
      return epoch_ != epoch;
    };
    // Polled between batches (and by the tests' gate): also prepares a
    // queued job.
    std::function<bool()> between = [this, &cancelled] {
      PrepareQueued(cancelled);
      return cancelled();
    };
    absl::StatusOr<bool> r = false;
    if (job.keep == nullptr) {
      job.keep = CompactIndex(job.rev, cancelled);
      absl::MutexLock lock(&mu_);
      if (running_) running_->keep = job.keep;
    }
    if (job.keep != nullptr) r = DropCompacted(backend_, job.rev, *job.keep, opts_, between);
    if (!r.ok() && opts_.on_error) opts_.on_error(job.rev, r.status());
    {
      absl::MutexLock lock(&mu_);
      running_.reset();
      // Stopped mid-way: the job stays unfinished, so hashes still skip
      // its records until the process ends (open resumes it).
      if (stopping_ && !(r.ok() && *r) && !queued_) queued_ = job;
      if (epoch_ == epoch) {
        if (r.ok() && *r) {
          finished_ = std::max(finished_, job.rev);
        } else if (!r.ok()) {
          // Retried (unless a newer job replaced it) after a pause that
          // Stop and Pause cut short.
          if (!queued_) queued_ = std::move(job);
          auto woken = [this, epoch]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return epoch_ != epoch;
          };
          mu_.AwaitWithTimeout(absl::Condition(&woken), kRetryPause);
        }
      }
    }
    Notify();
  }
}

}  // namespace quorum::mvcc
