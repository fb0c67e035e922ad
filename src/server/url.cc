#include "server/url.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace quorum::server {

std::string Url::HostPort() const {
  if (scheme == "unix" || scheme == "unixs") return "unix:" + host;
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<Url> ParseUrl(const std::string& s) {
  Url u;
  auto pos = s.find("://");
  if (pos == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("URL scheme must be http, https, unix or unixs: ", s));
  }
  u.scheme = s.substr(0, pos);
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "unix" && u.scheme != "unixs") {
    return absl::InvalidArgumentError(absl::StrCat("URL scheme must be http, https, unix or unixs: ", s));
  }
  std::string rest = s.substr(pos + 3);
  if (auto slash = rest.find('/'); slash != std::string::npos && u.scheme.rfind("unix", 0) != 0) {
    rest = rest.substr(0, slash);
  }
  if (u.scheme == "unix" || u.scheme == "unixs") {
    u.host = rest;
    return u;
  }
  std::string port_str;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError("bad IPv6 URL: " + s);
    u.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_str = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("URL address does not have the form \"host:port\": ", s));
    }
    u.host = rest.substr(0, colon);
    port_str = rest.substr(colon + 1);
  }
  if (!absl::SimpleAtoi(port_str, &u.port) || u.port < 0 || u.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port in URL: ", s));
  }
  return u;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> ParseInitialCluster(
    const std::string& s) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& item : SplitList(s)) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("--initial-cluster entries must be name=URL: " + item);
    }
    std::string url = item.substr(eq + 1);
    if (auto u = ParseUrl(url); !u.ok()) return u.status();
    out[item.substr(0, eq)].push_back(url);
  }
  return out;
}

}  // namespace quorum::server
