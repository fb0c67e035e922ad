// Canonical errors of the raft library. Each has a stable message (mirroring
// etcd raft's texts) and a distinct predicate; callers must use the predicates
// rather than comparing codes, because several errors share an absl code.
#ifndef QUORUM_RAFT_ERRORS_H_
#define QUORUM_RAFT_ERRORS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace quorum::raft {

inline constexpr absl::string_view kErrCompacted =
    "requested index is unavailable due to compaction";
inline constexpr absl::string_view kErrSnapOutOfDate =
    "requested index is older than the existing snapshot";
inline constexpr absl::string_view kErrUnavailable = "requested entry at index is unavailable";
inline constexpr absl::string_view kErrSnapshotTemporarilyUnavailable =
    "snapshot is temporarily unavailable";
inline constexpr absl::string_view kErrProposalDropped = "raft proposal dropped";
inline constexpr absl::string_view kErrStepLocalMsg = "raft: cannot step raft local message";
inline constexpr absl::string_view kErrStepPeerNotFound =
    "raft: cannot step as peer not found";

// Storage: the index is below the first available index (compacted away).
inline absl::Status ErrCompacted() { return absl::OutOfRangeError(kErrCompacted); }
// Storage: snapshot/compaction request older than the current snapshot.
inline absl::Status ErrSnapOutOfDate() { return absl::FailedPreconditionError(kErrSnapOutOfDate); }
// Storage: the index is above the last available index.
inline absl::Status ErrUnavailable() { return absl::NotFoundError(kErrUnavailable); }
// Storage: a snapshot is being produced; the leader retries later.
inline absl::Status ErrSnapshotTemporarilyUnavailable() {
  return absl::UnavailableError(kErrSnapshotTemporarilyUnavailable);
}
// Proposal/ReadIndex/transfer could not be accepted (no leader, transfer in
// progress, removed from the cluster, uncommitted-size limit, forwarding off).
inline absl::Status ErrProposalDropped() { return absl::AbortedError(kErrProposalDropped); }
// RawNode::Step was given a local-only message type (MsgHup, MsgBeat, ...).
inline absl::Status ErrStepLocalMsg() { return absl::InvalidArgumentError(kErrStepLocalMsg); }
// RawNode::Step got a response from a peer not in the configuration.
inline absl::Status ErrStepPeerNotFound() {
  return absl::InvalidArgumentError(kErrStepPeerNotFound);
}

inline bool IsErrCompacted(const absl::Status& s) {
  return absl::IsOutOfRange(s) && s.message() == kErrCompacted;
}
inline bool IsErrSnapOutOfDate(const absl::Status& s) {
  return absl::IsFailedPrecondition(s) && s.message() == kErrSnapOutOfDate;
}
inline bool IsErrUnavailable(const absl::Status& s) {
  return absl::IsNotFound(s) && s.message() == kErrUnavailable;
}
inline bool IsErrSnapshotTemporarilyUnavailable(const absl::Status& s) {
  return absl::IsUnavailable(s) && s.message() == kErrSnapshotTemporarilyUnavailable;
}
inline bool IsErrProposalDropped(const absl::Status& s) {
  return absl::IsAborted(s) && s.message() == kErrProposalDropped;
}

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_ERRORS_H_
