// ServerConfig: every tunable of a member, with etcd's flag names (in
// comments) and etcd's defaults. Filled by cmd/quorum from flags, ETCD_*
// environment variables or a config file; validated by Server::Create.
#ifndef QUORUM_SERVER_CONFIG_H_
#define QUORUM_SERVER_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace quorum::server {

class PeerFaults;

struct ServerConfig {
  std::string name = "default";                                     // --name
  std::string data_dir;                                             // --data-dir (default "<name>.etcd")
  std::vector<std::string> listen_client_urls = {"http://localhost:2379"};     // --listen-client-urls
  std::vector<std::string> advertise_client_urls = {"http://localhost:2379"};  // --advertise-client-urls
  std::vector<std::string> listen_peer_urls = {"http://localhost:2380"};       // --listen-peer-urls
  std::vector<std::string> initial_advertise_peer_urls = {"http://localhost:2380"};
  std::string initial_cluster;                        // --initial-cluster (default "<name>=<peer urls>")
  std::string initial_cluster_state = "new";          // --initial-cluster-state new|existing
  std::string initial_cluster_token = "etcd-cluster"; // --initial-cluster-token
  int max_txn_ops = 128;                              // --max-txn-ops
  int64_t max_request_bytes = 1536 * 1024;            // --max-request-bytes (1.5 MiB)
  int heartbeat_interval_ms = 100;                    // --heartbeat-interval
  int election_timeout_ms = 1000;                     // --election-timeout
  uint64_t snapshot_count = 100000;                   // --snapshot-count
  int64_t quota_backend_bytes = 0;                    // --quota-backend-bytes (0 = 2 GiB)
  std::string log_level = "info";                     // --log-level
  bool unsafe_no_fsync = false;                       // --unsafe-no-fsync (tests only)
  // --restore-snapshot FILE (Quorum only): seed a new data dir from a file
  // saved by `snapshot save` (server/snapshot_restore.h).
  std::string restore_snapshot;
  // --experimental-watch-progress-notify-interval (etcd's default: 10m)
  int64_t watch_progress_notify_interval_ms = 10 * 60 * 1000;
  // --experimental-enable-lease-checkpoint (etcd's default: off): the leader
  // replicates the remaining TTL of long leases every 5 minutes (etcd 3.4's
  // fixed interval), so a new leader does not grant them their full TTL again.
  bool enable_lease_checkpoint = false;
  // --listen-metrics-urls: HTTP listeners for /health and /metrics only
  // (server/http/metrics_server.h); none by default, as in etcd.
  std::vector<std::string> listen_metrics_urls;
  // --auto-compaction-mode periodic|revision and --auto-compaction-retention
  // ("0" = off; periodic: a Go duration, a bare number meaning hours;
  // revision: a revision count). See server/auto_compactor.h.
  std::string auto_compaction_mode = "periodic";
  std::string auto_compaction_retention = "0";
  // --strict-reconfig-check (etcd's default: on): refuse membership changes
  // that would cost the cluster its quorum.
  bool strict_reconfig_check = true;
  // gRPC keepalive of the client listener, etcd's defaults:
  // --grpc-keepalive-min-time (5s; pings closer than this are refused),
  // --grpc-keepalive-interval (2h; server pings, 0 = off),
  // --grpc-keepalive-timeout (20s; wait for the ping's answer).
  int64_t grpc_keepalive_min_time_ms = 5000;
  int64_t grpc_keepalive_interval_ms = 2 * 3600 * 1000;
  int64_t grpc_keepalive_timeout_ms = 20000;

  // Client TLS (https:// client URLs).
  std::string cert_file;                              // --cert-file
  std::string key_file;                               // --key-file
  std::string trusted_ca_file;                        // --trusted-ca-file
  bool client_cert_auth = false;                      // --client-cert-auth
  // Peer TLS (https:// peer URLs); also the client identity used to dial peers.
  std::string peer_cert_file;                         // --peer-cert-file
  std::string peer_key_file;                          // --peer-key-file
  std::string peer_trusted_ca_file;                   // --peer-trusted-ca-file
  bool peer_client_cert_auth = false;                 // --peer-client-cert-auth

  // Raft messages to http:// peers over the plain TCP link (default) or the
  // gRPC stream (false; also with environment QUORUM_PEER_RAFT_LINK=grpc).
  // No flag: both ends speak both, this only picks what this member sends.
  bool peer_raft_link_tcp = true;

  // Test only (no flag): replaces the revision auto-compactor's 5 minutes.
  std::chrono::milliseconds auto_compaction_interval_for_testing{0};
  // Test only (no flag): cuts raft traffic between chosen members.
  std::shared_ptr<PeerFaults> peer_faults_for_testing;
  // Test only (no flag): runs on the snapshot writer thread before it writes
  // a state file (tests hold the writer there).
  std::function<void()> before_snapshot_write_for_testing;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_CONFIG_H_
