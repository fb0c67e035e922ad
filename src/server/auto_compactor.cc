#include "server/auto_compactor.h"

#include <spdlog/spdlog.h>

#include "absl/time/time.h"
#include "mvcc/errors.h"
#include "server/auto_compaction_policy.h"
#include "server/duration.h"

namespace quorum::server {

AutoCompactor::AutoCompactor(AutoCompactorOptions opts, RevFn rev, CompactFn compact)
    : opts_(std::move(opts)), rev_(std::move(rev)), compact_(std::move(compact)) {}

AutoCompactor::~AutoCompactor() { Stop(); }

void AutoCompactor::Start() {
  thread_ = std::thread([this] {
    if (opts_.mode == "revision") {
      RunRevision();
    } else {
      RunPeriodic();
    }
  });
}

void AutoCompactor::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

bool AutoCompactor::CompactTo(int64_t rev, const std::string& retention) {
  spdlog::info("compactor: Starting auto-compaction at revision {} (retention: {})", rev,
               retention);
  const absl::Status st = compact_(rev, stop_);
  if (st.ok() || mvcc::IsCompacted(st)) {
    spdlog::info("compactor: Finished auto-compaction at revision {}", rev);
    return true;
  }
  spdlog::warn("compactor: Failed auto-compaction at revision {} ({})", rev,
               std::string(st.message()));
  return false;
}

void AutoCompactor::RunPeriodic() {
  const auto period = std::chrono::nanoseconds(opts_.retention);
  const std::string retention = FormatGoDuration(period);
  PeriodicCompaction policy(std::chrono::duration_cast<util::Clock::Duration>(period),
                            util::RealClock::Get()->Now());
  const absl::Duration retry = absl::FromChrono(policy.RetryInterval());
  policy.Record(rev_());
  while (!stop_.WaitForNotificationWithTimeout(retry)) {
    if (!paused_.load()) {
      if (auto rev = policy.Due(util::RealClock::Get()->Now())) {
        const bool ok = CompactTo(*rev, retention);
        if (!ok)
          spdlog::warn("compactor: Retry after {}", FormatGoDuration(policy.RetryInterval()));
        policy.Done(ok, util::RealClock::Get()->Now());
      }
    }
    policy.Record(rev_());
  }
}

void AutoCompactor::RunRevision() {
  RevisionCompaction policy(opts_.retention);
  const auto interval =
      opts_.revision_interval_for_testing.count() > 0
          ? opts_.revision_interval_for_testing
          : std::chrono::duration_cast<std::chrono::milliseconds>(RevisionCompaction::kInterval);
  const std::string retention = std::to_string(opts_.retention) + " revisions";
  while (!stop_.WaitForNotificationWithTimeout(absl::FromChrono(interval))) {
    if (paused_.load()) continue;
    if (auto rev = policy.Due(rev_())) policy.Done(CompactTo(*rev, retention), *rev);
  }
}

}  // namespace quorum::server
