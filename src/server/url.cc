#include "server/url.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace quorum::server {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Go's url.getScheme: the scheme is everything before the first ':' when it
// is made of scheme characters and starts with a letter.
absl::Status SplitScheme(absl::string_view raw, std::string* scheme, absl::string_view* rest) {
  *rest = raw;
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (IsAlpha(c)) continue;
    if (IsDigit(c) || c == '+' || c == '-' || c == '.') {
      if (i == 0) return absl::OkStatus();
      continue;
    }
    if (c == ':') {
      if (i == 0) return absl::InvalidArgumentError("missing protocol scheme");
      *scheme = absl::AsciiStrToLower(raw.substr(0, i));
      *rest = raw.substr(i + 1);
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

// ":digits" or nothing.
bool ValidOptionalPort(absl::string_view p) {
  if (p.empty()) return true;
  if (p[0] != ':') return false;
  for (char c : p.substr(1)) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool HexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Go's parseHost: the port must be digits, and only characters a host may
// hold (RFC 3986 sub-delims and a few more) may appear unescaped.
absl::Status CheckHost(absl::string_view host) {
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.rfind(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("missing ']' in host");
    const absl::string_view colon_port = host.substr(close + 1);
    if (!ValidOptionalPort(colon_port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid port ", GoQuote(colon_port), " after host"));
    }
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    const absl::string_view colon_port = host.substr(colon);
    if (!ValidOptionalPort(colon_port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid port ", GoQuote(colon_port), " after host"));
    }
  }
  static constexpr absl::string_view kAllowed = "!$&'()*+,;=:[]<>\"-_.~";
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '%') {
      if (i + 2 >= host.size() || !HexDigit(host[i + 1]) || !HexDigit(host[i + 2])) {
        absl::string_view esc = host.substr(i, 3);
        return absl::InvalidArgumentError(absl::StrCat("invalid URL escape ", GoQuote(esc)));
      }
      i += 2;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80 || IsAlpha(c) || IsDigit(c)) continue;
    if (kAllowed.find(c) == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid character ", GoQuote(host.substr(i, 1)), " in host name"));
    }
  }
  return absl::OkStatus();
}

// Go's net.SplitHostPort, reduced to whether it succeeds.
bool SplitHostPort(absl::string_view hp, absl::string_view* host, absl::string_view* port) {
  const size_t last = hp.rfind(':');
  if (last == absl::string_view::npos) return false;
  size_t j = 0, k = 0;
  if (hp[0] == '[') {
    const size_t end = hp.find(']');
    if (end == absl::string_view::npos || end + 1 != last) return false;
    *host = hp.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    *host = hp.substr(0, last);
    if (host->find(':') != absl::string_view::npos) return false;
  }
  if (hp.substr(j).find('[') != absl::string_view::npos) return false;
  if (hp.substr(k).find(']') != absl::string_view::npos) return false;
  *port = hp.substr(last + 1);
  return true;
}

struct GoUrl {
  std::string scheme;
  std::string host;  // authority without userinfo
  std::string path;  // or the opaque part
};

// The parts of Go's url.Parse etcd's checks look at, with its errors.
absl::StatusOr<GoUrl> GoParse(absl::string_view raw) {
  for (char c : raw) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("net/url: invalid control character in URL");
    }
  }
  GoUrl u;
  absl::string_view rest = raw.substr(0, raw.find('#'));
  if (absl::Status st = SplitScheme(rest, &u.scheme, &rest); !st.ok()) return st;
  rest = rest.substr(0, rest.find('?'));
  if (rest.empty() || rest[0] != '/') {
    if (!u.scheme.empty()) {
      u.path = std::string(rest);  // opaque ("http:foo"): no host
      return u;
    }
    const absl::string_view segment = rest.substr(0, rest.find('/'));
    if (segment.find(':') != absl::string_view::npos) {
      return absl::InvalidArgumentError("first path segment in URL cannot contain colon");
    }
  }
  if ((!u.scheme.empty() || !absl::StartsWith(rest, "///")) && absl::StartsWith(rest, "//")) {
    absl::string_view authority = rest.substr(2);
    rest = {};
    if (size_t slash = authority.find('/'); slash != absl::string_view::npos) {
      rest = authority.substr(slash);
      authority = authority.substr(0, slash);
    }
    if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
      authority = authority.substr(at + 1);
    }
    if (absl::Status st = CheckHost(authority); !st.ok()) return st;
    u.host = std::string(authority);
  }
  u.path = std::string(rest);
  return u;
}

}  // namespace

std::string GoQuote(absl::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Url::HostPort() const {
  if (scheme == "unix" || scheme == "unixs") return "unix:" + host;
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<Url> ParseUrl(const std::string& s) {
  auto g = GoParse(s);
  if (!g.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parse ", GoQuote(s), ": ", g.status().message()));
  }
  Url u;
  u.scheme = g->scheme;
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "unix" && u.scheme != "unixs") {
    return absl::InvalidArgumentError(
        absl::StrCat("URL scheme must be http, https, unix, or unixs: ", s));
  }
  absl::string_view host, port;
  if (!SplitHostPort(g->host, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL address does not have the form \"host:port\": ", s));
  }
  if (!g->path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("URL must not contain a path: ", s));
  }
  if (u.scheme == "unix" || u.scheme == "unixs") {
    u.host = g->host;  // the socket's path, as etcd takes it
    return u;
  }
  u.host = std::string(host);
  // An empty port is Go's "any port".
  if (!port.empty() && (!absl::SimpleAtoi(port, &u.port) || u.port > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port in URL: ", s));
  }
  return u;
}

absl::StatusOr<std::vector<std::string>> ParseUrlList(absl::string_view value) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    std::string url(absl::StripAsciiWhitespace(part));
    if (auto u = ParseUrl(url); !u.ok()) return u.status();
    if (seen.insert(url).second) out.push_back(std::move(url));
  }
  return out;
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
  for (absl::string_view item : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    const size_t eq = item.find('=');
    std::string name(item.substr(0, eq));
    std::string url(
        eq == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(item.substr(eq + 1)));
    if (auto u = ParseUrl(url); !u.ok()) return u.status();
    out[name].push_back(std::move(url));
  }
  return out;
}

}  // namespace quorum::server
