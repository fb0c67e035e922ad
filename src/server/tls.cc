#include "server/tls.h"

#include <grpcpp/security/credentials.h>

#include <fstream>
#include <sstream>

namespace quorum::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& f) {
  if (f.cert_file.empty() || f.key_file.empty()) {
    return absl::InvalidArgumentError("https URLs need --cert-file and --key-file");
  }
  auto cert = ReadFile(f.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(f.key_file);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions opts(
      f.client_cert_auth ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                         : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!f.trusted_ca_file.empty()) {
    auto ca = ReadFile(f.trusted_ca_file);
    if (!ca.ok()) return ca.status();
    opts.pem_root_certs = *ca;
  } else if (f.client_cert_auth) {
    return absl::InvalidArgumentError("client certificate auth needs a trusted CA file");
  }
  opts.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(opts);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(const TlsFiles& f) {
  grpc::SslCredentialsOptions opts;
  if (!f.trusted_ca_file.empty()) {
    auto ca = ReadFile(f.trusted_ca_file);
    if (!ca.ok()) return ca.status();
    opts.pem_root_certs = *ca;
  }
  if (!f.cert_file.empty() && !f.key_file.empty()) {
    auto cert = ReadFile(f.cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(f.key_file);
    if (!key.ok()) return key.status();
    opts.pem_cert_chain = *cert;
    opts.pem_private_key = *key;
  }
  return grpc::SslCredentials(opts);
}

}  // namespace quorum::server
