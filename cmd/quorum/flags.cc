#include "cmd/quorum/flags.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/cipher_suites.h"
#include "server/config_validation.h"
#include "server/duration.h"
#include "server/log_level.h"
#include "server/url.h"

extern char** environ;

namespace quorum::cmd {
namespace {

std::string EnvName(const std::string& flag) {
  std::string env = "ETCD_";
  for (char c : flag) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return env;
}

// Go's flag package wording for a value it cannot take (exit status 2).
int BadValue(const std::string& flag, const std::string& value, const std::string& why) {
  std::cerr << "invalid value " << server::GoQuote(value) << " for flag -" << flag << ": " << why
            << "\n";
  return 2;
}

// etcd's wording for a configuration it refuses (exit status 1).
int Refuse(const std::string& why) {
  std::cerr << "error verifying flags, " << why << ". See 'quorum --help'.\n";
  if (why == server::kErrUnsetAdvertiseClientUrls) {
    std::cerr << "When listening on specific address(es), this member must advertise "
                 "accessible url(s) to each connected client.\n";
  }
  return 1;
}

// A flag given as a string and parsed after CLI11 is done with it.
struct Deferred {
  std::string value;
  CLI::Option* opt = nullptr;
  bool set() const { return opt->count() > 0; }
};

}  // namespace

int ParseFlags(int argc, char** argv, server::ServerConfig* cfg, ProcessSettings* proc) {
  CLI::App app{"quorum: a Raft-replicated, etcd v3 API compatible key-value store"};
  app.set_version_flag("--version", "quorum 0.1.0 (etcd API 3.5)");
  // Leftover words are reported as etcd reports them (below).
  app.allow_extras();
  std::map<std::string, CLI::Option*> by_env;  // env name -> option

  auto add = [&](const std::string& name, auto* target, const std::string& help) {
    CLI::Option* o =
        app.add_option("--" + name, *target, help)->envname(EnvName(name))->capture_default_str();
    by_env[EnvName(name)] = o;
    return o;
  };
  auto add_flag = [&](const std::string& name, bool* target, const std::string& help) {
    CLI::Option* o = app.add_flag("--" + name, *target, help)->envname(EnvName(name));
    by_env[EnvName(name)] = o;
    return o;
  };
  auto deferred = [&](const std::string& name, std::string initial, const std::string& help) {
    auto d = std::make_unique<Deferred>();
    d->value = std::move(initial);
    d->opt = add(name, &d->value, help);
    return d;
  };

  add("name", &cfg->name, "Human-readable name for this member.");
  add("data-dir", &cfg->data_dir, "Path to the data directory (default: ${name}.etcd).");
  // URL lists: an empty value keeps the default, as etcd's UniqueURLs do.
  std::map<std::string, std::pair<std::unique_ptr<Deferred>, std::vector<std::string>*>> url_flags;
  for (auto [name, target, help] :
       std::vector<std::tuple<std::string, std::vector<std::string>*, std::string>>{
           {"listen-client-urls", &cfg->listen_client_urls,
            "List of URLs to listen on for client traffic."},
           {"advertise-client-urls", &cfg->advertise_client_urls,
            "List of this member's client URLs to advertise to the public."},
           {"listen-peer-urls", &cfg->listen_peer_urls,
            "List of URLs to listen on for peer traffic."},
           {"initial-advertise-peer-urls", &cfg->initial_advertise_peer_urls,
            "List of this member's peer URLs to advertise to the rest of the cluster."},
           {"listen-metrics-urls", &cfg->listen_metrics_urls,
            "List of URLs to listen on for the metrics and health endpoints."}}) {
    url_flags[name] = {deferred(name, absl::StrJoin(*target, ","), help), target};
  }
  add("initial-cluster", &cfg->initial_cluster, "Initial cluster configuration for bootstrapping.");
  add("initial-cluster-state", &cfg->initial_cluster_state,
      "Initial cluster state ('new' or 'existing').");
  add("initial-cluster-token", &cfg->initial_cluster_token,
      "Initial cluster token during bootstrap.");
  add("max-txn-ops", &cfg->max_txn_ops, "Maximum number of operations permitted in a transaction.");
  add("max-request-bytes", &cfg->max_request_bytes, "Maximum client request size in bytes.");
  add("heartbeat-interval", &cfg->heartbeat_interval_ms,
      "Time (in milliseconds) of a heartbeat interval.");
  add("election-timeout", &cfg->election_timeout_ms,
      "Time (in milliseconds) for an election to timeout.");
  add("snapshot-count", &cfg->snapshot_count,
      "Number of committed transactions to trigger a snapshot to disk (0: the default).");
  add("quota-backend-bytes", &cfg->quota_backend_bytes,
      "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).");
  add("restore-snapshot", &cfg->restore_snapshot,
      "Start a new member from a file saved by 'snapshot save' (ignored once the data dir has raft "
      "state).");
  std::string log_level = "info";
  add("log-level", &log_level,
      "Configures log level. Only supports debug, info, warn, error, panic, or fatal.");
  add("cert-file", &cfg->cert_file, "Path to the client server TLS cert file.");
  add("key-file", &cfg->key_file, "Path to the client server TLS key file.");
  add("trusted-ca-file", &cfg->trusted_ca_file,
      "Path to the client server TLS trusted CA cert file.");
  add("peer-cert-file", &cfg->peer_cert_file, "Path to the peer server TLS cert file.");
  add("peer-key-file", &cfg->peer_key_file, "Path to the peer server TLS key file.");
  add("peer-trusted-ca-file", &cfg->peer_trusted_ca_file,
      "Path to the peer server TLS trusted CA file.");
  add_flag("client-cert-auth", &cfg->client_cert_auth, "Enable client cert authentication.");
  add_flag("peer-client-cert-auth", &cfg->peer_client_cert_auth,
           "Enable peer client cert authentication.");
  add_flag("unsafe-no-fsync", &cfg->unsafe_no_fsync,
           "Disables fsync, unsafe, will cause data loss.");
  add_flag("experimental-enable-lease-checkpoint", &cfg->enable_lease_checkpoint,
           "Enable to persist lease remaining TTL to prevent indefinite auto-renewal of long lived "
           "leases.");
  add_flag("strict-reconfig-check", &cfg->strict_reconfig_check,
           "Reject reconfiguration requests that would cause quorum loss.");
  add("auto-compaction-mode", &cfg->auto_compaction_mode,
      "Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration "
      "based "
      "retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for "
      "revision "
      "number based retention.");
  add("auto-compaction-retention", &cfg->auto_compaction_retention,
      "Auto compaction retention length. 0 means disable auto compaction.");

  // Go durations, parsed below.
  auto progress = deferred("experimental-watch-progress-notify-interval", "10m",
                           "Duration of periodic watch progress notifications.");
  auto ka_min =
      deferred("grpc-keepalive-min-time", "5s",
               "Minimum duration interval that a client should wait before pinging server.");
  auto ka_interval =
      deferred("grpc-keepalive-interval", "2h",
               "Frequency duration of server-to-client ping to check if a connection is "
               "alive (0 to disable).");
  auto ka_timeout =
      deferred("grpc-keepalive-timeout", "20s",
               "Additional duration of wait before closing a non-responsive connection "
               "(0 to disable).");

  // etcd flags accepted for compatibility; they change nothing in Quorum
  // (docs: README "Running a member").
  std::string logger = "capnslog", log_outputs = "default", metrics = "basic",
              auth_token = "simple";
  std::string cipher_suites;
  bool enable_pprof = false, pre_vote = false, initial_corrupt_check = false,
       force_new_cluster = false;
  unsigned max_snapshots = 5, max_wals = 5;
  add("logger", &logger,
      "Specify 'zap' for structured logging or 'capnslog' (no effect: Quorum logs with spdlog).");
  add("log-outputs", &log_outputs,
      "Log output targets (no effect: Quorum logs to standard output).");
  add("metrics", &metrics,
      "Set level of detail for exported metrics (basic or extensive; no histograms either way).");
  add("auth-token", &auth_token,
      "Specify a v3 authentication token type and its options ('simple' or 'jwt'; no effect: no "
      "Auth service yet).");
  add("cipher-suites", &cipher_suites,
      "Comma-separated list of supported TLS cipher suites between client/server and peers.");
  add_flag("enable-pprof", &enable_pprof,
           "Enable runtime profiling data via HTTP server (no effect).");
  add_flag("pre-vote", &pre_vote,
           "Enable to run an additional Raft election phase (no effect: Quorum always pre-votes).");
  add_flag("experimental-initial-corrupt-check", &initial_corrupt_check,
           "Enable to check data corruption before serving any client/peer traffic (no effect).");
  add("max-snapshots", &max_snapshots,
      "Maximum number of snapshot files to retain (no effect: Quorum keeps its own).");
  add("max-wals", &max_wals,
      "Maximum number of wal files to retain (no effect: the raft log lives in RocksDB).");
  add_flag("force-new-cluster", &force_new_cluster,
           "Force to create a new one-member cluster (not supported).");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  for (const auto& extra : app.remaining()) {
    if (absl::StartsWith(extra, "-")) {
      std::string name(absl::StripPrefix(absl::StripPrefix(extra, "-"), "-"));
      std::cerr << "flag provided but not defined: -" << name.substr(0, name.find('=')) << "\n";
      return 2;
    }
    return Refuse("'" + extra + "' is not a valid flag");
  }

  // Environment: a variable that shadows a flag given on the command line
  // is fatal; one that names no flag (or is empty) is only reported.
  std::set<CLI::Option*> on_command_line(app.parse_order().begin(), app.parse_order().end());
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    if (!absl::StartsWith(kv, "ETCD_")) continue;
    const std::string key = kv.substr(0, kv.find('='));
    const std::string value = kv.find('=') == std::string::npos ? "" : kv.substr(kv.find('=') + 1);
    auto it = by_env.find(key);
    if (it != by_env.end() && on_command_line.contains(it->second)) {
      std::cerr << "conflicting environment variable \"" << key
                << "\" is shadowed by corresponding command-line flag (either unset environment "
                   "variable or disable flag)\n";
      return 1;
    }
    if (it == by_env.end() || value.empty()) {
      proc->warnings.push_back("unrecognized environment variable " + kv);
    }
  }

