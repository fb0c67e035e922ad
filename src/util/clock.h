// Clock: the monotonic time source for code that must not read the wall
// clock directly (the lessor's expiry tracking), so tests can drive time.
// RealClock reads std::chrono::steady_clock; ManualClock only moves when a
// test advances it. Thread-safety: Now() may be called from any thread.
#ifndef QUORUM_UTIL_CLOCK_H_
#define QUORUM_UTIL_CLOCK_H_

#include <atomic>
#include <chrono>

namespace quorum::util {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance (stateless, so sharing it is harmless).
  static Clock* Get() {
    static RealClock clock;
    return &clock;
  }
};

// Starts at an arbitrary fixed point; Advance() moves it forward.
class ManualClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  void Advance(Duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<Duration::rep> now_{std::chrono::duration_cast<Duration>(std::chrono::hours(1)).count()};
};

}  // namespace quorum::util

#endif  // QUORUM_UTIL_CLOCK_H_
