// etcdserverpb.Lease over gRPC's callback API, plus the leader's expiry loop.
//
//  - LeaseGrant / LeaseRevoke are proposed through raft (the Proposer) and
//    answered after apply. A grant without an id gets a server-chosen one
//    (etcd's id generator: member id, milliseconds, counter; positive int64),
//    chosen here, before proposing, so apply stays deterministic.
//  - LeaseKeepAlive (bidi stream) is answered by the leader's lessor without
//    a log write. A follower forwards each keep-alive to the leader over the
//    leader's advertised client URL and relays the TTL (etcd forwards too):
//    all of them over one shared stream (LeaseKeepAliveForwarder).
//  - LeaseTimeToLive needs the remaining TTL, which only the leader tracks:
//    answered by the leader, forwarded by followers. Unknown lease: TTL -1.
//  - LeaseLeases: a linearizable read of the local lessor.
//  - The expiry loop (Start/Stop) runs every kExpiryCheck on every member
//    and, while this member's lessor is primary, proposes a LeaseRevoke for
//    each expired lease (at most kRevokesPerCheck per round: etcd's 1000/s),
//    and one LeaseCheckpoint with the remaining TTLs that are due (leases
//    longer than the checkpoint interval, every 5 min; see Lessor).
//
// Thread-safety: gRPC calls handlers concurrently; callbacks must not block,
// so forwarding runs on a small internal pool. Start/Stop on one thread.
#ifndef QUORUM_SERVER_API_LEASE_SERVICE_H_
#define QUORUM_SERVER_API_LEASE_SERVICE_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "mvcc/lessor.h"
#include "server/api/lease_service_forward.h"
#include "server/api/service_deps.h"
#include "util/thread_pool.h"

namespace quorum::server {

class LeaseService final : public etcdserverpb::Lease::CallbackService {
 public:
  static constexpr std::chrono::milliseconds kExpiryCheck{500};
  static constexpr size_t kRevokesPerCheck = 500;
  // etcd's maxLeaseCheckpointBatchSize.
  static constexpr size_t kCheckpointsPerRequest = 1000;

  // `lessor` is not owned and must outlive the service.
  LeaseService(const ServiceDeps* deps, mvcc::Lessor* lessor);
  ~LeaseService() override;

  // Starts / stops the expiry loop. Stop() also drains forwarding work.
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
  // expired lease (etcd's keep-alive answer), or an error. `done` may run on
  // the calling thread or on the pool.
  using TtlDone = absl::AnyInvocable<void(absl::StatusOr<int64_t>) &&>;
  void KeepAliveOnce(int64_t id, TtlDone done);

  const ServiceDeps* deps() const { return deps_; }

 private:
  using Clock = std::chrono::steady_clock;
  class KeepAliveReactor;

  int64_t NextLeaseId();
  void ExpiryLoop();
  // Renews locally when primary, else forwards; retries (after a pause, on
  // the pool) until `deadline` while there is no leader or the leader's
  // stream fails.
  void RenewOrForward(int64_t id, Clock::time_point deadline, TtlDone done);
  // The forwarding half of RenewOrForward: to the leader's lessor.
  void Forward(int64_t id, Clock::time_point deadline, TtlDone done);
  void RetryLater(int64_t id, Clock::time_point deadline, TtlDone done, absl::Status last);
  // Runs `fn` on the pool; false once Stop has taken the pool away.
  bool Schedule(absl::AnyInvocable<void() &&> fn);
  // Pool thread: the leader's answer to a TimeToLive.
  absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> ForwardTimeToLive(
      const etcdserverpb::LeaseTimeToLiveRequest& req, Clock::time_point deadline);
  void LocalTimeToLive(const etcdserverpb::LeaseTimeToLiveRequest& req,
                       etcdserverpb::LeaseTimeToLiveResponse* resp) const;
  // A stub for the leader's client endpoint (and its target name), or null
  // when there is no (other) leader right now.
  std::shared_ptr<etcdserverpb::Lease::Stub> LeaderStub(std::string* target = nullptr);

  const ServiceDeps* deps_;
  mvcc::Lessor* lessor_;
  std::atomic<uint64_t> next_id_suffix_;

  absl::Mutex mu_;
  // target -> stub (channels are reused across calls).
  std::map<std::string, std::shared_ptr<etcdserverpb::Lease::Stub>> stubs_ ABSL_GUARDED_BY(mu_);

  LeaseKeepAliveForwarder forwarder_;
  std::atomic<bool> stopped_{false};
  absl::Notification stop_;
  std::thread expiry_thread_;
  // Must be destroyed (drained) before the members above. Callbacks on raft,
  // apply and gRPC threads may schedule while Stop takes it: hence the lock.
  absl::Mutex pool_mu_;
  std::unique_ptr<util::ThreadPool> pool_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_LEASE_SERVICE_H_
