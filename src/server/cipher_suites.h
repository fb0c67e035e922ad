// --cipher-suites: etcd takes Go's TLS cipher suite names; gRPC's OpenSSL
// takes its own. This maps one list onto the other (for the
// GRPC_SSL_CIPHER_SUITES setting, which gRPC reads once, when it first
// builds TLS credentials: client, peer and dialing alike, as etcd applies
// the list to both).
#ifndef QUORUM_SERVER_CIPHER_SUITES_H_
#define QUORUM_SERVER_CIPHER_SUITES_H_

#include <string>

#include "absl/status/statusor.h"

namespace quorum::server {

// "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,..." -> "ECDHE-RSA-AES128-GCM-SHA256:...".
// Elements are not trimmed (etcd does not trim either). TLS 1.3 suites are
// accepted and left out: neither Go nor OpenSSL's TLS 1.2 list configures
// them. An unknown name fails with etcd's `unexpected TLS cipher suite "x"`.
absl::StatusOr<std::string> OpenSslCipherList(const std::string& go_names);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_CIPHER_SUITES_H_