  // In command-line order, so the first bad flag is the one reported, as Go's
  // flag package does; then those set from the environment.
  std::vector<std::string> url_order;
  for (const CLI::Option* o : app.parse_order()) {
    const std::string name = o->get_name().substr(2);
    if (url_flags.contains(name) &&
        std::find(url_order.begin(), url_order.end(), name) == url_order.end()) {
      url_order.push_back(name);
    }
  }
  for (const auto& [name, flag] : url_flags) {
    if (std::find(url_order.begin(), url_order.end(), name) == url_order.end())
      url_order.push_back(name);
  }
  for (const auto& name : url_order) {
    auto& [d, target] = url_flags[name];
    if (!d->set() || d->value.empty()) continue;
    auto urls = server::ParseUrlList(d->value);
    if (!urls.ok()) return BadValue(name, d->value, std::string(urls.status().message()));
    *target = std::move(*urls);
  }
  // etcd drops its default advertised URL once the listener is chosen.
  if (url_flags["listen-client-urls"].first->set() &&
      !url_flags["advertise-client-urls"].first->set()) {
    cfg->advertise_client_urls.clear();
  }

  std::map<std::string, int64_t> durations_ms;
  for (const auto* d : {progress.get(), ka_min.get(), ka_interval.get(), ka_timeout.get()}) {
    const std::string name = d->opt->get_name().substr(2);
    auto ns = server::ParseGoDuration(d->value);
    if (!ns.ok()) return BadValue(name, d->value, "parse error");
    durations_ms[name] = std::chrono::duration_cast<std::chrono::milliseconds>(*ns).count();
  }
  // etcd: zero or negative keeps the default; under 100ms is raised to it.
  if (int64_t ms = durations_ms["experimental-watch-progress-notify-interval"]; ms > 0) {
    if (ms < 100) {
      proc->warnings.push_back("adjusting watch progress notify interval to minimum period 100ms");
      ms = 100;
    }
    cfg->watch_progress_notify_interval_ms = ms;
  }
  cfg->grpc_keepalive_min_time_ms = durations_ms["grpc-keepalive-min-time"];
  cfg->grpc_keepalive_interval_ms = durations_ms["grpc-keepalive-interval"];
  cfg->grpc_keepalive_timeout_ms = durations_ms["grpc-keepalive-timeout"];

