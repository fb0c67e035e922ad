// ThreadPool: a fixed set of worker threads running queued closures in FIFO
// order. Used to take work (e.g. serving linearizable reads once their
// ReadIndex is applied) off latency-critical threads such as the raft loop.
// Thread-safe; the destructor runs every queued task, then joins.
#ifndef QUORUM_UTIL_THREAD_POOL_H_
#define QUORUM_UTIL_THREAD_POOL_H_

#include <pthread.h>

#include <deque>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace quorum::util {

class ThreadPool {
 public:
  // `name` (at most 15 characters) names the threads, for top and perf.
  explicit ThreadPool(int threads, const char* name = "pool") {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this, name] {
        pthread_setname_np(pthread_self(), name);
        Work();
      });
    }
  }
  ~ThreadPool() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (auto& t : workers_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(absl::AnyInvocable<void() &&> fn) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(fn));
  }

 private:
  void Work() {
    for (;;) {
      absl::AnyInvocable<void() &&> fn;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](ThreadPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
              return p->stopping_ || !p->queue_.empty();
            },
            this));
        if (queue_.empty()) return;  // stopping and drained
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      std::move(fn)();
    }
  }

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace quorum::util

#endif  // QUORUM_UTIL_THREAD_POOL_H_
