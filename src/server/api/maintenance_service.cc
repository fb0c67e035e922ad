#include "server/api/maintenance_service.h"

#include "server/errors.h"

namespace quorum::server {

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
  resp->set_islearner(deps_->self.is_learner);
  deps_->Stamp(resp->mutable_header());
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(grpc::CallbackServerContext* ctx,
                                                         const etcdserverpb::DefragmentRequest*,
                                                         etcdserverpb::DefragmentResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  auto s = deps_->backend->CompactAll();
  deps_->Stamp(resp->mutable_header());
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* ctx,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* resp) {
  for (const auto& m : deps_->members) m.ToProto(resp->add_members());
  deps_->Stamp(resp->mutable_header(), /*with_revision=*/false);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace quorum::server

namespace quorum::server {

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* ctx,
                                                     const etcdserverpb::HashKVRequest* req,
                                                     etcdserverpb::HashKVResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  int64_t hashed = 0;
  auto h = deps_->store->HashKv(req->revision(), &hashed);
  if (!h.ok()) {
    reactor->Finish(ToGrpcStatus(h.status()));
    return reactor;
  }
  resp->set_hash(*h);
  resp->set_compact_revision(deps_->store->CompactRev());
  resp->set_hash_revision(hashed);
  deps_->Stamp(resp->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace quorum::server
