#include "client/cluster.h"

#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {
namespace {
using Channel = std::shared_ptr<grpc::Channel>;
using Stub = etcdserverpb::Cluster;
}  // namespace

absl::StatusOr<etcdserverpb::MemberListResponse> ClusterClient::MemberList(bool linearizable) {
  etcdserverpb::MemberListRequest req;
  req.set_linearizable(linearizable);
  return client_.Invoke<etcdserverpb::MemberListResponse>(
      Idempotency::kIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::MemberListResponse* resp) {
        return Stub::NewStub(ch)->MemberList(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::MemberAddResponse> ClusterClient::MemberAdd(
    const std::vector<std::string>& peer_urls, bool is_learner) {
  etcdserverpb::MemberAddRequest req;
  for (const std::string& u : peer_urls) req.add_peerurls(u);
  req.set_islearner(is_learner);
  return client_.Invoke<etcdserverpb::MemberAddResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::MemberAddResponse* resp) {
        return Stub::NewStub(ch)->MemberAdd(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::MemberRemoveResponse> ClusterClient::MemberRemove(uint64_t id) {
  etcdserverpb::MemberRemoveRequest req;
  req.set_id(id);
  return client_.Invoke<etcdserverpb::MemberRemoveResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::MemberRemoveResponse* resp) {
        return Stub::NewStub(ch)->MemberRemove(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::MemberUpdateResponse> ClusterClient::MemberUpdate(
    uint64_t id, const std::vector<std::string>& peer_urls) {
  etcdserverpb::MemberUpdateRequest req;
  req.set_id(id);
  for (const std::string& u : peer_urls) req.add_peerurls(u);
  return client_.Invoke<etcdserverpb::MemberUpdateResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::MemberUpdateResponse* resp) {
        return Stub::NewStub(ch)->MemberUpdate(ctx, req, resp);
      });
}

absl::StatusOr<etcdserverpb::MemberPromoteResponse> ClusterClient::MemberPromote(uint64_t id) {
  etcdserverpb::MemberPromoteRequest req;
  req.set_id(id);
  return client_.Invoke<etcdserverpb::MemberPromoteResponse>(
      Idempotency::kNonIdempotent,
      [&](const Channel& ch, grpc::ClientContext* ctx, etcdserverpb::MemberPromoteResponse* resp) {
        return Stub::NewStub(ch)->MemberPromote(ctx, req, resp);
      });
}

}  // namespace quorum::client
