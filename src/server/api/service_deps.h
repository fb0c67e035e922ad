// ServiceDeps: what the gRPC services share (not owned; the Server owns all
// of it and outlives the services). Also stamps response headers.
#ifndef QUORUM_SERVER_API_SERVICE_DEPS_H_
#define QUORUM_SERVER_API_SERVICE_DEPS_H_

#include <vector>

#include "etcdserverpb/rpc.pb.h"
#include "mvcc/kv_store.h"
#include "server/apply/applier.h"
#include "server/config.h"
#include "server/member_info.h"
#include "server/proposer.h"

namespace quorum::server {

struct ServiceDeps {
  const ServerConfig* config = nullptr;
  mvcc::KvStore* store = nullptr;
  mvcc::Backend* backend = nullptr;
  Applier* applier = nullptr;
  Proposer* proposer = nullptr;
  uint64_t cluster_id = 0;
  MemberInfo self;
  std::vector<MemberInfo> members;

  // Fills cluster/member id and raft term; keeps the revision set by apply,
  // or uses the current one when none was set.
  void Stamp(etcdserverpb::ResponseHeader* h) const {
    h->set_cluster_id(cluster_id);
    h->set_member_id(self.id);
    h->set_raft_term(proposer->Term());
    if (h->revision() == 0) h->set_revision(store->Rev());
  }
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_SERVICE_DEPS_H_
