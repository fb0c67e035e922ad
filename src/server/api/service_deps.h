// ServiceDeps: what the gRPC services share (not owned; the Server owns all
// of it and outlives the services). Also stamps response headers.
#ifndef QUORUM_SERVER_API_SERVICE_DEPS_H_
#define QUORUM_SERVER_API_SERVICE_DEPS_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/status.h>

#include <string>
#include <vector>

#include "etcdserverpb/rpc.pb.h"
#include "mvcc/kv_store.h"
#include "server/apply/alarm_store.h"
#include "server/apply/applier.h"
#include "server/apply/backend_quota.h"
#include "server/config.h"
#include "server/member/membership.h"
#include "server/member/raft_member.h"
#include "server/proposer.h"

namespace quorum::server {

struct ServiceDeps {
  const ServerConfig* config = nullptr;
  mvcc::KvStore* store = nullptr;
  mvcc::Backend* backend = nullptr;
  Applier* applier = nullptr;
  Proposer* proposer = nullptr;
  RaftMember* member = nullptr;
  Membership* membership = nullptr;
  AlarmStore* alarms = nullptr;
  const BackendQuota* quota = nullptr;
  uint64_t self_id = 0;

  // Fills cluster/member id and raft term; keeps the revision set by apply,
  // or uses the current one when none was set. The Cluster service sends no
  // revision, as etcd's does (with_revision = false).
  void Stamp(etcdserverpb::ResponseHeader* h, bool with_revision = true) const {
    h->set_cluster_id(membership->cluster_id());
    h->set_member_id(self_id);
    h->set_raft_term(proposer->Term());
    if (with_revision && h->revision() == 0) h->set_revision(store->Rev());
  }

  // gRPC refuses requests above max_request_bytes + 512 KiB (etcd's
  // headroom) with grpc-go's exact text; the transport itself allows more so
  // that this check, not gRPC core's differently worded one, answers.
  grpc::Status CheckWireSize(const google::protobuf::Message& m) const {
    const int64_t limit = config->max_request_bytes + kGrpcOverheadBytes;
    const int64_t size = static_cast<int64_t>(m.ByteSizeLong());
    if (size <= limit) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "grpc: received message larger than max (" + std::to_string(size) +
                            " vs. " + std::to_string(limit) + ")");
  }
  static constexpr int64_t kGrpcOverheadBytes = 512 * 1024;

  // A learner serves only Status and serializable Range, as etcd's does;
  // everything else gets etcd's error. Returns true after finishing the call.
  bool RejectOnLearner(grpc::ServerUnaryReactor* reactor) const {
    if (member == nullptr || !member->IsLearner()) return false;
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "etcdserver: rpc not supported for learner"));
    return true;
  }
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_SERVICE_DEPS_H_
