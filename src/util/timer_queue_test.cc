#include "util/timer_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "absl/synchronization/notification.h"

namespace quorum::util {
namespace {

using std::chrono::milliseconds;

TEST(TimerQueue, RunsInDeadlineOrderNotInScheduleOrder) {
  TimerQueue q;
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  const auto t0 = TimerQueue::Clock::now();
  q.ScheduleAt(t0 + milliseconds(60), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(3);
    done.Notify();
  });
  // A new earliest task: wakes the thread, asleep until the 60 ms one.
  q.ScheduleAt(t0 + milliseconds(20), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  // Not the earliest (no wake-up): still runs between the other two.
  q.ScheduleAt(t0 + milliseconds(40), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_GE(TimerQueue::Clock::now() - t0, milliseconds(60));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueue, EarlierTaskIsNotHeldBehindALaterOne) {
  TimerQueue q;
  absl::Notification early;
  q.ScheduleAfter(std::chrono::hours(1), [] {});
  const auto t0 = TimerQueue::Clock::now();
  q.ScheduleAfter(milliseconds(10), [&] { early.Notify(); });
  ASSERT_TRUE(early.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_LT(TimerQueue::Clock::now() - t0, std::chrono::seconds(2));
}

// Owners answer their callers from tasks: destruction runs what is pending
// (early) instead of dropping it.
TEST(TimerQueue, DestructorRunsPendingTasksAtOnce) {
  std::atomic<int> ran{0};
  const auto t0 = TimerQueue::Clock::now();
  {
    TimerQueue q;
    for (int i = 0; i < 10; ++i) {
      q.ScheduleAfter(std::chrono::hours(1), [&] {
        ++ran;
        // Scheduled while draining: runs too.
        if (ran == 1) q.ScheduleAfter(std::chrono::hours(1), [&] { ++ran; });
      });
    }
    EXPECT_EQ(q.PendingForTesting(), 10u);
  }
  EXPECT_EQ(ran.load(), 11);
  EXPECT_LT(TimerQueue::Clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace quorum::util
