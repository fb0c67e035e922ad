// Error conventions of the client library.
//
// Every failure is an absl::Status whose code is the gRPC status code (the
// numeric values coincide) and whose message is the server's description
// verbatim -- for etcd errors that is etcd's text, e.g.
// InvalidArgument "etcdserver: key is not provided". Callers that print
// errors the way etcdctl does (quorumctl) rely on that.
//
// Client-side failures:
//   * the command deadline passed before any endpoint answered:
//     DeadlineExceeded "context deadline exceeded" (Go's context error text,
//     which is what etcdctl prints);
//   * bad options (no endpoints, unreadable TLS file): InvalidArgument.
#ifndef QUORUM_CLIENT_ERRORS_H_
#define QUORUM_CLIENT_ERRORS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace quorum::client {

inline constexpr char kDeadlineExceededMessage[] = "context deadline exceeded";

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_ERRORS_H_
