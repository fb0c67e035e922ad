// Session: a lease kept alive in the background, the liveness token of the
// recipes (clientv3/concurrency.Session). Keys a recipe writes carry the
// session's lease, so they vanish when the session's owner dies: its lease
// stops being renewed and expires after the TTL.
//
// Done() turns true once the lease is lost (expired, revoked elsewhere, or
// not renewable before its expiry); Close() stops renewing and revokes the
// lease (deleting every key attached to it); Orphan() stops renewing only.
//
// Thread-safety: thread-safe. The Client must outlive the Session.
#ifndef QUORUM_CLIENT_CONCURRENCY_SESSION_H_
#define QUORUM_CLIENT_CONCURRENCY_SESSION_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/lease.h"

namespace quorum::client::concurrency {

struct SessionOptions {
  // TTL of the lease granted for the session (etcd's default: 60 s).
  int64_t ttl_s = 60;
  // Use this existing lease instead of granting one (0: grant). Its TTL is
  // asked from the server (ttl_s is ignored); Create fails with NotFound
  // "etcdserver: requested lease not found" when it does not exist.
  int64_t lease = 0;
};

class Session {
 public:
  static absl::StatusOr<std::unique_ptr<Session>> Create(Client& client,
                                                         SessionOptions opts = {});
  ~Session();  // stops renewing; does not revoke (Close() does)

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Client& client() const { return client_; }
  int64_t Lease() const { return lease_; }
  int64_t Ttl() const { return ttl_s_; }

  // True once the lease is lost; Lost() tells why.
  bool Done() const { return !keep_alive_->Lost().ok(); }
  absl::Status Lost() const { return keep_alive_->Lost(); }
  // Blocks until Done() or `timeout`; returns Done().
  bool WaitDone(absl::Duration timeout) const { return keep_alive_->WaitLost(timeout); }

  // Stops renewing and revokes the lease.
  absl::Status Close();
  // Stops renewing; the lease expires after its TTL.
  void Orphan() { keep_alive_->Stop(); }

 private:
  Session(Client& client, int64_t lease, int64_t ttl_s);

  Client& client_;
  const int64_t lease_;
  const int64_t ttl_s_;
  std::unique_ptr<LeaseKeepAlive> keep_alive_;
};

}  // namespace quorum::client::concurrency

#endif  // QUORUM_CLIENT_CONCURRENCY_SESSION_H_
