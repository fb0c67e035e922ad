// Parsing of etcd-style URL flags: "http://127.0.0.1:2379",
// comma-separated URL lists, and --initial-cluster "n1=URL,n2=URL".
#ifndef QUORUM_SERVER_URL_H_
#define QUORUM_SERVER_URL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace quorum::server {

struct Url {
  std::string scheme;  // http | https | unix | unixs
  std::string host;
  int port = 0;
  std::string HostPort() const;  // what gRPC listens on / dials
  bool tls() const { return scheme == "https" || scheme == "unixs"; }
};

absl::StatusOr<Url> ParseUrl(const std::string& s);
std::vector<std::string> SplitList(const std::string& s);
// name -> peer URLs (a name may repeat to give a member several URLs).
absl::StatusOr<std::map<std::string, std::vector<std::string>>> ParseInitialCluster(
    const std::string& s);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_URL_H_
