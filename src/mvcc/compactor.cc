#include "mvcc/compactor.h"

#include <string>

#include "mvcc/meta_keys.h"
#include "util/coding.h"

namespace quorum::mvcc {

absl::StatusOr<bool> DropCompacted(Backend* backend, int64_t rev, const RevisionSet& keep,
                                   size_t batch, absl::Duration pause,
                                   const std::function<bool()>& stop) {
  const std::string end = EncodeRevKey(Revision{rev + 1, 0});
  std::string next;  // first key not looked at yet
  for (;;) {
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
    // Not synced: a crash loses at most records a rerun at open drops again.
    if (!b.Empty()) {
      if (auto st = backend->Commit(std::move(b), /*sync=*/false); !st.ok()) return st;
    }
    if (done) return true;
    next = last;
    next.push_back('\0');  // the smallest key after `last`
    if (pause > absl::ZeroDuration()) absl::SleepFor(pause);
    if (stop && stop()) return false;
  }
}

Compactor::Compactor(Backend* backend, int64_t finished, CompactorOptions opts)
    : backend_(backend), opts_(opts), scheduled_(finished), finished_(finished) {
  thread_ = std::thread([this] { Run(); });
}

Compactor::~Compactor() { Stop(); }

void Compactor::Schedule(int64_t rev, std::shared_ptr<const RevisionSet> keep) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || rev <= scheduled_) return;
  scheduled_ = rev;
  queued_ = Job{rev, std::move(keep)};
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

std::optional<Compactor::Job> Compactor::Unfinished() const {
  absl::MutexLock lock(&mu_);
  if (queued_) return queued_;
  return running_;
}

int64_t Compactor::Scheduled() const {
  absl::MutexLock lock(&mu_);
  return scheduled_;
}

int64_t Compactor::Finished() const {
  absl::MutexLock lock(&mu_);
  return finished_;
}

void Compactor::Reset(int64_t finished) {
  {
    absl::MutexLock lock(&mu_);
    ++epoch_;
    queued_.reset();
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !running_.has_value(); };
    mu_.Await(absl::Condition(&idle));
    scheduled_ = finished;
    finished_ = finished;
  }
  Notify();
}

void Compactor::Stop() {
  std::vector<std::pair<int64_t, Done>> waiters;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    waiters.swap(waiters_);
  }
  if (thread_.joinable()) thread_.join();
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

void Compactor::Run() {
  for (;;) {
    Job job;
    uint64_t epoch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || queued_.has_value();
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
      return stopping_ || epoch_ != epoch;
    };
    absl::StatusOr<bool> r =
        DropCompacted(backend_, job.rev, *job.keep, opts_.batch, opts_.pause, cancelled);
    // On failure the records stay until the next compaction (or open) drops them.
    if (!r.ok() && opts_.on_error) opts_.on_error(job.rev, r.status());
    {
      absl::MutexLock lock(&mu_);
      running_.reset();
      if (r.ok() && *r && epoch_ == epoch && job.rev > finished_) finished_ = job.rev;
    }
    Notify();
  }
}

}  // namespace quorum::mvcc