  if (cfg->initial_cluster_state != "new" && cfg->initial_cluster_state != "existing") {
    return BadValue("initial-cluster-state", cfg->initial_cluster_state, "invalid value");
  }
  auto level = server::LogLevelFromFlag(log_level);
  if (!level.ok()) return BadValue("log-level", log_level, std::string(level.status().message()));
  proc->log_level = *level;
  cfg->log_level = log_level;
  if (logger != "capnslog" && logger != "zap") {
    return Refuse("unknown logger option " + server::GoQuote(logger));
  }
  if (logger == "capnslog") {
    for (absl::string_view out : absl::StrSplit(log_outputs, ',')) {
      if (out != "default" && out != "stderr" && out != "stdout") {
        return Refuse("unknown log-output " + server::GoQuote(out) +
                      " (only supports \"default\", \"stderr\", \"stdout\")");
      }
    }
  }
  if (absl::Status st = server::ValidateConfig(*cfg); !st.ok())
    return Refuse(std::string(st.message()));

  // Refused at startup by etcd itself (exit 1, no "verifying flags").
  auto ciphers = server::OpenSslCipherList(cipher_suites);
  if (!ciphers.ok()) {
    std::cerr << ciphers.status().message() << "\n";
    return 1;
  }
  proc->openssl_ciphers = *ciphers;
  const std::string token_type = auth_token.substr(0, auth_token.find(','));
  if (token_type != "simple" && token_type != "jwt") {
    std::cerr << "auth: invalid auth options\n";
    return 1;
  }
  if (force_new_cluster) {
    std::cerr
        << "--force-new-cluster is not supported by quorum: to recover from a lost quorum, "
           "save a snapshot (etcdctl snapshot save) and start a new one-member cluster from it "
           "with --restore-snapshot\n";
    return 1;
  }
  return -1;
}

}  // namespace quorum::cmd
