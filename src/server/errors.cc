#include "server/errors.h"

#include <string>

#include "mvcc/errors.h"

namespace quorum::server {

absl::Status ErrEmptyKey() { return absl::InvalidArgumentError("etcdserver: key is not provided"); }
absl::Status ErrKeyNotFound() { return absl::InvalidArgumentError("etcdserver: key not found"); }
absl::Status ErrValueProvided() { return absl::InvalidArgumentError("etcdserver: value is provided"); }
absl::Status ErrLeaseProvided() { return absl::InvalidArgumentError("etcdserver: lease is provided"); }
absl::Status ErrTooManyOps() {
  return absl::InvalidArgumentError("etcdserver: too many operations in txn request");
}
absl::Status ErrDuplicateKey() {
  return absl::InvalidArgumentError("etcdserver: duplicate key given in txn request");
}
absl::Status ErrInvalidSortOption() {
  return absl::InvalidArgumentError("etcdserver: invalid sort option");
}
absl::Status ErrRequestTooLarge() {
  return absl::InvalidArgumentError("etcdserver: request is too large");
}
absl::Status ErrLeaseNotFound() { return absl::NotFoundError("etcdserver: requested lease not found"); }
absl::Status ErrStopped() { return absl::UnavailableError("etcdserver: server stopped"); }
absl::Status ErrTimeout() { return absl::UnavailableError("etcdserver: request timed out"); }
absl::Status ErrNoSpace() {
  return absl::ResourceExhaustedError("etcdserver: mvcc: database space exceeded");
}
absl::Status ErrCorrupt() { return absl::DataLossError("etcdserver: corrupt cluster"); }

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  std::string msg(s.message());
  if (mvcc::IsCompacted(s) || mvcc::IsFutureRev(s)) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "etcdserver: " + msg);
  }
  // absl and grpc share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), msg);
}

}  // namespace quorum::server
