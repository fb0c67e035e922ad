// etcdserverpb.Cluster: MemberList, MemberAdd (voter or learner),
// MemberRemove, MemberUpdate and MemberPromote, with etcd's checks and
// errors. Changes go through raft (ConfChange entries, or a normal entry for
// peer URL updates) and are answered once applied on this member.
#ifndef QUORUM_SERVER_API_CLUSTER_SERVICE_H_
#define QUORUM_SERVER_API_CLUSTER_SERVICE_H_

#include <atomic>
#include <chrono>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_deps.h"

namespace quorum::server {

class ClusterService final : public etcdserverpb::Cluster::CallbackService {
 public:
  explicit ClusterService(const ServiceDeps* deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* MemberList(grpc::CallbackServerContext* ctx,
                                       const etcdserverpb::MemberListRequest* req,
                                       etcdserverpb::MemberListResponse* resp) override;
  grpc::ServerUnaryReactor* MemberAdd(grpc::CallbackServerContext* ctx,
                                      const etcdserverpb::MemberAddRequest* req,
                                      etcdserverpb::MemberAddResponse* resp) override;
  grpc::ServerUnaryReactor* MemberRemove(grpc::CallbackServerContext* ctx,
                                         const etcdserverpb::MemberRemoveRequest* req,
                                         etcdserverpb::MemberRemoveResponse* resp) override;
  grpc::ServerUnaryReactor* MemberUpdate(grpc::CallbackServerContext* ctx,
                                         const etcdserverpb::MemberUpdateRequest* req,
                                         etcdserverpb::MemberUpdateResponse* resp) override;
  grpc::ServerUnaryReactor* MemberPromote(grpc::CallbackServerContext* ctx,
                                          const etcdserverpb::MemberPromoteRequest* req,
                                          etcdserverpb::MemberPromoteResponse* resp) override;

 private:
  // Proposes a ConfChange; `on_applied` fills the response after apply.
  void ProposeChange(grpc::ServerUnaryReactor* reactor, raftpb::ConfChangeType type,
                     const etcdserverpb::Member& member,
                     absl::AnyInvocable<void() &&> on_applied);
  template <typename Resp>
  void FillMembers(Resp* resp) const;

  const ServiceDeps* deps_;
  // From the clock, so ids never repeat across restarts: a change of an
  // earlier run committed late must not answer a new caller.
  std::atomic<uint64_t> next_request_id_{
      static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) << 4};
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_CLUSTER_SERVICE_H_
