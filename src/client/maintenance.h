// MaintenanceClient: etcd's Maintenance service. Status, HashKV and Defragment
// address one member (by its endpoint, as clientv3's Maintenance does);
// MoveLeader must reach the current leader and AlarmList any member.
// Snapshot and alarm disarm attach here when the server implements them.
// Thread-safety: as the borrowed Client, which must outlive this object.
#ifndef QUORUM_CLIENT_MAINTENANCE_H_
#define QUORUM_CLIENT_MAINTENANCE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client {

class MaintenanceClient {
 public:
  explicit MaintenanceClient(Client& client) : client_(client) {}

  // `endpoint` must be one of the client's endpoints (InvalidArgument otherwise).
  absl::StatusOr<etcdserverpb::StatusResponse> Status(const std::string& endpoint);
  absl::StatusOr<etcdserverpb::HashKVResponse> HashKV(const std::string& endpoint,
                                                      int64_t revision);
  absl::StatusOr<etcdserverpb::DefragmentResponse> Defragment(const std::string& endpoint);
  // Sent with failover; only the leader accepts it.
  absl::StatusOr<etcdserverpb::MoveLeaderResponse> MoveLeader(uint64_t target_id);
  absl::StatusOr<etcdserverpb::AlarmResponse> AlarmList();

 private:
  absl::StatusOr<size_t> Index(const std::string& endpoint) const;
  Client& client_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_MAINTENANCE_H_
