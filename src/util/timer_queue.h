// TimerQueue: runs closures at (or soon after) a deadline, in deadline order
// (FIFO among equal deadlines), on one internal thread. For re-arming
// retries without parking a pool thread in sleep_for: the lease service's
// keep-alive and time-to-live retries while there is no leader.
//
// Tasks run on the timer thread and must not block: a slow task delays every
// later one. Thread-safe. The destructor runs every task still pending at
// once (early), including tasks those schedule, so an owner that answers its
// callers from tasks answers all of them; then it joins the thread. Owners
// must not schedule after destruction has begun (guard the queue as
// LeaseService does its pool).
#ifndef QUORUM_UTIL_TIMER_QUEUE_H_
#define QUORUM_UTIL_TIMER_QUEUE_H_

#include <pthread.h>

#include <chrono>
#include <map>
#include <thread>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quorum::util {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = absl::AnyInvocable<void() &&>;

  // `name` (at most 15 characters) names the thread, for top and perf.
  explicit TimerQueue(const char* name = "timer")
      : thread_([this, name] {
          pthread_setname_np(pthread_self(), name);
          Run();
        }) {}
  ~TimerQueue() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      wake_.Signal();
    }
    thread_.join();
  }
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  void ScheduleAt(Clock::time_point when, Task fn) {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.emplace(when, std::move(fn));
    // Only a new earliest deadline changes how long the thread sleeps.
    if (it == tasks_.begin()) wake_.Signal();
  }
  void ScheduleAfter(Clock::duration delay, Task fn) {
    ScheduleAt(Clock::now() + delay, std::move(fn));
  }

  size_t PendingForTesting() const {
    absl::MutexLock lock(&mu_);
    return tasks_.size();
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    for (;;) {
      if (tasks_.empty()) {
        if (stopping_) return;
        wake_.Wait(&mu_);
        continue;
      }
      auto first = tasks_.begin();
      const auto now = Clock::now();
      if (!stopping_ && first->first > now) {
        wake_.WaitWithTimeout(&mu_, absl::FromChrono(first->first - now));
        continue;
      }
      Task fn = std::move(first->second);
      tasks_.erase(first);
      mu_.Unlock();
      std::move(fn)();
      mu_.Lock();
    }
  }

  mutable absl::Mutex mu_;
  absl::CondVar wake_;  // signalled on a new earliest task and on stop
  std::multimap<Clock::time_point, Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace quorum::util

#endif  // QUORUM_UTIL_TIMER_QUEUE_H_
