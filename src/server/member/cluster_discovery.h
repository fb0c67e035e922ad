// Cluster discovery on the peer listener: ClusterInfoService answers which
// cluster this member belongs to; FetchClusterInfo asks the peers of a joining
// member until one answers (bounded by `timeout`).
#ifndef QUORUM_SERVER_MEMBER_CLUSTER_DISCOVERY_H_
#define QUORUM_SERVER_MEMBER_CLUSTER_DISCOVERY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "internal/cluster_info.grpc.pb.h"
#include "server/member/membership.h"

namespace quorum::server {

class ClusterInfoService final : public peerpb::ClusterInfo::CallbackService {
 public:
  ClusterInfoService(const Membership* membership, uint64_t self_id)
      : membership_(membership), self_id_(self_id) {}
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const peerpb::ClusterInfoRequest* req,
                                peerpb::ClusterInfoResponse* resp) override;

 private:
  const Membership* membership_;
  uint64_t self_id_;
};

absl::StatusOr<peerpb::ClusterInfoResponse> FetchClusterInfo(
    const std::vector<std::string>& peer_urls, std::shared_ptr<grpc::ChannelCredentials> creds,
    std::chrono::milliseconds timeout, uint64_t asker_id = 0);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_CLUSTER_DISCOVERY_H_
