// etcdserverpb.Maintenance: Status, Defragment, HashKV, Hash, MoveLeader,
// Alarm (replicated through raft, as etcd's), Snapshot (snapshot_stream.h).
// Downgrade (an etcd 3.5 RPC) answers Unimplemented.
#ifndef QUORUM_SERVER_API_MAINTENANCE_SERVICE_H_
#define QUORUM_SERVER_API_MAINTENANCE_SERVICE_H_

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_deps.h"

namespace quorum::server {

// Version reported in Status: the etcd API level Quorum implements, which is
// what clients use for feature detection.
inline constexpr char kApiVersion[] = "3.5.0";

class MaintenanceService final : public etcdserverpb::Maintenance::CallbackService {
 public:
  explicit MaintenanceService(const ServiceDeps* deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx,
                                   const etcdserverpb::StatusRequest* req,
                                   etcdserverpb::StatusResponse* resp) override;
  grpc::ServerUnaryReactor* Defragment(grpc::CallbackServerContext* ctx,
                                       const etcdserverpb::DefragmentRequest* req,
                                       etcdserverpb::DefragmentResponse* resp) override;
  grpc::ServerUnaryReactor* MoveLeader(grpc::CallbackServerContext* ctx,
                                       const etcdserverpb::MoveLeaderRequest* req,
                                       etcdserverpb::MoveLeaderResponse* resp) override;
  grpc::ServerUnaryReactor* HashKV(grpc::CallbackServerContext* ctx,
                                   const etcdserverpb::HashKVRequest* req,
                                   etcdserverpb::HashKVResponse* resp) override;
  grpc::ServerUnaryReactor* Hash(grpc::CallbackServerContext* ctx,
                                 const etcdserverpb::HashRequest* req,
                                 etcdserverpb::HashResponse* resp) override;
  grpc::ServerUnaryReactor* Alarm(grpc::CallbackServerContext* ctx,
                                  const etcdserverpb::AlarmRequest* req,
                                  etcdserverpb::AlarmResponse* resp) override;
  grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* Snapshot(
      grpc::CallbackServerContext* ctx, const etcdserverpb::SnapshotRequest* req) override;

 private:
  const ServiceDeps* deps_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_MAINTENANCE_SERVICE_H_
