// When etcd 3.4's auto-compactor compacts, and to which revision, as pure
// state machines (no thread, no clock of their own) so tests drive them
// step by step; AutoCompactor (auto_compactor.h) runs them.
//
// Periodic (--auto-compaction-mode periodic, retention a duration P): every
// P/10 (P capped at 1h for this) the current revision is recorded; once P
// has passed since the start (later: since the last success, at most 1h)
// the member compacts to the oldest revision recorded, the one of about P
// ago, keeping a sliding window of P/10 samples.
// Revision (--auto-compaction-mode revision, retention N): every 5 minutes
// it compacts to current - N, unless that is <= 0 or what it did last.
#ifndef QUORUM_SERVER_AUTO_COMPACTION_POLICY_H_
#define QUORUM_SERVER_AUTO_COMPACTION_POLICY_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "util/clock.h"

namespace quorum::server {

// etcd's parseCompactionRetention: a non-negative integer is hours
// (periodic) or a revision count (revision); anything else a Go duration
// (whose nanoseconds are the count in revision mode, as in etcd). Errors:
// "error parsing CompactionRetention: time: invalid duration \"x\"".
// Returns nanoseconds (periodic) or revisions (revision); 0 = off.
absl::StatusOr<int64_t> ParseCompactionRetention(const std::string& mode,
                                                 const std::string& retention);

class PeriodicCompaction {
 public:
  using Duration = util::Clock::Duration;
  using TimePoint = util::Clock::TimePoint;
  PeriodicCompaction(Duration period, TimePoint start);

  // How often the runner calls Record then Due: min(period, 1h) / 10.
  Duration RetryInterval() const;
  // Samples the current revision (etcd's loop does so on every pass).
  void Record(int64_t rev);
  // After a RetryInterval wait while leading: the revision to compact now.
  std::optional<int64_t> Due(TimePoint now);
  // The outcome of the compaction Due asked for (compacted already = ok).
  void Done(bool ok, TimePoint now);

 private:
  Duration period_;
  Duration base_interval_;  // period_ until the first compaction, then min(period_, 1h)
  TimePoint last_success_;
  size_t retentions_;  // samples kept: period / retry interval + 1
  std::deque<int64_t> revs_;
};

class RevisionCompaction {
 public:
  static constexpr std::chrono::minutes kInterval{5};  // etcd's revInterval
  explicit RevisionCompaction(int64_t retention) : retention_(retention) {}
  std::optional<int64_t> Due(int64_t current_rev) const;
  void Done(bool ok, int64_t rev) {
    if (ok) prev_ = rev;
  }

 private:
  int64_t retention_;
  int64_t prev_ = 0;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_AUTO_COMPACTION_POLICY_H_
