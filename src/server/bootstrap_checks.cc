#include "server/bootstrap_checks.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/url.h"

namespace quorum::server {
namespace {

// Go's %q of a []string: ["a" "b"].
std::string QuoteList(const std::vector<std::string>& v) {
  std::vector<std::string> q;
  for (const auto& s : v) q.push_back(GoQuote(s));
  return "[" + absl::StrJoin(q, " ") + "]";
}

// As etcd compares peer URLs: by address, so "localhost" matches
// "127.0.0.1". An IP stays as it is; a name becomes its first address
// (IPv4 first); one that does not resolve is compared as written.
std::string Resolve(const std::string& s) {
  auto u = ParseUrl(s);
  if (!u.ok() || u->scheme == "unix" || u->scheme == "unixs") return s;
  unsigned char buf[16];
  if (inet_pton(AF_INET, u->host.c_str(), buf) == 1 ||
      inet_pton(AF_INET6, u->host.c_str(), buf) == 1) {
    return s;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(u->host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return s;
  std::string ip;
  for (int family : {AF_INET, AF_INET6}) {
    for (addrinfo* a = res; a != nullptr && ip.empty(); a = a->ai_next) {
      if (a->ai_family != family) continue;
      char text[INET6_ADDRSTRLEN] = {};
      const void* addr =
          family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
      if (inet_ntop(family, addr, text, sizeof(text)) != nullptr) ip = text;
    }
  }
  freeaddrinfo(res);
  if (ip.empty()) return s;
  Url r = *u;
  r.host = ip;
  return absl::StrCat(r.scheme, "://", r.HostPort());
}

// etcd's netutil.URLStringsEqual: "" when equal, else why not.
std::string UrlsDiffer(std::vector<std::string> a, std::vector<std::string> b) {
  if (a.size() != b.size()) {
    return absl::StrCat("len(", QuoteList(a), ") != len(", QuoteList(b), ")");
  }
  for (auto& s : a) s = Resolve(s);
  for (auto& s : b) s = Resolve(s);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return absl::StrCat("resolved urls: ", GoQuote(a[i]), " != ", GoQuote(b[i]));
  }
  return "";
}

// etcd's advertiseMatchesCluster.
absl::Status AdvertiseMatchesCluster(const std::string& name, const InitialCluster& cluster,
                                     const std::vector<std::string>& advertised) {
  std::vector<std::string> listed = cluster.at(name);
  std::vector<std::string> ap = advertised;
  std::sort(listed.begin(), listed.end());
  std::sort(ap.begin(), ap.end());
  const std::string why = UrlsDiffer(ap, listed);
  if (why.empty()) return absl::OkStatus();
  const std::set<std::string> ap_set(ap.begin(), ap.end());
  const std::set<std::string> listed_set(listed.begin(), listed.end());
  const std::string ap_str = absl::StrJoin(ap, ",");
  std::vector<std::string> missing;
  for (const auto& u : listed_set) {
    if (!ap_set.contains(u)) missing.push_back(name + "=" + u);
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--initial-cluster has ", absl::StrJoin(missing, ","),
                     " but missing from --initial-advertise-peer-urls=", ap_str, " (", why, ")"));
  }
  const std::string self = InitialClusterString({{name, advertised}});
  for (const auto& u : ap_set) {
    if (!listed_set.contains(u)) missing.push_back(u);
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--initial-advertise-peer-urls has ",
                                                   absl::StrJoin(missing, ","),
                                                   " but missing from --initial-cluster=", self));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "failed to resolve ", ap_str, " to match --initial-cluster=", self, " (", why, ")"));
}

bool HasDuplicateUrl(const InitialCluster& cluster) {
  std::set<std::string> seen;
  for (const auto& [name, urls] : cluster) {
    for (const auto& u : urls) {
      if (!seen.insert(u).second) return true;
    }
  }
  return false;
}

}  // namespace

std::string InitialClusterString(const InitialCluster& cluster) {
  std::vector<std::string> pairs;
  for (const auto& [name, urls] : cluster) {
    for (const auto& u : urls) pairs.push_back(name + "=" + u);
  }
  std::sort(pairs.begin(), pairs.end());
  return absl::StrJoin(pairs, ",");
}

absl::Status VerifyInitialCluster(const std::string& name, const InitialCluster& cluster,
                                  const std::vector<std::string>& advertise_peer_urls,
                                  bool joining) {
  if (!cluster.contains(name)) {
    return absl::InvalidArgumentError(absl::StrCat("couldn't find local name ", GoQuote(name),
                                                   " in the initial cluster configuration"));
  }
  if (!joining) {
    if (absl::Status st = AdvertiseMatchesCluster(name, cluster, advertise_peer_urls); !st.ok()) {
      return st;
    }
  }
  if (HasDuplicateUrl(cluster)) {
    return absl::InvalidArgumentError(
        absl::StrCat("initial cluster ", InitialClusterString(cluster), " has duplicate url"));
  }
  return absl::OkStatus();
}

}  // namespace quorum::server
