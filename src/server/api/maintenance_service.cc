#include "server/api/maintenance_service.h"

#include <algorithm>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/errors.h"

namespace quorum::server {
namespace {

constexpr absl::Duration kDefragWaitForCompaction = absl::Minutes(2);

}  // namespace

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* ctx,
                                                     const etcdserverpb::StatusRequest*,
                                                     etcdserverpb::StatusResponse* resp) {
  resp->set_version(kApiVersion);
  resp->set_dbsize(deps_->backend->SizeOnDisk());
  resp->set_dbsizeinuse(deps_->backend->LiveDataSize());
  resp->set_leader(deps_->proposer->LeaderId());
  resp->set_raftindex(deps_->proposer->CommittedIndex());
  resp->set_raftterm(deps_->proposer->Term());
  resp->set_raftappliedindex(deps_->proposer->AppliedIndex());
  resp->set_islearner(deps_->member->IsLearner());
  // etcd lists "no leader" and every active alarm (AlarmMember's text form,
  // which `endpoint status` shows in its ERRORS column).
  if (resp->leader() == 0) resp->add_errors("etcdserver: no leader");
  if (deps_->alarms != nullptr) {
    for (const auto& a : deps_->alarms->Get(etcdserverpb::NONE)) {
      resp->add_errors("memberID:" + std::to_string(a.memberid()) +
                       " alarm:" + etcdserverpb::AlarmType_Name(a.alarm()) + " ");
    }
  }
  deps_->Stamp(resp->mutable_header());
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(grpc::CallbackServerContext* ctx,
                                                         const etcdserverpb::DefragmentRequest*,
                                                         etcdserverpb::DefragmentResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  // The records a compaction left behind are dropped in the background
  // (mvcc/compactor.h). Defragmenting before they are gone would not reclaim
  // their space, and etcd's NOSPACE recovery is compact, defrag, disarm: wait
  // for them first (bounded, should a drop have failed).
  auto dropped = std::make_shared<absl::Notification>();
  deps_->store->WhenCompacted(deps_->store->CompactRev(),
                              [dropped](const absl::Status&) { dropped->Notify(); });
  // Bounded by half the time the caller gave (etcdctl's command timeout),
  // so that the defragmentation still answers within it.
  const absl::Time now = absl::Now();
  const absl::Time until = std::min(now + kDefragWaitForCompaction,
                                    now + (absl::FromChrono(ctx->deadline()) - now) / 2);
  dropped->WaitForNotificationWithDeadline(until);
  auto s = deps_->backend->CompactAll();
  deps_->Stamp(resp->mutable_header());
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace quorum::server

namespace quorum::server {

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* ctx,
                                                     const etcdserverpb::HashKVRequest* req,
                                                     etcdserverpb::HashKVResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  int64_t hashed = 0;  // hash_revision is a 3.6 field: not sent, as etcd 3.5 does not
  int64_t compact = 0;
  auto h = deps_->store->HashKv(req->revision(), &hashed, &compact);
  if (!h.ok()) {
    reactor->Finish(ToGrpcStatus(h.status()));
    return reactor;
  }
  resp->set_hash(*h);
  resp->set_compact_revision(compact);
  deps_->Stamp(resp->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace quorum::server

namespace quorum::server {

grpc::ServerUnaryReactor* MaintenanceService::MoveLeader(grpc::CallbackServerContext* ctx,
                                                         const etcdserverpb::MoveLeaderRequest* req,
                                                         etcdserverpb::MoveLeaderResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (deps_->proposer->LeaderId() != deps_->self_id) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "etcdserver: not leader"));
    return reactor;
  }
  auto target = deps_->membership->Get(req->targetid());
  if (!target || target->is_learner) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "etcdserver: bad leader transferee"));
    return reactor;
  }
  const ServiceDeps* deps = deps_;
  deps_->member->MoveLeader(req->targetid(), [deps, reactor, resp](absl::Status s) {
    if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
    deps->Stamp(resp->mutable_header());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace quorum::server
