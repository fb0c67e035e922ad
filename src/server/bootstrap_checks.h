// etcd's checks of --initial-cluster against this member's own flags, made
// only when the data dir is new (a restarted member trusts its data dir):
// the member is named in the cluster, its advertised peer URLs are the ones
// the cluster lists for it, and no URL is claimed twice. Texts are etcd's.
#ifndef QUORUM_SERVER_BOOTSTRAP_CHECKS_H_
#define QUORUM_SERVER_BOOTSTRAP_CHECKS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace quorum::server {

using InitialCluster = std::map<std::string, std::vector<std::string>>;

// etcd's VerifyBootstrap (joining=false) and VerifyJoinExisting (true: the
// cluster already knows the member's URLs, so they are not compared).
absl::Status VerifyInitialCluster(const std::string& name, const InitialCluster& cluster,
                                  const std::vector<std::string>& advertise_peer_urls,
                                  bool joining);

// Go's types.URLsMap.String(): sorted "name=url" pairs joined by ','.
std::string InitialClusterString(const InitialCluster& cluster);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_BOOTSTRAP_CHECKS_H_
