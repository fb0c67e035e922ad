// TLS credentials from etcd-style flags (OpenSSL through gRPC's SSL
// credentials): server credentials for https:// listeners, and the client
// credentials a member uses to dial its peers.
#ifndef QUORUM_SERVER_TLS_H_
#define QUORUM_SERVER_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace quorum::server {

struct TlsFiles {
  std::string cert_file, key_file, trusted_ca_file;
  bool client_cert_auth = false;  // require and verify a client certificate
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& f);
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(const TlsFiles& f);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_TLS_H_
