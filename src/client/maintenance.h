// MaintenanceClient: etcd's Maintenance service. Status, HashKV and Defragment
// address one member (by its endpoint, as clientv3's Maintenance does);
// MoveLeader must reach the current leader, AlarmList/AlarmDisarm any member;
// Snapshot streams one member's state.
// Thread-safety: as the borrowed Client, which must outlive this object.
#ifndef QUORUM_CLIENT_MAINTENANCE_H_
#define QUORUM_CLIENT_MAINTENANCE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

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
  // clientv3's AlarmDisarm: member 0 and type NONE mean "every active
  // alarm": they are listed, then each is deactivated, and the response
  // carries every alarm deactivated. Otherwise one DEACTIVATE request.
  absl::StatusOr<etcdserverpb::AlarmResponse> AlarmDisarm(const etcdserverpb::AlarmMember& am);
  absl::StatusOr<etcdserverpb::HashResponse> Hash(const std::string& endpoint);
  // Maintenance.Snapshot on `endpoint`: `on_message` gets every streamed
  // message in order (data blobs with remaining_bytes, then the SHA-256
  // digest message); an error it returns cancels the stream. The whole
  // stream runs under the client's command timeout, as etcdctl's does.
  absl::Status Snapshot(
      const std::string& endpoint,
      const std::function<absl::Status(const etcdserverpb::SnapshotResponse&)>& on_message);

 private:
  absl::StatusOr<size_t> Index(const std::string& endpoint) const;
  Client& client_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_MAINTENANCE_H_
