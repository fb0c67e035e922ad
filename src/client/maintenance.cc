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

absl::StatusOr<etcdserverpb::AlarmResponse> MaintenanceClient::AlarmDisarm(
    const etcdserverpb::AlarmMember& am) {
  if (am.memberid() == 0 && am.alarm() == etcdserverpb::NONE) {
    auto list = AlarmList();
    if (!list.ok()) return list.status();
    etcdserverpb::AlarmResponse all;
    for (const auto& a : list->alarms()) {
      auto one = AlarmDisarm(a);
      if (!one.ok()) return one.status();
      for (const auto& d : one->alarms()) *all.add_alarms() = d;
    }
    return all;
  }
  etcdserverpb::AlarmRequest req;
  req.set_action(etcdserverpb::AlarmRequest::DEACTIVATE);
  req.set_memberid(am.memberid());
  req.set_alarm(am.alarm());
  return client_.Invoke<etcdserverpb::AlarmResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::AlarmResponse* resp) {
        return Stub::NewStub(ch)->Alarm(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::HashResponse> MaintenanceClient::Hash(const std::string& endpoint) {
  absl::StatusOr<size_t> i = Index(endpoint);
  if (!i.ok()) return i.status();
  etcdserverpb::HashRequest req;
  return client_.InvokeOn<etcdserverpb::HashResponse>(
      *i, [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::HashResponse* resp) {
        return Stub::NewStub(ch)->Hash(ctx, req, resp);
      });
}

absl::Status MaintenanceClient::Snapshot(
    const std::string& endpoint,
    const std::function<absl::Status(const etcdserverpb::SnapshotResponse&)>& on_message) {
  absl::StatusOr<size_t> i = Index(endpoint);
  if (!i.ok()) return i.status();
  bool started = false;
  absl::Status consumer_error;
  auto r = client_.InvokeOn<etcdserverpb::SnapshotResponse>(
      *i, [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::SnapshotResponse* msg) {
        // A stream that delivered data is never restarted: the consumer
        // would get the data twice.
        if (started) return grpc::Status(grpc::StatusCode::ABORTED, "snapshot stream restarted");
        etcdserverpb::SnapshotRequest req;
        auto reader = Stub::NewStub(ch)->Snapshot(ctx, req);
        while (reader->Read(msg)) {
          started = true;
          consumer_error = on_message(*msg);
          if (!consumer_error.ok()) {
            ctx->TryCancel();
            break;
          }
        }
        return reader->Finish();
      });
  if (!consumer_error.ok()) return consumer_error;
  return r.status();
}

}  // namespace quorum::client
