#include "server/auto_compaction_policy.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "server/duration.h"

namespace quorum::server {

absl::StatusOr<int64_t> ParseCompactionRetention(const std::string& mode,
                                                 const std::string& retention) {
  // Go's strconv.Atoi: an optional sign, then decimal digits only.
  int64_t n = 0;
  std::string_view digits = retention;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, n);
  if (!digits.empty() && ec == std::errc() && ptr == end && n >= 0) {
    if (mode == "revision") return n;
    if (mode != "periodic") return 0;  // etcd: a number needs a mode to mean anything
    if (n > INT64_MAX / 3600'000'000'000LL) {
      return absl::InvalidArgumentError("error parsing CompactionRetention: value out of range");
    }
    return n * 3600'000'000'000LL;  // hours
  }
  auto d = ParseGoDuration(retention);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("error parsing CompactionRetention: ", d.status().message()));
  }
  // A duration without a mode: etcd's compactor refuses to start.
  if (mode.empty() && d->count() != 0) {
    return absl::InvalidArgumentError("unsupported compaction mode ");
  }
  return d->count();
}

namespace {
constexpr std::chrono::hours kMaxInterval{1};
}  // namespace

PeriodicCompaction::PeriodicCompaction(Duration period, TimePoint start)
    : period_(period), base_interval_(period), last_success_(start) {
  retentions_ = static_cast<size_t>(period_ / RetryInterval()) + 1;
}

PeriodicCompaction::Duration PeriodicCompaction::RetryInterval() const {
  // etcd divides by this and panics for a period under 10 ns, and proposes a
  // compaction in a tight loop for one under a second; at least 100 ms here.
  return std::max<Duration>(std::min<Duration>(period_, kMaxInterval) / 10,
                            std::chrono::milliseconds(100));
}

void PeriodicCompaction::Record(int64_t rev) {
  revs_.push_back(rev);
  // revs_.front() is then always the revision of about one period ago.
  while (revs_.size() > retentions_) revs_.pop_front();
}

std::optional<int64_t> PeriodicCompaction::Due(TimePoint now) {
  if (revs_.empty() || now - last_success_ < base_interval_) return std::nullopt;
  // The first compaction waits a whole period; later ones at most an hour.
  if (base_interval_ == period_) base_interval_ = std::min<Duration>(period_, kMaxInterval);
  return revs_.front();
}

void PeriodicCompaction::Done(bool ok, TimePoint now) {
  if (ok) last_success_ = now;
}

std::optional<int64_t> RevisionCompaction::Due(int64_t current_rev) const {
  const int64_t rev = current_rev - retention_;
  if (rev <= 0 || rev == prev_) return std::nullopt;
  return rev;
}

}  // namespace quorum::server
