// etcdserverpb.Lease over gRPC's callback API, plus the leader's expiry loop.
//
//  - LeaseGrant / LeaseRevoke are proposed through raft (the Proposer) and
//    answered after apply. A grant without an id gets a server-chosen one
//    (etcd's id generator: member id, milliseconds, counter; positive int64),
//    chosen here, before proposing, so apply stays deterministic.
//  - LeaseKeepAlive (bidi stream) is answered by the leader's lessor without
//    a log write. A follower forwards each keep-alive to the leader over one
//    of the leader's advertised client URLs (each in turn until one answers)
//    and relays the TTL (etcd forwards too, over each peer URL in turn): all
//    of them over one shared stream (LeaseKeepAliveForwarder).
//  - LeaseTimeToLive needs the remaining TTL, which only the leader tracks:
//    answered by the leader, forwarded by followers (an async unary call).
//    Unknown lease: TTL -1.
//  - LeaseLeases: a linearizable read of the local lessor.
//  - The expiry loop (Start/Stop) runs every kExpiryCheck on every member
//    and, while this member's lessor is primary, proposes a LeaseRevoke for
//    each expired lease (at most kRevokesPerCheck per round: etcd's 1000/s),
//    and one LeaseCheckpoint with the remaining TTLs that are due (leases
//    longer than the checkpoint interval, every 5 min; see Lessor).
//
// Thread-safety: gRPC calls handlers concurrently; callbacks must not block,
// so nothing here waits on a thread: forwarding uses gRPC's async calls, and
// a retry (no leader yet, the leader's stream failed) is re-armed on a timer
// thread (util::TimerQueue) that only runs non-blocking steps. Start/Stop on
// one thread.
#ifndef QUORUM_SERVER_API_LEASE_SERVICE_H_
#define QUORUM_SERVER_API_LEASE_SERVICE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "mvcc/lessor.h"
#include "server/api/lease_service_forward.h"
#include "server/api/service_deps.h"
#include "util/live_set.h"
#include "util/timer_queue.h"

