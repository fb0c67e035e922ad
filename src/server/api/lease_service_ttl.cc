// LeaseService's LeaseTimeToLive: only the leader tracks the remaining TTL,
// so the leader answers from its lessor (after a ReadIndex barrier) and a
// follower asks the leader with an async unary call, retrying on the
// service's timer while there is no leader, until the request deadline. No
// thread waits for the leader's answer. See lease_service.h.
#include <chrono>

#include "server/api/lease_service.h"
#include "server/errors.h"

namespace quorum::server {

// One LeaseTimeToLive being answered; shared by the attempts and retries
// that may answer it, exactly one of which finishes the reactor.
struct LeaseService::TimeToLiveCall {
  grpc::ServerUnaryReactor* reactor;
  const etcdserverpb::LeaseTimeToLiveRequest* req;  // gRPC's, alive until Finish
  etcdserverpb::LeaseTimeToLiveResponse* resp;      // likewise
  Clock::time_point deadline;
  // The answer at the deadline: ErrTimeout, or ErrNoLeader when none was
  // known at the last attempt (etcd's LeaseTimeToLive).
  absl::Status last = ErrTimeout();

  void Finish(const ServiceDeps* deps, const absl::Status& s) {
    if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
    deps->Stamp(resp->mutable_header());
    reactor->Finish(grpc::Status::OK);
  }
};

namespace {

// One attempt at the leader: the call's context and the leader's answer,
// owned by the completion callback.
struct Attempt {
  std::shared_ptr<grpc::ClientContext> ctx = std::make_shared<grpc::ClientContext>();
  etcdserverpb::LeaseTimeToLiveResponse resp;
};

}  // namespace

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
  auto call = std::make_shared<TimeToLiveCall>(
      TimeToLiveCall{reactor, req, resp, Clock::now() + opts_.forward_timeout});
  if (!lessor_->IsPrimary()) {
    ForwardTimeToLive(std::move(call));
    return reactor;
  }
  // The leader: answer once everything committed is applied here.
  deps_->proposer->ReadBarrier([this, call](absl::Status s) {
    if (!s.ok()) return call->Finish(deps_, s);
    if (lessor_->IsPrimary()) {
      LocalTimeToLive(*call->req, call->resp);
      return call->Finish(deps_, absl::OkStatus());
    }
    // Leadership moved: ask the new leader, off this raft / apply thread.
    if (!After(Clock::duration::zero(), [this, call] { ForwardTimeToLive(call); })) {
      call->Finish(deps_, ErrStopped());
    }
  });
  return reactor;
}

void LeaseService::ForwardTimeToLive(std::shared_ptr<TimeToLiveCall> call) {
  if (stopped_.load()) return call->Finish(deps_, ErrStopped());
  if (lessor_->IsPrimary()) {
    LocalTimeToLive(*call->req, call->resp);
    return call->Finish(deps_, absl::OkStatus());
  }
  Targets targets = LeaderTargets();
  if (targets == nullptr) {
    call->last = ErrNoLeader();  // etcd's waitLeader at the deadline
    return RetryTimeToLive(std::move(call));
  }
  AskLeaderTimeToLive(std::move(call), std::move(targets), 0);
}

void LeaseService::AskLeaderTimeToLive(std::shared_ptr<TimeToLiveCall> call, Targets targets,
                                       size_t i) {
  auto attempt = std::make_shared<Attempt>();
  attempt->ctx->set_deadline(std::chrono::system_clock::now() + (call->deadline - Clock::now()));
  if (!RegisterCall(attempt->ctx)) return call->Finish(deps_, ErrStopped());
  const LeaderTarget& t = (*targets)[i];
  t.stub->async()->LeaseTimeToLive(
      attempt->ctx.get(), call->req, &attempt->resp,
      [this, call, attempt, targets, i](grpc::Status st) {
        if (st.ok()) {
          NoteAnswered((*targets)[i].name);
          *call->resp = std::move(attempt->resp);
          call->resp->clear_header();  // this member answers: its own header
          call->Finish(deps_, absl::OkStatus());
        } else {
          // etcd answers ErrTimeout at the deadline, not the last error.
          call->last = ErrTimeout();
          // The leader may be reachable over another URL it advertises;
          // after the last one, pause. A new leader: its URLs instead.
          if (LeaderMoved(targets)) {
            ForwardTimeToLive(call);  // the new leader's URLs
          } else if (i + 1 < targets->size()) {
            AskLeaderTimeToLive(call, targets, i + 1);
          } else {
            RetryTimeToLive(call);
          }
        }
        UnregisterCall(attempt->ctx.get());  // last use of `this`
      });
}

void LeaseService::RetryTimeToLive(std::shared_ptr<TimeToLiveCall> call) {
  if (stopped_.load()) return call->Finish(deps_, ErrStopped());
  if (Clock::now() + opts_.retry_pause >= call->deadline) return call->Finish(deps_, call->last);
  if (!After(opts_.retry_pause, [this, call] { ForwardTimeToLive(call); })) {
    call->Finish(deps_, ErrStopped());
  }
}

}  // namespace quorum::server
