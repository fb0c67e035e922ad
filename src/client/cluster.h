// ClusterClient: etcd's Cluster service (member list/add/remove/update/promote).
// Member ids are etcd's 64-bit ids (etcdctl shows them in hex).
// Thread-safety: as the borrowed Client, which must outlive this object.
#ifndef QUORUM_CLIENT_CLUSTER_H_
#define QUORUM_CLIENT_CLUSTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client {

class ClusterClient {
 public:
  explicit ClusterClient(Client& client) : client_(client) {}

  // linearizable: served through the leader's committed view (etcd 3.5);
  // otherwise the answering member's local view.
  absl::StatusOr<etcdserverpb::MemberListResponse> MemberList(bool linearizable = false);
  absl::StatusOr<etcdserverpb::MemberAddResponse> MemberAdd(
      const std::vector<std::string>& peer_urls, bool is_learner = false);
  absl::StatusOr<etcdserverpb::MemberRemoveResponse> MemberRemove(uint64_t id);
  absl::StatusOr<etcdserverpb::MemberUpdateResponse> MemberUpdate(
      uint64_t id, const std::vector<std::string>& peer_urls);
  absl::StatusOr<etcdserverpb::MemberPromoteResponse> MemberPromote(uint64_t id);

 private:
  Client& client_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_CLUSTER_H_
