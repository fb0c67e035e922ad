#include "server/member/cluster_discovery.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "server/url.h"

namespace quorum::server {

grpc::ServerUnaryReactor* ClusterInfoService::Get(grpc::CallbackServerContext* ctx,
                                                  const peerpb::ClusterInfoRequest* req,
                                                  peerpb::ClusterInfoResponse* resp) {
  resp->set_asker_removed(req->member_id() != 0 && membership_->IsRemoved(req->member_id()));
  resp->set_cluster_id(membership_->cluster_id());
  resp->set_member_id(self_id_);
  for (const auto& m : membership_->List()) {
    auto* cm = resp->add_members();
    cm->set_id(m.id);
    cm->set_name(m.name);
    for (const auto& u : m.peer_urls) cm->add_peer_urls(u);
    for (const auto& u : m.client_urls) cm->add_client_urls(u);
    cm->set_is_learner(m.is_learner);
  }
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<peerpb::ClusterInfoResponse> FetchClusterInfo(
    const std::vector<std::string>& peer_urls, std::shared_ptr<grpc::ChannelCredentials> creds,
    std::chrono::milliseconds timeout, uint64_t asker_id) {
  if (!creds) creds = grpc::InsecureChannelCredentials();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& u : peer_urls) {
      auto url = ParseUrl(u);
      if (!url.ok()) continue;
      auto stub = peerpb::ClusterInfo::NewStub(grpc::CreateChannel(url->HostPort(), creds));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      peerpb::ClusterInfoResponse resp;
      peerpb::ClusterInfoRequest req;
      req.set_member_id(asker_id);
      auto st = stub->Get(&ctx, req, &resp);
      if (st.ok() && resp.cluster_id() != 0) return resp;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::UnavailableError(
      "cannot fetch cluster info from peer urls: no existing member answered");
}

}  // namespace quorum::server