namespace quorum::server {

struct LeaseServiceOptions {
  // How long a keep-alive or time-to-live may take, forwarding and retries
  // included (etcd's request timeout).
  std::chrono::milliseconds forward_timeout{5000};
  // Pause between attempts while there is no leader (or no primary lessor
  // yet), as etcd's forwarding loop throttles.
  std::chrono::milliseconds retry_pause{50};
};

class LeaseService final : public etcdserverpb::Lease::CallbackService,
                           private mvcc::RevokeObserver {
 public:
  static constexpr std::chrono::milliseconds kExpiryCheck{500};
  static constexpr size_t kRevokesPerCheck = 500;
  // etcd's maxLeaseCheckpointBatchSize.
  static constexpr size_t kCheckpointsPerRequest = 1000;

  // `lessor` is not owned and must outlive the service.
  LeaseService(const ServiceDeps* deps, mvcc::Lessor* lessor, LeaseServiceOptions opts = {});
  ~LeaseService() override;

  // Starts / stops the expiry loop. Stop() also answers every pending
  // keep-alive and time-to-live (ErrStopped) and cancels forwarded calls.
  void Start();
  void Stop();

  grpc::ServerUnaryReactor* LeaseGrant(grpc::CallbackServerContext* ctx,
                                       const etcdserverpb::LeaseGrantRequest* req,
                                       etcdserverpb::LeaseGrantResponse* resp) override;
  grpc::ServerUnaryReactor* LeaseRevoke(grpc::CallbackServerContext* ctx,
                                        const etcdserverpb::LeaseRevokeRequest* req,
                                        etcdserverpb::LeaseRevokeResponse* resp) override;
  grpc::ServerUnaryReactor* LeaseTimeToLive(grpc::CallbackServerContext* ctx,
                                            const etcdserverpb::LeaseTimeToLiveRequest* req,
                                            etcdserverpb::LeaseTimeToLiveResponse* resp) override;
  grpc::ServerUnaryReactor* LeaseLeases(grpc::CallbackServerContext* ctx,
                                        const etcdserverpb::LeaseLeasesRequest* req,
                                        etcdserverpb::LeaseLeasesResponse* resp) override;
  grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                          etcdserverpb::LeaseKeepAliveResponse>*
  LeaseKeepAlive(grpc::CallbackServerContext* ctx) override;

  // Renews `id` on the leader (locally when this member is the primary,
  // else forwarded) and calls `done` with the new TTL, 0 for an unknown or
  // revoked lease (etcd's keep-alive answer; an expired lease is answered
  // once its revoke is applied), or an error. `done` may run on
  // the calling thread, the timer thread or a gRPC / raft / apply thread; it
  // must not block.
  using TtlDone = absl::AnyInvocable<void(absl::StatusOr<int64_t>) &&>;
  // Told (maybe more than once) when the renewal starts waiting for an
  // expired lease's revoke: a keep-alive stream does not count such waits
  // toward its read-pause limit (a follower's forwarder stream carries every
  // client of that follower). Must not block.
  using OnPark = std::function<void()>;
  void KeepAliveOnce(int64_t id, TtlDone done, OnPark on_park = nullptr);

  const ServiceDeps* deps() const { return deps_; }
  static absl::Status ErrNoLeaderForTesting() { return ErrNoLeader(); }
  size_t ForwardStreamsOpenedForTesting() { return forwarder_.StreamsOpenedForTesting(); }

 private:
  using Clock = std::chrono::steady_clock;
  class KeepAliveReactor;
  struct TimeToLiveCall;
  // One advertised client URL of the leader.
  struct LeaderTarget {
    uint64_t leader = 0;  // the member id: a failed request re-resolves once it changed
    std::string name;     // "host:port", "tls:host:port" over TLS
    std::shared_ptr<etcdserverpb::Lease::Stub> stub;
  };
  using Targets = std::shared_ptr<const std::vector<LeaderTarget>>;

  int64_t NextLeaseId();
  void ExpiryLoop();
  // etcd's ErrNoLeader: a forwarded request's answer when no leader was
  // known at its deadline (waitLeader); ErrTimeout when one was known but
  // did not answer.
  static absl::Status ErrNoLeader();

  // --- keep-alive (lease_service_keepalive.cc) ---
  // Renews locally when primary, else forwards; retries (after a pause, on
  // the timer) until `deadline` while there is no leader or the leader's
  // stream fails.
  void RenewOrForward(int64_t id, Clock::time_point deadline, TtlDone done, const OnPark& on_park);
  // An expired lease not yet revoked (etcd's Renew waits on revokec /
  // demotec): parks the renewal until the lessor reports the revoke applied
  // (TTL 0), a demotion (forwarded) or a reload, else ErrTimeout at the
  // deadline. No polling: one wake-up per change, one deadline timer each.
  void AwaitRevoke(int64_t id, Clock::time_point deadline, TtlDone done, const OnPark& on_park);
  // The forwarding half of RenewOrForward: to the leader's lessor.
  void Forward(int64_t id, Clock::time_point deadline, TtlDone done, const OnPark& on_park);
  // Forwards over (*targets)[i], then the next URL on failure.
  void ForwardTo(Targets targets, size_t i, int64_t id, Clock::time_point deadline, TtlDone done,
                 const OnPark& on_park);
  void RetryLater(int64_t id, Clock::time_point deadline, TtlDone done, absl::Status last,
                  const OnPark& on_park);

  // --- parked renewals (lease_service_keepalive.cc) ---
  struct ParkedRenewal {
    int64_t id;
    Clock::time_point deadline;
    OnPark on_park;
    TtlDone done;  // empty once taken (woken, timed out or stopped)
  };
  using Parked = std::shared_ptr<ParkedRenewal>;
  // mvcc::RevokeObserver, on the apply / raft thread: wakes the renewals
  // parked on `id` / on any lease; they renew again on the timer thread.
  void LeaseRevoked(mvcc::LeaseId id) override;
  void AllLeasesChanged() override;
  void Wake(std::vector<Parked> parked);
  // Removes `p` from the parked set and returns its callback (empty if
  // already taken).
  TtlDone Unpark(const Parked& p);
  // Stop: answers every parked renewal with ErrStopped; later ones too.
  void CloseParking();

  // --- time-to-live (lease_service_ttl.cc) ---
  void LocalTimeToLive(const etcdserverpb::LeaseTimeToLiveRequest& req,
                       etcdserverpb::LeaseTimeToLiveResponse* resp) const;
  // Answers `call` from the leader: locally once this member is primary,
  // else by asking the leader, again after a pause until the deadline.
  void ForwardTimeToLive(std::shared_ptr<TimeToLiveCall> call);
  // Asks the leader over (*targets)[i], then the next URL on failure.
  void AskLeaderTimeToLive(std::shared_ptr<TimeToLiveCall> call, Targets targets, size_t i);
  void RetryTimeToLive(std::shared_ptr<TimeToLiveCall> call);
  // Registers / unregisters a forwarded call so Stop can cancel it and wait
  // for its callback. Register fails once Stop has begun; the callback
  // unregisters as its last use of the service.
  bool RegisterCall(const std::shared_ptr<grpc::ClientContext>& ctx);
  void UnregisterCall(grpc::ClientContext* ctx);
  // Stop: cancels the registered calls and waits (bounded) for their callbacks.
  void CancelCalls();

  // Runs `fn` on the timer thread after `delay` (0: soon, off the calling
  // thread); false once Stop has taken the timer away. `fn` must not block.
  bool After(Clock::duration delay, util::TimerQueue::Task fn);
  // Every client URL the leader advertises, the one that answered last
  // first; null when there is no (other) leader right now. Forwarding tries
  // them in turn (etcd tries each of the leader's peer URLs) before pausing.
  Targets LeaderTargets();
  // True when the leader is no longer the one `targets` lead to: a failed
  // request then starts over from LeaderTargets, not from the old list.
  bool LeaderMoved(const Targets& targets) const;
  void NoteAnswered(const std::string& target);
  // A stub for `client_url` (cached per target) and its target name; null
  // when the URL is unusable.
  std::shared_ptr<etcdserverpb::Lease::Stub> StubFor(const std::string& client_url,
                                                     std::string* target);

  const ServiceDeps* deps_;
  mvcc::Lessor* lessor_;
  const LeaseServiceOptions opts_;
  std::atomic<uint64_t> next_id_suffix_;

  absl::Mutex mu_;
  // target -> stub (channels are reused across calls).
  std::map<std::string, std::shared_ptr<etcdserverpb::Lease::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
  // The leader target that answered a forwarded request last.
  std::string answered_target_ ABSL_GUARDED_BY(mu_);
  // Forwarded time-to-live calls whose callback has not finished.
  util::LiveSet<grpc::ClientContext> calls_;

  absl::Mutex park_mu_;  // never held while calling out
  // A set: a deadline unparks one renewal of possibly thousands on one id.
  absl::flat_hash_map<int64_t, absl::flat_hash_set<Parked>> parked_ ABSL_GUARDED_BY(park_mu_);
  bool parking_closed_ ABSL_GUARDED_BY(park_mu_) = false;

  LeaseKeepAliveForwarder forwarder_;
  std::atomic<bool> stopped_{false};
  absl::Notification stop_;
  std::thread expiry_thread_;
  // Callbacks on raft, apply, gRPC and timer threads may arm timers while
  // Stop takes it (destroying it runs what is pending): hence the lock.
  absl::Mutex timer_mu_;
  std::unique_ptr<util::TimerQueue> timer_ ABSL_GUARDED_BY(timer_mu_);
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_LEASE_SERVICE_H_
