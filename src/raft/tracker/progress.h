// raft::Progress — the leader's view of one follower's log (§5.3 nextIndex /
// matchIndex) plus the replication state machine that drives flow control:
//
//        +--------- reject / unreachable -----------+
//        v                                          |
//     [Probe] --- ack (MaybeUpdate) ---> [Replicate]
//        ^  \                                       |
//        |   +-- next compacted --> [Snapshot] <----+ (next compacted)
//        +--- snapshot applied / reported ----+
//
// Probe: at most one MsgApp per heartbeat interval until the match point is
// found. Replicate: optimistic pipelining bounded by Inflights. Snapshot: no
// appends until the snapshot is acknowledged or reported.
// Invariant: match < next. Owned by ProgressTracker; single-threaded.
#ifndef QUORUM_RAFT_TRACKER_PROGRESS_H_
#define QUORUM_RAFT_TRACKER_PROGRESS_H_

#include <string>

#include "raft/tracker/inflights.h"
#include "raft/types.h"

namespace quorum::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };
const char* ProgressStateName(ProgressState s);

struct Progress {
  Progress(Index next_index, size_t max_inflight, uint64_t max_inflight_bytes, bool learner)
      : next(next_index), inflights(max_inflight, max_inflight_bytes), is_learner(learner) {}

  void ResetState(ProgressState s);
  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);
  // Ack up to n: returns false if stale (n <= match); always unpauses.
  bool MaybeUpdate(Index n);
  // Replicate state: entries up to n are in flight.
  void OptimisticUpdate(Index n) { next = n + 1; }
  // A MsgApp at `rejected` was refused; match_hint is the follower's hint.
  // Returns false if the rejection is stale.
  bool MaybeDecrTo(Index rejected, Index match_hint);
  bool IsPaused() const;
  std::string String() const;

  Index match = 0;
  Index next;
  ProgressState state = ProgressState::kProbe;
  // Snapshot state: index of the snapshot being sent.
  Index pending_snapshot = 0;
  // Heard from recently (any message); reset each CheckQuorum interval.
  bool recent_active = false;
  // Probe state: a MsgApp is out; wait for a response or heartbeat response.
  bool msg_app_flow_paused = false;
  Inflights inflights;
  bool is_learner;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_TRACKER_PROGRESS_H_
