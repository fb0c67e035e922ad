// Proposer: how the services hand a mutation to the replicated log. The
// services never touch mvcc for writes; they propose an InternalRequest and
// get its InternalResponse back after it has been applied, in log order, on
// this member. Implementation: RaftMember (server/member/raft_member.h).
// Thread-safety: Propose may be called from any thread; `done` runs on the
// apply or raft thread (ProposeNow: possibly on the caller's, before it
// returns), must not block, and is called exactly once.
#ifndef QUORUM_SERVER_PROPOSER_H_
#define QUORUM_SERVER_PROPOSER_H_

#include <cstdint>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "internal/internal.pb.h"

namespace quorum::server {

using ProposeDone = absl::AnyInvocable<void(absl::StatusOr<internalpb::InternalResponse>) &&>;
using ReadReady = absl::AnyInvocable<void(absl::Status) &&>;

class Proposer {
 public:
  virtual ~Proposer() = default;
  // The request header's id is assigned by the proposer.
  virtual void Propose(internalpb::InternalRequest req, ProposeDone done) = 0;
  // As Propose, but may run the raft iteration (and persist, and apply) on
  // the calling thread when the raft loop is idle, so `done` may run before
  // this returns. Only for callers that hold no lock `done` could need.
  virtual void ProposeNow(internalpb::InternalRequest req, ProposeDone done) {
    Propose(std::move(req), std::move(done));
  }
  // Linearizable read barrier: `ready` runs once this member has applied
  // everything committed before the call (ReadIndex), or with an error.
  virtual void ReadBarrier(ReadReady ready) = 0;
  // `ready` runs once this member has applied everything it knew to be
  // committed at the call: a local wait, no quorum round (etcd's
  // waitAppliedIndex). Errors only when the member stops.
  virtual void WaitApplied(ReadReady ready) = 0;
  // Raft term and applied index, for response headers and Status.
  virtual uint64_t Term() const = 0;
  virtual uint64_t AppliedIndex() const = 0;
  virtual uint64_t CommittedIndex() const = 0;
  virtual uint64_t LeaderId() const = 0;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_PROPOSER_H_
