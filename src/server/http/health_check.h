// The verdict behind /health, as etcd 3.4 reaches it (etcdhttp's
// checkHealth): unhealthy while any alarm is active, while the member knows
// no leader, or when a linearizable read (etcd: a quorum GET through raft;
// here a ReadIndex barrier) does not complete within a second.
#ifndef QUORUM_SERVER_HTTP_HEALTH_CHECK_H_
#define QUORUM_SERVER_HTTP_HEALTH_CHECK_H_

#include <string>

#include "absl/time/time.h"
#include "server/api/service_deps.h"

namespace quorum::server::http {

struct HealthVerdict {
  bool healthy = true;
  std::string why;  // for the warning etcd logs when unhealthy
};

// Blocks up to `read_timeout` (the linearizable read).
HealthVerdict CheckHealth(const ServiceDeps& deps, absl::Duration read_timeout = absl::Seconds(1));

}  // namespace quorum::server::http

#endif  // QUORUM_SERVER_HTTP_HEALTH_CHECK_H_
