#include "server/config_validation.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/url.h"

namespace quorum::server {
namespace {

// etcd's --election-timeout ceiling (maxElectionMs).
constexpr int kMaxElectionMs = 50000;

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// etcd's checkBindURLs: a listener binds an address, not a name.
absl::Status CheckBindUrls(const std::vector<std::string>& urls) {
  for (const auto& s : urls) {
    auto u = ParseUrl(s);
    if (!u.ok()) return u.status();
    if (u->scheme == "unix" || u->scheme == "unixs" || u->host == "localhost") continue;
    if (!IsIpLiteral(u->host)) {
      return absl::InvalidArgumentError(absl::StrCat("expected IP in URL for binding (", s, ")"));
    }
  }
  return absl::OkStatus();
}

// etcd's checkHostURLs, with the flag's wording around it.
absl::Status CheckHostUrls(const std::string& flag, const std::vector<std::string>& urls) {
  for (const auto& s : urls) {
    auto u = ParseUrl(s);
    if (!u.ok()) return u.status();
    if (u->host.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " ", GoQuote(absl::StrJoin(urls, ",")),
                       " must be \"host:port\" (unexpected empty host (", s, "))"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateConfig(const ServerConfig& cfg) {
  for (const auto* list :
       {&cfg.listen_peer_urls, &cfg.listen_client_urls, &cfg.listen_metrics_urls}) {
    if (absl::Status st = CheckBindUrls(*list); !st.ok()) return st;
  }
  if (absl::Status st =
          CheckHostUrls("initial-advertise-peer-urls", cfg.initial_advertise_peer_urls);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = CheckHostUrls("advertise-client-urls", cfg.advertise_client_urls);
      !st.ok()) {
    return st;
  }
  if (cfg.heartbeat_interval_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--heartbeat-interval must be >0 (set to ", cfg.heartbeat_interval_ms, "ms)"));
  }
  if (cfg.election_timeout_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--election-timeout must be >0 (set to ", cfg.election_timeout_ms, "ms)"));
  }
  if (5 * static_cast<int64_t>(cfg.heartbeat_interval_ms) > cfg.election_timeout_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("--election-timeout[", cfg.election_timeout_ms,
                     "ms] should be at least as 5 times as --heartbeat-interval[",
                     cfg.heartbeat_interval_ms, "ms]"));
  }
  if (cfg.election_timeout_ms > kMaxElectionMs) {
    return absl::InvalidArgumentError(absl::StrCat("--election-timeout[", cfg.election_timeout_ms,
                                                   "ms] is too long, and should be set less than ",
                                                   kMaxElectionMs, "ms"));
  }
  // Quorum serves clients only on its listeners, so it needs at least one
  // (etcd's flags cannot produce an empty list; a config built in code can).
  if (cfg.listen_client_urls.empty()) {
    return absl::InvalidArgumentError("--listen-client-urls must list at least one URL");
  }
  if (cfg.advertise_client_urls.empty()) {
    return absl::InvalidArgumentError(kErrUnsetAdvertiseClientUrls);
  }
  if (cfg.listen_peer_urls.empty() || cfg.initial_advertise_peer_urls.empty()) {
    return absl::InvalidArgumentError(
        "--listen-peer-urls and --initial-advertise-peer-urls must list at least one URL");
  }
  if (cfg.auto_compaction_mode != "periodic" && cfg.auto_compaction_mode != "revision" &&
      !cfg.auto_compaction_mode.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown auto-compaction-mode ", GoQuote(cfg.auto_compaction_mode)));
  }
  return absl::OkStatus();
}

}  // namespace quorum::server
