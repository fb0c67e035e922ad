#include "client/lease.h"

#include <algorithm>
#include <utility>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {

using etcdserverpb::Lease;

absl::StatusOr<etcdserverpb::LeaseGrantResponse> LeaseClient::Grant(int64_t ttl_s, int64_t id) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_s);
  req.set_id(id);
  return client_.Invoke<etcdserverpb::LeaseGrantResponse>(
      Idempotency::kNonIdempotent,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
          etcdserverpb::LeaseGrantResponse* resp) {
        return Lease::NewStub(ch)->LeaseGrant(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::LeaseRevokeResponse> LeaseClient::Revoke(int64_t id) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(id);
  return client_.Invoke<etcdserverpb::LeaseRevokeResponse>(
      Idempotency::kNonIdempotent,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
          etcdserverpb::LeaseRevokeResponse* resp) {
        return Lease::NewStub(ch)->LeaseRevoke(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> LeaseClient::TimeToLive(int64_t id,
                                                                              bool keys) {
  etcdserverpb::LeaseTimeToLiveRequest req;
  req.set_id(id);
  req.set_keys(keys);
  return client_.Invoke<etcdserverpb::LeaseTimeToLiveResponse>(
      Idempotency::kIdempotent,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
          etcdserverpb::LeaseTimeToLiveResponse* resp) {
        return Lease::NewStub(ch)->LeaseTimeToLive(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::LeaseLeasesResponse> LeaseClient::Leases() {
  etcdserverpb::LeaseLeasesRequest req;
  return client_.Invoke<etcdserverpb::LeaseLeasesResponse>(
      Idempotency::kIdempotent,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
          etcdserverpb::LeaseLeasesResponse* resp) {
        return Lease::NewStub(ch)->LeaseLeases(ctx, req, resp);
      });
}

namespace {

// One keep-alive on its own short stream: send, read one answer, close.
grpc::Status KeepAliveAttempt(const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
                              int64_t id, etcdserverpb::LeaseKeepAliveResponse* resp) {
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(id);
  auto stream = Lease::NewStub(ch)->LeaseKeepAlive(ctx);
  if (!stream->Write(req)) return stream->Finish();
  stream->WritesDone();
  if (!stream->Read(resp)) {
    grpc::Status s = stream->Finish();
    if (s.ok()) s = grpc::Status(grpc::StatusCode::UNAVAILABLE, "keep-alive stream closed");
    return s;
  }
  ctx->TryCancel();  // nothing more to read; do not wait for the server's close
  stream->Finish();
  return grpc::Status::OK;
}

}  // namespace

absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> LeaseClient::KeepAliveOnce(int64_t id) {
  return client_.Invoke<etcdserverpb::LeaseKeepAliveResponse>(
      Idempotency::kIdempotent,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
          etcdserverpb::LeaseKeepAliveResponse* resp) {
        return KeepAliveAttempt(ch, ctx, id, resp);
      });
}

std::unique_ptr<LeaseKeepAlive> LeaseKeepAlive::Start(
    Client& client, int64_t id, int64_t ttl_s, std::function<void(const absl::Status&)> on_lost) {
  std::unique_ptr<LeaseKeepAlive> k(new LeaseKeepAlive(client, id, ttl_s, std::move(on_lost)));
  k->thread_ = std::thread([p = k.get()] { p->Run(); });
  return k;
}

LeaseKeepAlive::LeaseKeepAlive(Client& client, int64_t id, int64_t ttl_s,
                               std::function<void(const absl::Status&)> on_lost)
    : client_(client),
      id_(id),
      on_lost_(std::move(on_lost)),
      ttl_s_(ttl_s) {}

LeaseKeepAlive::~LeaseKeepAlive() { Stop(); }

void LeaseKeepAlive::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    if (lost_.ok()) lost_ = absl::CancelledError("lease keep-alive stopped");
  }
  canceller_.Cancel();  // a renewal in flight ends now, not at its deadline
  if (thread_.get_id() == std::this_thread::get_id()) return;  // on_lost_ stopping us
  std::call_once(join_once_, [this] {
    if (thread_.joinable()) thread_.join();
  });
}

absl::Status LeaseKeepAlive::Lost() const {
  absl::MutexLock l(&mu_);
  return lost_;
}

int64_t LeaseKeepAlive::LastTtl() const {
  absl::MutexLock l(&mu_);
  return ttl_s_;
}

bool LeaseKeepAlive::WaitLost(absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto lost = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !lost_.ok(); };
  mu_.AwaitWithTimeout(absl::Condition(&lost), timeout);
  return !lost_.ok();
}

absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> LeaseKeepAlive::Renew(absl::Time deadline) {
  std::shared_ptr<grpc::Channel> hung;  // the endpoint that let the attempt time out
  absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> r;
  {
    CallDeadlineScope bound(deadline);
    r = client_.Invoke<etcdserverpb::LeaseKeepAliveResponse>(
        Idempotency::kIdempotent,
        [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
            etcdserverpb::LeaseKeepAliveResponse* resp) {
          grpc::Status s = KeepAliveAttempt(ch, ctx, id_, resp);
          hung = s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? ch : nullptr;
          return s;
        });
  }
  // A member that took the request and never answered may be paused or cut
  // off with its connection still up: the next try must go elsewhere.
  if (!r.ok() && r.status().code() == absl::StatusCode::kDeadlineExceeded && hung) {
    client_.AbandonChannel(hung);
  }
  return r;
}

void LeaseKeepAlive::Run() {
  CallCancelScope cancellable(&canceller_);
  // When the lease runs out unless renewed: send time of the last successful
  // renewal + its TTL (the server starts counting later).
  absl::Time expires;
  int64_t ttl_s;
  {
    absl::MutexLock l(&mu_);
    ttl_s = ttl_s_;
    expires = absl::Now() + absl::Seconds(ttl_s);
  }
  absl::Time next = absl::Now();
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithDeadline(absl::Condition(&wake), next);
      if (stopping_) return;
    }
    const absl::Time sent = absl::Now();
    absl::Status lost;
    if (sent < expires) {
      // No renewal outlives the lease: past `expires` the leader may have
      // expired it and another session may hold what this one held, so the
      // loss is reported then, not when a hung call gives up (clientv3's
      // deadline loop). Each try also gets a third of the TTL at most, so a
      // member that hangs is abandoned while the lease still lives.
      const absl::Time deadline =
          std::min(expires, sent + std::max(kMinAttempt, absl::Seconds(ttl_s) / 3));
      absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> r = Renew(deadline);
      if (r.ok() && r->ttl() > 0) {
        ttl_s = r->ttl();
        expires = sent + absl::Seconds(ttl_s);
        absl::MutexLock l(&mu_);
        ttl_s_ = ttl_s;
        next = sent + std::max(kMinInterval, absl::Seconds(ttl_s) / 3);
        continue;
      }
      if (r.ok()) {
        lost = absl::NotFoundError(kLeaseNotFoundMessage);
      } else if (r.status().code() == absl::StatusCode::kNotFound) {
        lost = r.status();
      } else if (absl::Now() < expires) {
        // A timed-out try already waited its share: the next goes at once.
        next = r.status().code() == absl::StatusCode::kDeadlineExceeded
                   ? absl::Now()
                   : std::min(expires, absl::Now() + kRetryInterval);
        continue;
      }
    }
    if (lost.ok()) lost = absl::DeadlineExceededError("lease keep-alive timed out");
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      lost_ = lost;
    }
    if (on_lost_) on_lost_(lost);
    return;
  }
}

}  // namespace quorum::client
