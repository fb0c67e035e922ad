#include "cmd/quorum/flags.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "server/url.h"

namespace quorum::cmd {
namespace {

std::string EnvName(const std::string& flag) {
  std::string env = "ETCD_";
  for (char c : flag) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return env;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Go-style durations as etcd takes them: "500ms", "5s", "10m", "1h", "1m30s".
int64_t ParseDurationMs(const std::string& s) {
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    if (j == i) return -1;
    const double v = std::stod(s.substr(i, j - i));
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    const std::string unit = s.substr(j, k - j);
    double ms = 0;
    if (unit == "ms") ms = v;
    else if (unit == "s") ms = v * 1000;
    else if (unit == "m") ms = v * 60000;
    else if (unit == "h") ms = v * 3600000;
    else return -1;
    total += static_cast<int64_t>(ms);
    i = k;
  }
  return total;
}

}  // namespace

int ParseFlags(int argc, char** argv, server::ServerConfig* cfg) {
  CLI::App app{"quorum: a Raft-replicated, etcd v3 API compatible key-value store"};
  app.set_version_flag("--version", "quorum 0.1.0 (etcd API 3.5)");
  std::string listen_client = Join(cfg->listen_client_urls);
  std::string advertise_client = Join(cfg->advertise_client_urls);
  std::string listen_peer = Join(cfg->listen_peer_urls);
  std::string initial_adv_peer = Join(cfg->initial_advertise_peer_urls);

  auto add = [&](const std::string& name, auto* target, const std::string& help) {
    app.add_option("--" + name, *target, help)->envname(EnvName(name))->capture_default_str();
  };
  add("name", &cfg->name, "Human-readable name for this member.");
  add("data-dir", &cfg->data_dir, "Path to the data directory (default: ${name}.etcd).");
  add("listen-client-urls", &listen_client, "List of URLs to listen on for client traffic.");
  add("advertise-client-urls", &advertise_client, "List of this member's client URLs to advertise.");
  add("listen-peer-urls", &listen_peer, "List of URLs to listen on for peer traffic.");
  add("initial-advertise-peer-urls", &initial_adv_peer, "List of this member's peer URLs to advertise.");
  add("initial-cluster", &cfg->initial_cluster, "Initial cluster configuration for bootstrapping.");
  add("initial-cluster-state", &cfg->initial_cluster_state, "Initial cluster state ('new' or 'existing').");
  add("initial-cluster-token", &cfg->initial_cluster_token, "Initial cluster token during bootstrap.");
  add("max-txn-ops", &cfg->max_txn_ops, "Maximum number of operations permitted in a transaction.");
  add("max-request-bytes", &cfg->max_request_bytes, "Maximum client request size in bytes.");
  add("heartbeat-interval", &cfg->heartbeat_interval_ms, "Time (in milliseconds) of a heartbeat interval.");
  add("election-timeout", &cfg->election_timeout_ms, "Time (in milliseconds) for an election to timeout.");
  add("snapshot-count", &cfg->snapshot_count, "Number of committed transactions to trigger a snapshot.");
  add("quota-backend-bytes", &cfg->quota_backend_bytes, "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).");
  add("restore-snapshot", &cfg->restore_snapshot, "Start a new member from a file saved by 'snapshot save' (ignored once the data dir has raft state).");
  add("log-level", &cfg->log_level, "Configures log level. Only supports debug, info, warn, error, panic, or fatal.");
  add("cert-file", &cfg->cert_file, "Path to the client server TLS cert file.");
  add("key-file", &cfg->key_file, "Path to the client server TLS key file.");
  add("trusted-ca-file", &cfg->trusted_ca_file, "Path to the client server TLS trusted CA cert file.");
  add("peer-cert-file", &cfg->peer_cert_file, "Path to the peer server TLS cert file.");
  add("peer-key-file", &cfg->peer_key_file, "Path to the peer server TLS key file.");
  add("peer-trusted-ca-file", &cfg->peer_trusted_ca_file, "Path to the peer server TLS trusted CA file.");
  app.add_flag("--client-cert-auth", cfg->client_cert_auth, "Enable client cert authentication.")
      ->envname(EnvName("client-cert-auth"));
  app.add_flag("--peer-client-cert-auth", cfg->peer_client_cert_auth, "Enable peer client cert authentication.")
      ->envname(EnvName("peer-client-cert-auth"));
  app.add_flag("--unsafe-no-fsync", cfg->unsafe_no_fsync,
               "Disables fsync, unsafe, will cause data loss.")
      ->envname(EnvName("unsafe-no-fsync"));

  app.add_flag("--experimental-enable-lease-checkpoint", cfg->enable_lease_checkpoint,
               "Enable to persist lease remaining TTL to prevent indefinite auto-renewal of long lived leases.")
      ->envname(EnvName("experimental-enable-lease-checkpoint"));

  std::string progress_interval = "10m";
  add("experimental-watch-progress-notify-interval", &progress_interval,
      "Duration of periodic watch progress notifications.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (auto ms = ParseDurationMs(progress_interval); ms > 0) {
    cfg->watch_progress_notify_interval_ms = ms;
  } else {
    std::cerr << "invalid duration \"" << progress_interval
              << "\" for flag -experimental-watch-progress-notify-interval\n";
    return 2;
  }
  cfg->listen_client_urls = server::SplitList(listen_client);
  cfg->advertise_client_urls = server::SplitList(advertise_client);
  cfg->listen_peer_urls = server::SplitList(listen_peer);
  cfg->initial_advertise_peer_urls = server::SplitList(initial_adv_peer);
  if (cfg->initial_cluster_state != "new" && cfg->initial_cluster_state != "existing") {
    std::cerr << "invalid value \"" << cfg->initial_cluster_state
              << "\" for flag -initial-cluster-state: must be new or existing\n";
    return 2;
  }
  return -1;
}

}  // namespace quorum::cmd
