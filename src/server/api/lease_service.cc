#include "server/api/lease_service.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <optional>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/api/quota_gate.h"
#include "server/errors.h"
#include "server/tls.h"
#include "server/url.h"
#include "util/member_id.h"

namespace quorum::server {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::LeaseKeepAliveResponse;
using internalpb::InternalRequest;
using internalpb::InternalResponse;

namespace {

// etcd's request timeout for one forwarded keep-alive / time-to-live.
constexpr auto kForwardTimeout = std::chrono::seconds(5);
// Pause between attempts while there is no leader (or no primary lessor yet).
constexpr auto kRetryPause = std::chrono::milliseconds(50);
constexpr int kForwardThreads = 4;

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

// One LeaseKeepAlive stream. Requests are answered in the order their
// renewals complete; a failed renewal ends the stream with its error (as
// etcd's does). Finish is called once no renewal is in flight and no write
// is pending, so no callback can outlive the reactor (deleted in OnDone).
class LeaseService::KeepAliveReactor final
    : public grpc::ServerBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveReactor(LeaseService* svc) : svc_(svc) { StartRead(&req_); }
  // A stream refused up front (e.g. on a learner).
  KeepAliveReactor(LeaseService* svc, grpc::Status refused) : svc_(svc) {
    finished_ = true;
    Finish(std::move(refused));
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Update([&] { reads_done_ = true; });
      return;
    }
    const int64_t id = req_.id();
    bool stop;
    {
      absl::MutexLock lock(&mu_);
      // A stream already failed (or finished with this read outstanding)
      // starts no renewal: its reply could outlive the reactor.
      stop = failed_ || finished_;
      if (!stop) ++inflight_;
    }
    if (!stop) {
      svc_->KeepAliveOnce(id,
                          [this, id](absl::StatusOr<int64_t> ttl) { Reply(id, std::move(ttl)); });
      // The renewal may have failed inline and finished the stream: no
      // further read may start after Finish.
      absl::MutexLock lock(&mu_);
      stop = failed_ || finished_;
      // A client that sends without reading its answers: stop reading until
      // they drain (OnWriteDone), so the queue stays bounded.
      if (!stop && queue_.size() + inflight_ >= kMaxPending) {
        read_paused_ = true;
        return;
      }
    }
    if (stop) {
      Update([&] { reads_done_ = true; });
    } else {
      StartRead(&req_);
    }
  }

  void OnWriteDone(bool ok) override {
    bool resume = false;
    Update([&] {
      writing_ = false;
      if (!ok) Fail(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      if (read_paused_ && !failed_ && queue_.size() + inflight_ < kMaxPending / 2) {
        read_paused_ = false;
        resume = true;
        ++inflight_;  // holds Finish off until the read has started
      }
    });
    if (!resume) return;
    StartRead(&req_);
    Update([&] { --inflight_; });
  }

  void OnDone() override { delete this; }

 private:
  void Reply(int64_t id, absl::StatusOr<int64_t> ttl) {
    Update([&] {
      --inflight_;
      if (!ttl.ok()) return Fail(ToGrpcStatus(ttl.status()));
      LeaseKeepAliveResponse resp;
      resp.set_id(id);
      resp.set_ttl(*ttl);
      svc_->deps()->Stamp(resp.mutable_header());
      queue_.push_back(std::move(resp));
    });
  }

  void Fail(grpc::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!failed_) status_ = std::move(s);
    failed_ = true;
    queue_.clear();
  }

  // Runs `fn` under the lock, then starts the next write or finishes the
  // stream (outside the lock: gRPC may run reactions inline).
  template <typename Fn>
  void Update(Fn fn) {
    bool write = false, finish = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      fn();
      if (finished_) return;
      if (!writing_ && !failed_ && !queue_.empty()) {
        writing_ = true;
        out_ = std::move(queue_.front());
        queue_.pop_front();
        write = true;
      } else if (!writing_ && inflight_ == 0 && (failed_ || (reads_done_ && queue_.empty()))) {
        finished_ = true;
        finish = true;
        status = status_;
      }
    }
    if (write) StartWrite(&out_);
    if (finish) Finish(status);
  }

  LeaseService* svc_;
  LeaseKeepAliveRequest req_;   // owned by the outstanding read
  LeaseKeepAliveResponse out_;  // owned by the outstanding write
  absl::Mutex mu_;
  std::deque<LeaseKeepAliveResponse> queue_ ABSL_GUARDED_BY(mu_);
  int inflight_ ABSL_GUARDED_BY(mu_) = 0;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  // Answers queued or being renewed past which requests are not read.
  static constexpr size_t kMaxPending = 1024;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

