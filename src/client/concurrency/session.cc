#include "client/concurrency/session.h"

namespace quorum::client::concurrency {

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Client& client, SessionOptions opts) {
  int64_t id = opts.lease;
  int64_t ttl = opts.ttl_s;
  LeaseClient leases(client);
  if (id == 0) {
    absl::StatusOr<etcdserverpb::LeaseGrantResponse> g = leases.Grant(opts.ttl_s);
    if (!g.ok()) return g.status();
    if (!g->error().empty()) return absl::UnknownError(g->error());
    id = g->id();
    ttl = g->ttl();
  }
  std::unique_ptr<Session> s(new Session(client, id, ttl));
  s->keep_alive_ = LeaseKeepAlive::Start(client, id, ttl);
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
