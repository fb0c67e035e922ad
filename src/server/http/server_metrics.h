// The /metrics page: a handful of etcd's own metric names (same names,
// help texts and types as etcd 3.4) whose values the member already keeps,
// so dashboards and alerts written for etcd read them unchanged.
#ifndef QUORUM_SERVER_HTTP_SERVER_METRICS_H_
#define QUORUM_SERVER_HTTP_SERVER_METRICS_H_

#include <cstdint>
#include <string>

#include "server/api/service_deps.h"

namespace quorum::server::http {

struct HealthCounts {
  uint64_t success = 0;
  uint64_t failures = 0;
};

std::string RenderServerMetrics(const ServiceDeps& deps, const HealthCounts& health);

}  // namespace quorum::server::http

#endif  // QUORUM_SERVER_HTTP_SERVER_METRICS_H_
