#include "server/http/server_metrics.h"

#include "server/api/maintenance_service.h"
#include "server/http/prometheus_text.h"
#include "util/member_id.h"

namespace quorum::server::http {

std::string RenderServerMetrics(const ServiceDeps& deps, const HealthCounts& health) {
  PrometheusText t;
  const uint64_t leader = deps.proposer->LeaderId();
  t.Gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
          leader != 0 ? 1 : 0);
  t.Gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
          leader != 0 && leader == deps.self_id ? 1 : 0);
  t.Gauge("etcd_server_is_learner",
          "Whether or not this member is a learner. 1 if is, 0 otherwise.",
          deps.member->IsLearner() ? 1 : 0);
  t.Gauge("etcd_server_id",
          "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", 1,
          Label("server_id", util::IdToHex(deps.self_id)));
  t.Gauge("etcd_server_version",
          "Which version is running. 1 for 'server_version' label with current version.", 1,
          Label("server_version", kApiVersion));
  // etcd sets these two from raft's committed and applied indexes.
  t.Gauge("etcd_server_proposals_committed_total",
          "The total number of consensus proposals committed.",
          static_cast<double>(deps.proposer->CommittedIndex()));
  t.Gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.",
          static_cast<double>(deps.proposer->AppliedIndex()));
  // etcd reports -1 when the quota is disabled.
  t.Gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.",
          deps.quota->enabled() ? static_cast<double>(deps.quota->limit()) : -1);
  t.Counter("etcd_server_health_success", "The total number of successful health checks",
            static_cast<double>(health.success));
  t.Counter("etcd_server_health_failures", "The total number of failed health checks",
            static_cast<double>(health.failures));
  t.Gauge("etcd_mvcc_db_total_size_in_bytes",
          "Total size of the underlying database physically allocated in bytes.",
          static_cast<double>(deps.backend->SizeOnDisk()));
  t.Gauge("etcd_mvcc_db_total_size_in_use_in_bytes",
          "Total size of the underlying database logically in use in bytes.",
          static_cast<double>(deps.backend->LiveDataSize()));
  t.Gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.",
          static_cast<double>(deps.store->Rev()));
  t.Gauge("etcd_debugging_mvcc_compact_revision", "The revision of the last compaction in store.",
          static_cast<double>(deps.store->CompactRev()));
  t.Gauge("etcd_debugging_mvcc_keys_total", "Total number of keys.",
          static_cast<double>(deps.store->KeyCount()));
  return t.Render();
}

}  // namespace quorum::server::http