LeaseService::LeaseService(const ServiceDeps* deps, mvcc::Lessor* lessor)
    : deps_(deps), lessor_(lessor), pool_(std::make_unique<util::ThreadPool>(kForwardThreads, "lease-fwd")) {
  // etcd's idutil.Generator: low 16 bits of the member id, then 40 bits of
  // milliseconds and an 8-bit counter, so ids of different members and of
  // successive starts do not collide.
  const auto ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  next_id_suffix_ = (ms & ((uint64_t{1} << 40) - 1)) << 8;
}

LeaseService::~LeaseService() { Stop(); }

void LeaseService::Start() {
  expiry_thread_ = std::thread([this] { ExpiryLoop(); });
}

void LeaseService::Stop() {
  stopped_ = true;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (expiry_thread_.joinable()) expiry_thread_.join();
  forwarder_.Shutdown();  // pending forwards fail; their retries see stopped_
  std::unique_ptr<util::ThreadPool> pool;
  {
    absl::MutexLock lock(&pool_mu_);
    pool = std::move(pool_);
  }
  pool.reset();  // runs queued work (each bounded by its deadline)
}

bool LeaseService::Schedule(absl::AnyInvocable<void() &&> fn) {
  absl::MutexLock lock(&pool_mu_);
  if (pool_ == nullptr) return false;
  pool_->Schedule(std::move(fn));
  return true;
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

void LeaseService::LocalTimeToLive(const etcdserverpb::LeaseTimeToLiveRequest& req,
                                   etcdserverpb::LeaseTimeToLiveResponse* resp) const {
  resp->set_id(req.id());
  auto info = lessor_->Get(req.id(), req.keys());
  if (!info) {
    resp->set_ttl(-1);  // etcd answers an unknown lease with TTL -1, not an error
    return;
  }
  // etcd: int64(Remaining().Seconds()), i.e. truncated toward zero.
  const auto remaining = info->remaining.value_or(std::chrono::seconds(info->ttl));
  resp->set_ttl(std::chrono::duration_cast<std::chrono::seconds>(remaining).count());
  resp->set_grantedttl(info->ttl);
  for (auto& k : info->keys) resp->add_keys(std::move(k));
}

grpc::ServerUnaryReactor* LeaseService::LeaseTimeToLive(
    grpc::CallbackServerContext* ctx, const etcdserverpb::LeaseTimeToLiveRequest* req,
    etcdserverpb::LeaseTimeToLiveResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  const auto deadline = Clock::now() + kForwardTimeout;
  auto forward = [this, reactor, req, resp, deadline]() {
    const bool scheduled = !stopped_.load() && Schedule([this, reactor, req, resp, deadline] {
      auto r = ForwardTimeToLive(*req, deadline);
      if (!r.ok()) return reactor->Finish(ToGrpcStatus(r.status()));
      *resp = std::move(*r);
      resp->clear_header();
      deps_->Stamp(resp->mutable_header());
      reactor->Finish(grpc::Status::OK);
    });
    if (!scheduled) reactor->Finish(ToGrpcStatus(ErrStopped()));
  };
  if (!lessor_->IsPrimary()) {
    forward();
    return reactor;
  }
  // The leader: answer once everything committed is applied here.
  deps_->proposer->ReadBarrier([this, reactor, req, resp, forward](absl::Status s) {
    if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
    if (!lessor_->IsPrimary()) return forward();
    LocalTimeToLive(*req, resp);
    deps_->Stamp(resp->mutable_header());
    reactor->Finish(grpc::Status::OK);
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

grpc::ServerBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext* ctx) {
  if (deps_->member != nullptr && deps_->member->IsLearner()) {
    return new KeepAliveReactor(
        this, grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: rpc not supported for learner"));
  }
  return new KeepAliveReactor(this);
}

void LeaseService::KeepAliveOnce(int64_t id, TtlDone done) {
  RenewOrForward(id, Clock::now() + kForwardTimeout, std::move(done));
}

void LeaseService::RenewOrForward(int64_t id, Clock::time_point deadline, TtlDone done) {
  auto r = lessor_->Renew(id);
  if (r.ok()) return std::move(done)(*r);
  if (absl::IsNotFound(r.status())) {
    // The grant may be committed but not applied here yet: a client granted
    // by a follower that applied first, renewing at once, would be told its
    // new lease is gone. As etcd's leader does (waitAppliedIndex), apply
    // everything known committed before answering "not found". A local
    // wait: a leader without quorum still answers an unknown lease at once.
    deps_->proposer->WaitApplied(
        [this, id, deadline, done = std::move(done)](absl::Status s) mutable {
          if (!s.ok()) return std::move(done)(s);
          auto again = lessor_->Renew(id);
          if (again.ok()) return std::move(done)(*again);
          if (absl::IsNotFound(again.status())) return std::move(done)(0);
          // Leadership moved meanwhile: the new leader's lessor answers.
          if (mvcc::IsNotPrimary(again.status())) return Forward(id, deadline, std::move(done));
          std::move(done)(again.status());
        });
    return;
  }
  Forward(id, deadline, std::move(done));
}

void LeaseService::Forward(int64_t id, Clock::time_point deadline, TtlDone done) {
  if (stopped_.load()) return std::move(done)(ErrStopped());
  std::string target;
  auto stub = LeaderStub(&target);
  if (stub == nullptr) return RetryLater(id, deadline, std::move(done), ErrTimeout());
  forwarder_.Send(target, std::move(stub), id, deadline,
                  [this, id, deadline, done = std::move(done)](absl::StatusOr<int64_t> ttl) mutable {
                    if (ttl.ok()) return std::move(done)(*ttl);
                    RetryLater(id, deadline, std::move(done), ttl.status());
                  });
}

void LeaseService::RetryLater(int64_t id, Clock::time_point deadline, TtlDone done,
                              absl::Status last) {
  if (stopped_.load() || Clock::now() + kRetryPause >= deadline) {
    return std::move(done)(stopped_.load() ? ErrStopped() : last);
  }
  // The task owns `done` until it runs; if the pool is gone it is answered here.
  auto task = std::make_shared<TtlDone>(std::move(done));
  const bool scheduled = Schedule([this, id, deadline, task]() mutable {
    std::this_thread::sleep_for(kRetryPause);
    RenewOrForward(id, deadline, std::move(*task));
  });
  if (!scheduled) std::move(*task)(ErrStopped());
}

absl::StatusOr<etcdserverpb::LeaseTimeToLiveResponse> LeaseService::ForwardTimeToLive(
    const etcdserverpb::LeaseTimeToLiveRequest& req, Clock::time_point deadline) {
  absl::Status last = ErrTimeout();
  for (;;) {
    if (lessor_->IsPrimary()) {
      etcdserverpb::LeaseTimeToLiveResponse resp;
      LocalTimeToLive(req, &resp);
      return resp;
    }
    if (auto stub = LeaderStub()) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + (deadline - Clock::now()));
      etcdserverpb::LeaseTimeToLiveResponse resp;
      grpc::Status st = stub->LeaseTimeToLive(&ctx, req, &resp);
      if (st.ok()) return resp;
      last = absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
    }
    if (Clock::now() + kRetryPause >= deadline) return last;
    std::this_thread::sleep_for(kRetryPause);
  }
}

std::shared_ptr<etcdserverpb::Lease::Stub> LeaseService::LeaderStub(std::string* target_out) {
  const uint64_t leader = deps_->proposer->LeaderId();
  if (leader == 0 || leader == deps_->self_id) return nullptr;
  auto m = deps_->membership->Get(leader);
  if (!m || m->client_urls.empty()) return nullptr;
  auto url = ParseUrl(m->client_urls.front());
  if (!url.ok()) return nullptr;
  const std::string target = (url->tls() ? "tls:" : "") + url->HostPort();
  if (target_out != nullptr) *target_out = target;
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
