// LeaseClient: the etcd Lease service (Grant, Revoke, TimeToLive, Leases,
// one-shot KeepAlive) over a Client; LeaseKeepAlive: a background renewal of
// one lease that reports when the lease is lost -- what clientv3's
// Lease.KeepAlive is to etcd.
//
// Who calls it: concurrency::Session (recipes), tests, tools.
//
// Keep-alive design: every renewal is one short LeaseKeepAlive stream (send
// one request, read one response, close) run through Client::Invoke, so it
// gets the Client's failover for free; keep-alives are idempotent, so a
// renewal that failed after it was sent is simply retried. Renewals run
// every TTL/3; after a failure, every kRetryInterval. Each try ends by the
// lease's expiry and after TTL/3 at most (kMinAttempt at least); a member
// that leaves a try unanswered that long is abandoned
// (Client::AbandonChannel), so the next try, sent at once, reaches another.
// The lease is declared lost when the server answers TTL <= 0 (revoked or
// expired: NotFound "etcdserver: requested lease not found") or when no
// renewal has succeeded by the time the lease would have expired
// (DeadlineExceeded "lease keep-alive timed out") -- at that time, even
// with a renewal in flight, as clientv3's keep-alive deadline.
//
// Thread-safety: LeaseClient is as thread-safe as its Client; LeaseKeepAlive
// methods are thread-safe. The Client must outlive both.
#ifndef QUORUM_CLIENT_LEASE_H_
#define QUORUM_CLIENT_LEASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/call_canceller.h"
#include "client/client.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client {

inline constexpr char kLeaseNotFoundMessage[] = "etcdserver: requested lease not found";

class LeaseClient {
 public:
  explicit LeaseClient(Client& client) : client_(client) {}

  // id 0: the server picks one.
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> Grant(int64_t ttl_s, int64_t id = 0);
  absl::StatusOr<etcdserverpb::LeaseRevokeResponse> Revoke(int64_t id);
  absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> TimeToLive(int64_t id, bool keys = false);
  absl::StatusOr<etcdserverpb::LeaseLeasesResponse> Leases();
  // One renewal. A lease that is gone answers ttl <= 0 (not an error here).
  absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> KeepAliveOnce(int64_t id);

 private:
  Client& client_;
};

class LeaseKeepAlive {
 public:
  static constexpr absl::Duration kRetryInterval = absl::Milliseconds(300);
  static constexpr absl::Duration kMinInterval = absl::Milliseconds(200);
  // The shortest time one renewal try gets before the next is sent.
  static constexpr absl::Duration kMinAttempt = absl::Milliseconds(500);

  // Starts renewing lease `id`, which has `ttl_s` seconds left (the first
  // renewal is sent at once, which also checks that the lease exists).
  // `on_lost`, if set, runs once on the renewal thread when the lease is lost.
  static std::unique_ptr<LeaseKeepAlive> Start(Client& client, int64_t id, int64_t ttl_s,
                                               std::function<void(const absl::Status&)> on_lost = {});
  ~LeaseKeepAlive();  // Stop()

  LeaseKeepAlive(const LeaseKeepAlive&) = delete;
  LeaseKeepAlive& operator=(const LeaseKeepAlive&) = delete;

  int64_t id() const { return id_; }
  // Stops renewing (the lease is left to expire or to be revoked); Lost()
  // reports Cancelled from then on, as clientv3 closes a session's Done
  // channel on Orphan/Close. A renewal in flight is cancelled, so this
  // returns at once. Idempotent; safe from several threads at once.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // OK while the lease is believed alive; the reason once it is lost (the
  // server said so, or no renewal succeeded before the TTL of the last
  // granted one ran out: reported then, a renewal still in flight being
  // abandoned, since the leader may have expired the lease by that time).
  absl::Status Lost() const ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until the lease is lost or `timeout` passes; true when lost.
  bool WaitLost(absl::Duration timeout) const ABSL_LOCKS_EXCLUDED(mu_);
  // Latest TTL the server granted on renewal (seconds).
  int64_t LastTtl() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  LeaseKeepAlive(Client& client, int64_t id, int64_t ttl_s,
                 std::function<void(const absl::Status&)> on_lost);
  void Run();
  // One renewal try ending by `deadline`; abandons an endpoint that let it
  // time out.
  absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> Renew(absl::Time deadline);

  Client& client_;
  const int64_t id_;
  std::function<void(const absl::Status&)> on_lost_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status lost_ ABSL_GUARDED_BY(mu_);
  int64_t ttl_s_ ABSL_GUARDED_BY(mu_);
  // Ends the renewal in flight on Stop().
  CallCanceller canceller_;
  std::once_flag join_once_;
  std::thread thread_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_LEASE_H_
