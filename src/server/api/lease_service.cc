#include "server/api/lease_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/api/quota_gate.h"
#include "server/errors.h"
#include "server/tls.h"
#include "server/url.h"

namespace quorum::server {

using internalpb::InternalRequest;
using internalpb::InternalResponse;

namespace {

// Proposes `req` and finishes `reactor` with what `extract` makes of the
// applied response.
template <typename Resp, typename Extract>
void ProposeAndReply(const ServiceDeps* deps, grpc::ServerUnaryReactor* reactor,
                     InternalRequest req, Resp* resp, Extract extract) {
  deps->proposer->Propose(
      std::move(req), [reactor, resp, deps, extract](absl::StatusOr<InternalResponse> r) mutable {
        if (!r.ok()) {
          reactor->Finish(ToGrpcStatus(r.status()));
          return;
        }
        extract(&*r, resp);
        deps->Stamp(resp->mutable_header());
        reactor->Finish(grpc::Status::OK);
      });
}

}  // namespace

LeaseService::LeaseService(const ServiceDeps* deps, mvcc::Lessor* lessor, LeaseServiceOptions opts)
    : deps_(deps),
      lessor_(lessor),
      opts_(opts),
      timer_(std::make_unique<util::TimerQueue>("lease-timer")) {
  // etcd's idutil.Generator: low 16 bits of the member id, then 40 bits of
  // milliseconds and an 8-bit counter, so ids of different members and of
  // successive starts do not collide.
  const auto ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  next_id_suffix_ = (ms & ((uint64_t{1} << 40) - 1)) << 8;
  lessor_->SetRevokeObserver(this);
}

LeaseService::~LeaseService() { Stop(); }

absl::Status LeaseService::ErrNoLeader() {
  return absl::UnavailableError("etcdserver: no leader");
}

void LeaseService::Start() {
  expiry_thread_ = std::thread([this] { ExpiryLoop(); });
}

void LeaseService::Stop() {
  stopped_ = true;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (expiry_thread_.joinable()) expiry_thread_.join();
  lessor_->SetRevokeObserver(nullptr);  // waits for a notification in progress
  CloseParking();                       // renewals waiting on a revoke: ErrStopped
  forwarder_.Shutdown();  // pending forwards fail; their retries see stopped_
  CancelCalls();          // forwarded time-to-live calls: answered ErrStopped
  std::unique_ptr<util::TimerQueue> timer;
  {
    absl::MutexLock lock(&timer_mu_);
    timer = std::move(timer_);
  }
  timer.reset();  // runs the pending retries at once: they see stopped_
}

bool LeaseService::After(Clock::duration delay, util::TimerQueue::Task fn) {
  absl::MutexLock lock(&timer_mu_);
  if (timer_ == nullptr) return false;
  timer_->ScheduleAfter(delay, std::move(fn));
  return true;
}

bool LeaseService::RegisterCall(const std::shared_ptr<grpc::ClientContext>& ctx) {
  return calls_.Add(ctx);
}

void LeaseService::UnregisterCall(grpc::ClientContext* ctx) { calls_.Remove(ctx); }

void LeaseService::CancelCalls() {
  // Each callback unregisters as its last use of this service.
  calls_.CloseAndWait([](grpc::ClientContext& ctx) { ctx.TryCancel(); }, absl::Seconds(5));
}

int64_t LeaseService::NextLeaseId() {
  const uint64_t prefix = (deps_->self_id & 0xffff) << 48;
  for (;;) {
    const uint64_t suffix = next_id_suffix_.fetch_add(1) + 1;
    const auto id = static_cast<int64_t>((prefix | (suffix & ((uint64_t{1} << 48) - 1))) &
                                         ((uint64_t{1} << 63) - 1));
    if (id != mvcc::kNoLease) return id;
  }
}

void LeaseService::ExpiryLoop() {
  while (!stop_.WaitForNotificationWithTimeout(absl::FromChrono(kExpiryCheck))) {
    forwarder_.Sweep();
    if (!lessor_->IsPrimary()) continue;
    // Remaining TTLs of long leases, so a new leader resumes from them.
    if (auto cps = lessor_->CollectCheckpoints(kCheckpointsPerRequest); !cps.empty()) {
      InternalRequest ir;
      for (const auto& [id, remaining] : cps) {
        auto* cp = ir.mutable_lease_checkpoint()->add_checkpoints();
        cp->set_id(id);
        cp->set_remaining_ttl(remaining);
      }
      deps_->proposer->Propose(std::move(ir), [](absl::StatusOr<InternalResponse> r) {
        if (!r.ok()) spdlog::warn("lease checkpoint: {}", std::string(r.status().message()));
      });
    }
    const std::vector<mvcc::LeaseId> expired = lessor_->FindExpired(kRevokesPerCheck);
    // One line per pass, not per lease: enough to tell, in a member's log,
    // a lease that expired from a key deleted otherwise.
    if (!expired.empty()) {
      spdlog::info("revoking {} expired lease(s), the first {:016x}", expired.size(), expired.front());
    }
    for (mvcc::LeaseId id : expired) {
      InternalRequest ir;
      ir.mutable_lease_revoke()->set_id(id);
      deps_->proposer->Propose(std::move(ir), [id](absl::StatusOr<InternalResponse> r) {
        // NotFound: revoked meanwhile. Anything else is retried by
        // FindExpired after Lessor::kExpiredRetry.
        if (!r.ok() && !absl::IsNotFound(r.status())) {
          spdlog::warn("revoking expired lease {:016x}: {}", id, std::string(r.status().message()));
        }
      });
    }
  }
}

grpc::ServerUnaryReactor* LeaseService::LeaseGrant(grpc::CallbackServerContext* ctx,
                                                   const etcdserverpb::LeaseGrantRequest* req,
                                                   etcdserverpb::LeaseGrantResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (RejectOverQuota(deps_, *req, reactor)) return reactor;
  InternalRequest ir;
  *ir.mutable_lease_grant() = *req;
  if (req->id() == mvcc::kNoLease) ir.mutable_lease_grant()->set_id(NextLeaseId());
  ProposeAndReply(deps_, reactor, std::move(ir), resp,
                  [](InternalResponse* r, etcdserverpb::LeaseGrantResponse* out) {
                    *out = std::move(*r->mutable_lease_grant());
                  });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseRevoke(grpc::CallbackServerContext* ctx,
                                                    const etcdserverpb::LeaseRevokeRequest* req,
                                                    etcdserverpb::LeaseRevokeResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  InternalRequest ir;
  *ir.mutable_lease_revoke() = *req;
  ProposeAndReply(deps_, reactor, std::move(ir), resp,
                  [](InternalResponse* r, etcdserverpb::LeaseRevokeResponse* out) {
                    *out = std::move(*r->mutable_lease_revoke());
                  });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseLeases(grpc::CallbackServerContext* ctx,
                                                    const etcdserverpb::LeaseLeasesRequest* req,
                                                    etcdserverpb::LeaseLeasesResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  deps_->proposer->ReadBarrier([this, reactor, resp](absl::Status s) {
    if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
    for (mvcc::LeaseId id : lessor_->Leases()) resp->add_leases()->set_id(id);
    deps_->Stamp(resp->mutable_header());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

LeaseService::Targets LeaseService::LeaderTargets() {
  const uint64_t leader = deps_->proposer->LeaderId();
  if (leader == 0 || leader == deps_->self_id) return nullptr;
  auto m = deps_->membership->Get(leader);
  if (!m) return nullptr;
  std::vector<LeaderTarget> out;
  for (const auto& u : m->client_urls) {
    LeaderTarget t;
    t.leader = leader;
    t.stub = StubFor(u, &t.name);
    if (t.stub != nullptr) out.push_back(std::move(t));
  }
  if (out.empty()) return nullptr;
  // The URL that answered last first: it is known to work (and the
  // keep-alive forwarder has a stream open to it).
  absl::MutexLock lock(&mu_);
  auto it = std::find_if(out.begin(), out.end(),
                         [this](const LeaderTarget& t) { return t.name == answered_target_; });
  if (it != out.end()) std::rotate(out.begin(), it, it + 1);
  return std::make_shared<const std::vector<LeaderTarget>>(std::move(out));
}

bool LeaseService::LeaderMoved(const Targets& targets) const {
  return deps_->proposer->LeaderId() != targets->front().leader;
}

void LeaseService::NoteAnswered(const std::string& target) {
  absl::MutexLock lock(&mu_);
  answered_target_ = target;
}

std::shared_ptr<etcdserverpb::Lease::Stub> LeaseService::StubFor(const std::string& client_url,
                                                                 std::string* target_out) {
  auto url = ParseUrl(client_url);
  if (!url.ok()) return nullptr;
  const std::string target = (url->tls() ? "tls:" : "") + url->HostPort();
  *target_out = target;
  absl::MutexLock lock(&mu_);
  auto it = stubs_.find(target);
  if (it != stubs_.end()) return it->second;
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (url->tls()) {
    const ServerConfig& c = *deps_->config;
    auto tls = MakeClientCredentials(TlsFiles{c.cert_file, c.key_file, c.trusted_ca_file, false});
    if (!tls.ok()) {
      spdlog::warn("cannot forward lease requests to {}: {}", target,
                   std::string(tls.status().message()));
      return nullptr;
    }
    creds = *tls;
  }
  auto stub = std::shared_ptr<etcdserverpb::Lease::Stub>(
      etcdserverpb::Lease::NewStub(grpc::CreateChannel(url->HostPort(), creds)));
  stubs_[target] = stub;
  return stub;
}

}  // namespace quorum::server
