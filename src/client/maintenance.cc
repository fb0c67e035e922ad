#include "client/maintenance.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {
namespace {
using Channel = std::shared_ptr<grpc::Channel>;
using Stub = etcdserverpb::Maintenance;
}  // namespace

absl::StatusOr<size_t> MaintenanceClient::Index(const std::string& endpoint) const {
  int i = client_.EndpointIndex(endpoint);
  if (i < 0) return absl::InvalidArgumentError(absl::StrCat("unknown endpoint ", endpoint));
  return static_cast<size_t>(i);
}

absl::StatusOr<etcdserverpb::StatusResponse> MaintenanceClient::Status(
    const std::string& endpoint) {
  absl::StatusOr<size_t> i = Index(endpoint);
  if (!i.ok()) return i.status();
  etcdserverpb::StatusRequest req;
  return client_.InvokeOn<etcdserverpb::StatusResponse>(
      *i, [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::StatusResponse* resp) {
        return Stub::NewStub(ch)->Status(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::HashKVResponse> MaintenanceClient::HashKV(const std::string& endpoint,
                                                                       int64_t revision) {
  absl::StatusOr<size_t> i = Index(endpoint);
  if (!i.ok()) return i.status();
  etcdserverpb::HashKVRequest req;
  req.set_revision(revision);
  return client_.InvokeOn<etcdserverpb::HashKVResponse>(
      *i, [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::HashKVResponse* resp) {
        return Stub::NewStub(ch)->HashKV(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::DefragmentResponse> MaintenanceClient::Defragment(
    const std::string& endpoint) {
  absl::StatusOr<size_t> i = Index(endpoint);
  if (!i.ok()) return i.status();
  etcdserverpb::DefragmentRequest req;
  return client_.InvokeOn<etcdserverpb::DefragmentResponse>(
      *i, [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::DefragmentResponse* resp) {
        return Stub::NewStub(ch)->Defragment(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::MoveLeaderResponse> MaintenanceClient::MoveLeader(uint64_t target_id) {
  etcdserverpb::MoveLeaderRequest req;
  req.set_targetid(target_id);
  return client_.Invoke<etcdserverpb::MoveLeaderResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::MoveLeaderResponse* resp) {
        return Stub::NewStub(ch)->MoveLeader(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::AlarmResponse> MaintenanceClient::AlarmList() {
  etcdserverpb::AlarmRequest req;
  req.set_action(etcdserverpb::AlarmRequest::GET);
  return client_.Invoke<etcdserverpb::AlarmResponse>(
      Idempotency::kIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::AlarmResponse* resp) {
        return Stub::NewStub(ch)->Alarm(ctx, req, resp);
      });
}

}  // namespace quorum::client
