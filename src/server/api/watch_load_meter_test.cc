#include "server/api/watch_load_meter.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

using std::chrono::milliseconds;
using Clock = WatchLoadMeter::Clock;

constexpr milliseconds kWindow{20};

// `per_put` events every `every` from `start` for `n` puts; returns the time
// after the last one.
Clock::time_point Puts(WatchLoadMeter& m, Clock::time_point start, milliseconds every, int n,
                       size_t per_put, bool* ever_busy) {
  Clock::time_point t = start;
  for (int i = 0; i < n; ++i) {
    m.Count(per_put, t);
    if (m.busy()) *ever_busy = true;
    t += every;
  }
  return t;
}

// The watch service's marks: busy from 2,000 events per 20 ms window
// (100k/s), idle again below 500.
constexpr size_t kEnter = 2000;
constexpr size_t kLeave = 500;

TEST(WatchLoadMeterTest, ManyWatchersAtAModestPutRateAreNotBusy) {
  // 100 watchers on one key, 200 puts/s: 400 events a window, every put a
  // 100-response turn. Its events must never wait for a window.
  WatchLoadMeter m(kWindow, kEnter, kLeave);
  bool busy = false;
  Puts(m, Clock::time_point{} + std::chrono::hours(1), milliseconds(5), 400, 100, &busy);
  EXPECT_FALSE(busy);
}

TEST(WatchLoadMeterTest, SustainedFanOutIsBusyWithinOneWindow) {
  // 1,000 watchers on one key, 1,000 puts/s: 20,000 events a window.
  WatchLoadMeter m(kWindow, kEnter, kLeave);
  Clock::time_point t = Clock::time_point{} + std::chrono::hours(1);
  m.Count(1000, t);
  EXPECT_FALSE(m.busy()) << "after 1,000 events";
  m.Count(999, t + milliseconds(1));
  EXPECT_FALSE(m.busy()) << "after 1,999 events";
  t += milliseconds(2);
  m.Count(1, t);
  EXPECT_TRUE(m.busy()) << "2,000 events within one window";
  bool busy_all_along = true;
  for (int i = 0; i < 2000; ++i, t += milliseconds(1)) {
    m.Count(1000, t);
    busy_all_along = busy_all_along && m.busy();
  }
  EXPECT_TRUE(busy_all_along);
}

TEST(WatchLoadMeterTest, StaysBusyAboveTheLowerMarkAndLeavesBelowIt) {
  WatchLoadMeter m(kWindow, kEnter, kLeave);
  Clock::time_point t = Clock::time_point{} + std::chrono::hours(1);
  m.Count(kEnter, t);
  ASSERT_TRUE(m.busy());
  // 600 events a window (between the marks): still busy. A coalescing stream
  // sends fewer responses, but the same events, so this is what it sees.
  for (int w = 0; w < 10; ++w) {
    for (int i = 0; i < 3; ++i) m.Count(200, t + milliseconds(20 * (w + 1) + i));
    EXPECT_TRUE(m.busy()) << "window " << w;
  }
  t += milliseconds(20 * 11);
  // 400 events in the next window: the window after it starts idle.
  m.Count(200, t);
  m.Count(200, t + milliseconds(1));
  EXPECT_TRUE(m.busy()) << "decided when the window ends";
  m.Count(1, t + milliseconds(21));
  EXPECT_FALSE(m.busy());
}

TEST(WatchLoadMeterTest, AQuietWholeWindowEndsBusyness) {
  WatchLoadMeter m(kWindow, kEnter, kLeave);
  Clock::time_point t = Clock::time_point{} + std::chrono::hours(1);
  m.Count(5000, t);
  ASSERT_TRUE(m.busy());
  m.Count(1, t + milliseconds(45));  // more than a whole window with nothing
  EXPECT_FALSE(m.busy());
}

}  // namespace
}  // namespace quorum::server
