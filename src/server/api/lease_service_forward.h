// LeaseKeepAliveForwarder: how a follower relays keep-alives to the leader.
// One long-lived LeaseKeepAlive stream per leader client endpoint carries the
// keep-alives of every client stream on this member; answers are matched to
// requests by lease id (FIFO per id). Streams to different URLs of the same
// leader live side by side (a request moving to the next URL cancels
// nothing). When the leader changes, the streams to the old one are
// cancelled and their pending requests fail with Unavailable (the caller
// retries toward the new leader). Sweep() fails requests past their
// deadline one by one (the leader may hold a renewal of an expired lease
// until its revoke); their late answers are dropped, in FIFO order per id.
// Only a stream with a request unanswered kUnansweredGrace past its deadline
// is cancelled.
//
// Thread-safety: all methods are thread-safe. `done` callbacks run on gRPC
// callback threads (or the caller's) and must not block.
#ifndef QUORUM_SERVER_API_LEASE_SERVICE_FORWARD_H_
#define QUORUM_SERVER_API_LEASE_SERVICE_FORWARD_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "util/live_set.h"

namespace quorum::server {

class LeaseKeepAliveForwarder {
 public:
  using Clock = std::chrono::steady_clock;
  using TtlDone = absl::AnyInvocable<void(absl::StatusOr<int64_t>) &&>;

  // Longer than the leader holds a renewal (its forward timeout, 5 s).
  static constexpr Clock::duration kUnansweredGrace = std::chrono::seconds(10);

  LeaseKeepAliveForwarder() = default;
  ~LeaseKeepAliveForwarder() { Shutdown(); }

  // Sends a keep-alive for `id` to the leader at `target` (served by `stub`).
  // `done` gets the leader's TTL (0: unknown or expired lease), or an error.
  // `leader` is the member id behind `target`.
  void Send(uint64_t leader, const std::string& target,
            std::shared_ptr<etcdserverpb::Lease::Stub> stub, int64_t id,
            Clock::time_point deadline, TtlDone done);
  // Fails requests past their deadline; cancels a stream whose leader has
  // not answered one for kUnansweredGrace after it. Call periodically.
  void Sweep();
  // Cancels every stream and waits (bounded) until they are done; later
  // Sends fail with Unavailable.
  void Shutdown();
  size_t StreamsOpenedForTesting() {
    absl::MutexLock lock(&mu_);
    return opened_;
  }

 private:
  class Stream;
  void StreamDone(Stream* s);

  absl::Mutex mu_;
  uint64_t leader_ ABSL_GUARDED_BY(mu_) = 0;
  // target -> the stream to it (all to leader_).
  absl::flat_hash_map<std::string, std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  size_t opened_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  // Every stream not yet done (the current one and replaced ones finishing).
  util::LiveSet<Stream> live_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_LEASE_SERVICE_FORWARD_H_
