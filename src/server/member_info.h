// Identity of this member and of the cluster, as the Cluster service and
// every response header report them.
#ifndef QUORUM_SERVER_MEMBER_INFO_H_
#define QUORUM_SERVER_MEMBER_INFO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "etcdserverpb/rpc.pb.h"

namespace quorum::server {

struct MemberInfo {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;

  void ToProto(etcdserverpb::Member* m) const {
    m->set_id(id);
    m->set_name(name);
    for (const auto& u : peer_urls) m->add_peerurls(u);
    for (const auto& u : client_urls) m->add_clienturls(u);
    m->set_islearner(is_learner);
  }
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_INFO_H_
