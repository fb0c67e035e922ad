// Canonical MVCC errors. Messages are etcd's (without the "etcdserver: "
// prefix, which the server adds when mapping to gRPC), and they are stable:
// server/ recognises them by code + message.
#ifndef QUORUM_MVCC_ERRORS_H_
#define QUORUM_MVCC_ERRORS_H_

#include "absl/status/status.h"

namespace quorum::mvcc {

inline constexpr char kCompactedMsg[] = "mvcc: required revision has been compacted";
inline constexpr char kFutureRevMsg[] = "mvcc: required revision is a future revision";
inline constexpr char kRevNotFoundMsg[] = "mvcc: revision not found";

inline absl::Status ErrCompacted() { return absl::OutOfRangeError(kCompactedMsg); }
inline absl::Status ErrFutureRev() { return absl::OutOfRangeError(kFutureRevMsg); }
inline absl::Status ErrRevisionNotFound() { return absl::NotFoundError(kRevNotFoundMsg); }

inline bool IsCompacted(const absl::Status& s) {
  return absl::IsOutOfRange(s) && s.message() == kCompactedMsg;
}
inline bool IsFutureRev(const absl::Status& s) {
  return absl::IsOutOfRange(s) && s.message() == kFutureRevMsg;
}

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_ERRORS_H_
