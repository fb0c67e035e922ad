// Wait: how long a blocking recipe call (Mutex::Lock, Election::Campaign,
// LeaderObserver::Next) may block -- the C++ stand-in for Go's context.
//
// A call gives up with DeadlineExceeded "context deadline exceeded" once
// `deadline` passes, or with Cancelled "context canceled" once `cancelled`
// returns true (polled every kPollInterval, so it must be cheap and
// thread-safe), using the messages Go's context errors print.
#ifndef QUORUM_CLIENT_CONCURRENCY_WAIT_H_
#define QUORUM_CLIENT_CONCURRENCY_WAIT_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace quorum::client::concurrency {

struct Wait {
  static constexpr absl::Duration kPollInterval = absl::Milliseconds(100);

  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;

  static Wait For(absl::Duration d) { return Wait{absl::Now() + d, {}}; }

  // OK while the caller may keep waiting.
  absl::Status Check() const {
    if (cancelled && cancelled()) return absl::CancelledError("context canceled");
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("context deadline exceeded");
    return absl::OkStatus();
  }
  // How long the next blocking step may take.
  absl::Duration Slice() const {
    absl::Duration left = deadline - absl::Now();
    if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
    return left < kPollInterval ? left : kPollInterval;
  }
};

}  // namespace quorum::client::concurrency

#endif  // QUORUM_CLIENT_CONCURRENCY_WAIT_H_
