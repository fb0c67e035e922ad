// LiveSet: the objects (calls, streams) a service has started and must end
// before it goes away. Each one removes itself when it is done (its last use
// of the service); CloseAndWait() refuses new ones, cancels the live ones and
// waits, bounded, for them to be removed.
//
// Why a set of weak references: the objects own themselves (gRPC reactors
// and contexts live until their last callback), so the service must not
// keep them alive, only reach the ones still running.
//
// Thread-safety: all methods are thread-safe; `cancel` runs outside the lock
// (a cancelled object may remove itself on the same thread).
#ifndef QUORUM_UTIL_LIVE_SET_H_
#define QUORUM_UTIL_LIVE_SET_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quorum::util {

template <typename T>
class LiveSet {
 public:
  // False once closed (the caller must not start the object).
  bool Add(const std::shared_ptr<T>& p) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    live_[p.get()] = p;
    return true;
  }
  void Remove(T* p) {
    absl::MutexLock lock(&mu_);
    live_.erase(p);
  }
  // The objects still alive, held while the caller uses them.
  std::vector<std::shared_ptr<T>> Live() {
    std::vector<std::shared_ptr<T>> out;
    absl::MutexLock lock(&mu_);
    for (auto& [raw, weak] : live_) {
      if (auto p = weak.lock()) out.push_back(std::move(p));
    }
    return out;
  }
  void CloseAndWait(const std::function<void(T&)>& cancel, absl::Duration timeout) {
    std::vector<std::shared_ptr<T>> live;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    live = Live();
    for (auto& p : live) cancel(*p);
    live.clear();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(+[](Map* m) { return m->empty(); }, &live_), timeout);
  }

 private:
  using Map = absl::flat_hash_map<T*, std::weak_ptr<T>>;
  absl::Mutex mu_;
  Map live_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace quorum::util

#endif  // QUORUM_UTIL_LIVE_SET_H_
