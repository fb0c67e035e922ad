// WatchLoadMeter: whether the watch service delivers events fast enough for
// busy streams to coalesce (wait, so that several revisions share one
// response; see watch_stream.h).
//
// Why a rate of events across the service: a stream with many watchers on
// one key gets one response per watcher for every put, so one put makes a
// large turn. Judging by turn size alone made such a stream wait a whole
// window after every put even at 200 puts/s (event p50 12.6 ms against
// etcd's 2.5 ms with 100 watchers on one stream). Per-response costs matter
// when the server as a whole delivers many events, and the event count (not
// the response count) is what merging leaves unchanged. Per stream, the
// rate does not work: without coalescing a saturated fan-out slows to a rate
// that looks light per stream, and stays there.
//
// Events are counted in windows. The meter turns busy as soon as a window
// reaches `enter` events and stays busy while each window that ends had at
// least `leave` (hysteresis). A whole window without events ends busyness.
//
// Not thread-safe: the owner locks.
#ifndef QUORUM_SERVER_API_WATCH_LOAD_METER_H_
#define QUORUM_SERVER_API_WATCH_LOAD_METER_H_

#include <chrono>
#include <cstddef>

namespace quorum::server {

class WatchLoadMeter {
 public:
  using Clock = std::chrono::steady_clock;

  WatchLoadMeter(Clock::duration window, size_t enter, size_t leave)
      : window_(window), enter_(enter), leave_(leave) {}

  // `events` more events were queued at `now` (times never go backwards).
  void Count(size_t events, Clock::time_point now) {
    if (now >= window_start_ + window_) {
      const bool gap = now >= window_start_ + 2 * window_;
      busy_ = busy_ && !gap && count_ >= leave_;
      window_start_ = now;
      count_ = 0;
    }
    count_ += events;
    if (count_ >= enter_) busy_ = true;
  }

  bool busy() const { return busy_; }

 private:
  const Clock::duration window_;
  const size_t enter_;
  const size_t leave_;
  Clock::time_point window_start_{};
  size_t count_ = 0;
  bool busy_ = false;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_WATCH_LOAD_METER_H_
