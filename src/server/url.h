// Parsing of etcd-style URL flags: "http://127.0.0.1:2379",
// comma-separated URL lists, and --initial-cluster "n1=URL,n2=URL".
// Errors carry etcd's texts (its types.NewURLs over Go's url.Parse), since
// deployments and tests match on them.
#ifndef QUORUM_SERVER_URL_H_
#define QUORUM_SERVER_URL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quorum::server {

struct Url {
  std::string scheme;  // http | https | unix | unixs
  // The host (brackets stripped); for unix/unixs the whole "host:port",
  // which etcd uses as the socket path.
  std::string host;
  int port = 0;
  std::string HostPort() const;  // what gRPC listens on / dials
  bool tls() const { return scheme == "https" || scheme == "unixs"; }
};

// One URL as etcd accepts it: Go's url.Parse errors (`parse "X": first path
// segment in URL cannot contain colon`), then `URL scheme must be http,
// https, unix, or unixs: X`, `URL address does not have the form
// "host:port": X`, `URL must not contain a path: X`; a port above 65535 is
// refused too (etcd fails later, when it listens).
absl::StatusOr<Url> ParseUrl(const std::string& s);
// A URL-list flag value: split on ',', each element trimmed and checked as
// ParseUrl does (so "a," fails on its empty element, as in etcd); repeated
// URLs are kept once. Returns the URLs in the order given.
absl::StatusOr<std::vector<std::string>> ParseUrlList(absl::string_view value);
// Splits on ',' and drops empty elements (no checks).
std::vector<std::string> SplitList(const std::string& s);
// name -> peer URLs (a name may repeat to give a member several URLs), as
// etcd's types.NewURLsMap: empty elements are skipped, a name without '='
// has the empty URL (which fails the URL check).
absl::StatusOr<std::map<std::string, std::vector<std::string>>> ParseInitialCluster(
    const std::string& s);
// Go's strconv.Quote for the ASCII texts flags carry ("a b" -> "\"a b\"").
std::string GoQuote(absl::string_view s);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_URL_H_
