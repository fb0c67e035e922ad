#include "client/concurrency/session.h"

namespace quorum::client::concurrency {

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Client& client, SessionOptions opts) {
  int64_t id = opts.lease;
  int64_t ttl = opts.ttl_s;
  int64_t left = ttl;  // seconds until the lease expires unless renewed
  LeaseClient leases(client);
  if (id == 0) {
    absl::StatusOr<etcdserverpb::LeaseGrantResponse> g = leases.Grant(opts.ttl_s);
    if (!g.ok()) return g.status();
    if (!g->error().empty()) return absl::UnknownError(g->error());
    id = g->id();
    ttl = left = g->ttl();
  } else {
    // An existing lease runs on its own TTL, not opts.ttl_s: if the first
    // renewal hangs, the loss must be reported when it really expires.
    absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> t = leases.TimeToLive(id);
    if (!t.ok()) return t.status();
    if (t->ttl() <= 0) return absl::NotFoundError(kLeaseNotFoundMessage);
    ttl = t->grantedttl() > 0 ? t->grantedttl() : t->ttl();
    left = t->ttl();
  }
  std::unique_ptr<Session> s(new Session(client, id, ttl));
  s->keep_alive_ = LeaseKeepAlive::Start(client, id, left);
  return s;
}

Session::Session(Client& client, int64_t lease, int64_t ttl_s)
    : client_(client), lease_(lease), ttl_s_(ttl_s) {}

Session::~Session() { keep_alive_->Stop(); }

absl::Status Session::Close() {
  keep_alive_->Stop();
  absl::StatusOr<etcdserverpb::LeaseRevokeResponse> r = LeaseClient(client_).Revoke(lease_);
  return r.status();
}

}  // namespace quorum::client::concurrency
