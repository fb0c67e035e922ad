// PeerFaults: a test-only switchboard that cuts raft traffic between members
// (network partitions in in-process cluster tests). A member consults it for
// every message it sends or receives; production configs leave it null.
// Thread-safe.
#ifndef QUORUM_SERVER_MEMBER_PEER_FAULTS_H_
#define QUORUM_SERVER_MEMBER_PEER_FAULTS_H_

#include <cstdint>
#include <set>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace quorum::server {

class PeerFaults {
 public:
  // Drops traffic in both directions between a and b.
  void Cut(uint64_t a, uint64_t b) {
    absl::MutexLock lock(&mu_);
    cut_.insert({std::min(a, b), std::max(a, b)});
  }
  // Cuts `id` off from every member in `others`.
  template <typename Ids>
  void Isolate(uint64_t id, const Ids& others) {
    for (uint64_t o : others) {
      if (o != id) Cut(id, o);
    }
  }
  // Drops traffic from `from` to `to` only (the other direction flows).
  void CutOneWay(uint64_t from, uint64_t to) {
    absl::MutexLock lock(&mu_);
    one_way_.insert({from, to});
  }
  void HealAll() {
    absl::MutexLock lock(&mu_);
    cut_.clear();
    one_way_.clear();
  }
  bool Blocked(uint64_t from, uint64_t to) const {
    absl::MutexLock lock(&mu_);
    return cut_.contains({std::min(from, to), std::max(from, to)}) ||
           one_way_.contains({from, to});
  }

 private:
  mutable absl::Mutex mu_;
  std::set<std::pair<uint64_t, uint64_t>> cut_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<uint64_t, uint64_t>> one_way_ ABSL_GUARDED_BY(mu_);  // (from, to)
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_PEER_FAULTS_H_
