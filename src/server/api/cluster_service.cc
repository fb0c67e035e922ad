#include "server/api/cluster_service.h"

#include <algorithm>
#include <chrono>

#include "server/errors.h"
#include "server/member/reconfig_check.h"
#include "server/url.h"
#include "util/member_id.h"

namespace quorum::server {
namespace {

grpc::Status Error(grpc::StatusCode code, const char* msg) { return grpc::Status(code, msg); }

}  // namespace

template <typename Resp>
void ClusterService::FillMembers(Resp* resp) const {
  for (const auto& m : deps_->membership->List()) m.ToProto(resp->add_members());
  deps_->Stamp(resp->mutable_header(), /*with_revision=*/false);
}

void ClusterService::ProposeChange(grpc::ServerUnaryReactor* reactor, raftpb::ConfChangeType type,
                                   const etcdserverpb::Member& member,
                                   absl::AnyInvocable<void() &&> on_applied) {
  internalpb::ConfChangeContext ctx;
  ctx.set_request_id(next_request_id_.fetch_add(1));
  ctx.set_proposer_id(deps_->self_id);
  *ctx.mutable_member() = member;
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(member.id());
  cc.set_context(ctx.SerializeAsString());
  deps_->member->ProposeConfChange(
      std::move(cc), [reactor, on_applied = std::move(on_applied)](absl::Status s) mutable {
        if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
        std::move(on_applied)();
        reactor->Finish(grpc::Status::OK);
      });
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* ctx,
                                                     const etcdserverpb::MemberListRequest* req,
                                                     etcdserverpb::MemberListResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (!req->linearizable()) {
    FillMembers(resp);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // etcd 3.5 (clientv3 3.5 asks by default): every change committed before
  // the call is in the list, even on a follower that lags.
  deps_->proposer->ReadBarrier([this, reactor, resp](absl::Status s) {
    if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
    FillMembers(resp);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* ctx,
                                                    const etcdserverpb::MemberAddRequest* req,
                                                    etcdserverpb::MemberAddResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  std::vector<std::string> urls(req->peerurls().begin(), req->peerurls().end());
  if (urls.empty()) {
    reactor->Finish(Error(grpc::StatusCode::INVALID_ARGUMENT,
                          "etcdserver: given member URLs are invalid"));
    return reactor;
  }
  for (const auto& u : urls) {
    if (!ParseUrl(u).ok()) {
      reactor->Finish(Error(grpc::StatusCode::INVALID_ARGUMENT,
                            "etcdserver: given member URLs are invalid"));
      return reactor;
    }
  }
  // Stored sorted, as etcd's types.NewURLs sorts them.
  std::sort(urls.begin(), urls.end());
  // A runtime-added member's id mixes in the time, as etcd's does.
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  const uint64_t id = util::ComputeMemberId(urls, deps_->config->initial_cluster_token,
                                            std::to_string(now));
  etcdserverpb::Member m;
  m.set_id(id);
  for (const auto& u : urls) m.add_peerurls(u);
  m.set_islearner(req->islearner());
  // Checked again by the leader and where it is applied.
  if (absl::Status st = ValidateNewMember(deps_->membership->List(), m); !st.ok()) {
    reactor->Finish(ToGrpcStatus(st));
    return reactor;
  }
  ProposeChange(reactor,
                req->islearner() ? raftpb::ConfChangeAddLearnerNode : raftpb::ConfChangeAddNode, m,
                [this, resp, m] {
                  *resp->mutable_member() = m;
                  FillMembers(resp);
                });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(grpc::CallbackServerContext* ctx,
                                                       const etcdserverpb::MemberRemoveRequest* req,
                                                       etcdserverpb::MemberRemoveResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (!deps_->membership->Get(req->id())) {
    reactor->Finish(Error(grpc::StatusCode::NOT_FOUND, "etcdserver: member not found"));
    return reactor;
  }
  etcdserverpb::Member m;
  m.set_id(req->id());
  ProposeChange(reactor, raftpb::ConfChangeRemoveNode, m, [this, resp] { FillMembers(resp); });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(grpc::CallbackServerContext* ctx,
                                                       const etcdserverpb::MemberUpdateRequest* req,
                                                       etcdserverpb::MemberUpdateResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (!deps_->membership->Get(req->id())) {
    reactor->Finish(Error(grpc::StatusCode::NOT_FOUND, "etcdserver: member not found"));
    return reactor;
  }
  for (const auto& u : req->peerurls()) {
    if (!ParseUrl(u).ok()) {
      reactor->Finish(Error(grpc::StatusCode::INVALID_ARGUMENT,
                            "etcdserver: given member URLs are invalid"));
      return reactor;
    }
  }
  if (absl::Status st = ValidatePeerUrlUpdate(
          deps_->membership->List(), req->id(),
          std::vector<std::string>(req->peerurls().begin(), req->peerurls().end()));
      !st.ok()) {
    reactor->Finish(ToGrpcStatus(st));
    return reactor;
  }
  // A raft conf change, as etcd's ConfChangeUpdateNode: one change in flight
  // at a time and the leader's check against its applied list, so two
  // updates through different members cannot both take one URL.
  etcdserverpb::Member m;
  m.set_id(req->id());
  m.mutable_peerurls()->CopyFrom(req->peerurls());
  std::sort(m.mutable_peerurls()->begin(), m.mutable_peerurls()->end());
  ProposeChange(reactor, raftpb::ConfChangeUpdateNode, m, [this, resp] { FillMembers(resp); });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(
    grpc::CallbackServerContext* ctx, const etcdserverpb::MemberPromoteRequest* req,
    etcdserverpb::MemberPromoteResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  auto m = deps_->membership->Get(req->id());
  if (!m) {
    reactor->Finish(Error(grpc::StatusCode::NOT_FOUND, "etcdserver: member not found"));
    return reactor;
  }
  if (!m->is_learner) {
    reactor->Finish(Error(grpc::StatusCode::FAILED_PRECONDITION,
                          "etcdserver: can only promote a learner member"));
    return reactor;
  }
  etcdserverpb::Member pm;
  m->ToProto(&pm);
  pm.set_islearner(false);
  deps_->member->CheckLearnerReady(pm.id(), [this, reactor, resp, pm](absl::Status ready) mutable {
    if (!ready.ok()) return reactor->Finish(ToGrpcStatus(ready));
    ProposeChange(reactor, raftpb::ConfChangeAddNode, pm, [this, resp] { FillMembers(resp); });
  });
  return reactor;
}

}  // namespace quorum::server
