// The server's canonical errors, with etcd's exact gRPC codes and messages
// (clients such as etcdctl and clientv3 match on the message text), and the
// one function that maps any internal absl::Status to a grpc::Status.
#ifndef QUORUM_SERVER_ERRORS_H_
#define QUORUM_SERVER_ERRORS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace quorum::server {

absl::Status ErrEmptyKey();          // InvalidArgument "etcdserver: key is not provided"
absl::Status ErrKeyNotFound();       // InvalidArgument "etcdserver: key not found"
absl::Status ErrValueProvided();     // InvalidArgument "etcdserver: value is provided"
absl::Status ErrLeaseProvided();     // InvalidArgument "etcdserver: lease is provided"
absl::Status ErrTooManyOps();        // InvalidArgument "etcdserver: too many operations in txn request"
absl::Status ErrDuplicateKey();      // InvalidArgument "etcdserver: duplicate key given in txn request"
absl::Status ErrInvalidSortOption(); // InvalidArgument "etcdserver: invalid sort option"
absl::Status ErrRequestTooLarge();   // InvalidArgument "etcdserver: request is too large"
absl::Status ErrLeaseNotFound();     // NotFound "etcdserver: requested lease not found"
absl::Status ErrStopped();           // Unavailable "etcdserver: server stopped"
absl::Status ErrTimeout();           // Unavailable "etcdserver: request timed out"
absl::Status ErrNoSpace();           // ResourceExhausted "etcdserver: mvcc: database space exceeded"
absl::Status ErrCorrupt();           // DataLoss "etcdserver: corrupt cluster"

// Maps internal errors to what etcd sends: mvcc errors gain the
// "etcdserver: " prefix, server errors pass through, anything unexpected
// becomes Internal with its message.
grpc::Status ToGrpcStatus(const absl::Status& s);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_ERRORS_H_
