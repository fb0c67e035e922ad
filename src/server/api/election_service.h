// ElectionService: etcd's v3electionpb.Election service on the Election
// recipe, as etcd's v3election server does with clientv3/concurrency.
//
//  - Campaign(name, lease, value): blocks (on a RecipeRuntime worker) until
//    the candidate leads; answers the LeaderKey {name, key, rev, lease}.
//  - Proclaim(leader, value) / Resign(leader): act on the LeaderKey while
//    its create revision still matches. Proclaim by a non-leader fails with
//    Unknown "election: not leader" (v3election's ErrElectionNotLeader);
//    Resign of a lost leadership succeeds without effect, as in etcd.
//  - Leader(name): the first-created key; Unknown "election: no leader".
//  - Observe(name): a server stream of leader changes (LeaderObserver) until
//    the client cancels or the server stops; writes are queued in an
//    ObserveReactor (at most kMaxQueued unsent responses, then the stream
//    ends with ResourceExhausted).
//
// Thread-safety: gRPC calls handlers concurrently; the runtime is shared.
#ifndef QUORUM_SERVER_API_ELECTION_SERVICE_H_
#define QUORUM_SERVER_API_ELECTION_SERVICE_H_

#include "server/api/recipe_runtime.h"
#include "v3electionpb/v3election.grpc.pb.h"

namespace quorum::server {

class ElectionService final : public v3electionpb::Election::CallbackService {
 public:
  static constexpr size_t kMaxQueued = 1024;

  // `runtime` is not owned and must outlive the service.
  explicit ElectionService(RecipeRuntime* runtime) : runtime_(runtime) {}

  grpc::ServerUnaryReactor* Campaign(grpc::CallbackServerContext* ctx,
                                     const v3electionpb::CampaignRequest* req,
                                     v3electionpb::CampaignResponse* resp) override;
  grpc::ServerUnaryReactor* Proclaim(grpc::CallbackServerContext* ctx,
                                     const v3electionpb::ProclaimRequest* req,
                                     v3electionpb::ProclaimResponse* resp) override;
  grpc::ServerUnaryReactor* Leader(grpc::CallbackServerContext* ctx,
                                   const v3electionpb::LeaderRequest* req,
                                   v3electionpb::LeaderResponse* resp) override;
  grpc::ServerWriteReactor<v3electionpb::LeaderResponse>* Observe(
      grpc::CallbackServerContext* ctx, const v3electionpb::LeaderRequest* req) override;
  grpc::ServerUnaryReactor* Resign(grpc::CallbackServerContext* ctx,
                                   const v3electionpb::ResignRequest* req,
                                   v3electionpb::ResignResponse* resp) override;

 private:
  RecipeRuntime* runtime_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_ELECTION_SERVICE_H_
