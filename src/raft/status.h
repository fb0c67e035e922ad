// raft::Status — a point-in-time copy of a node's raft state for metrics,
// `endpoint status`, debugging and tests. Produced by RawNode::GetStatus().
#ifndef QUORUM_RAFT_STATUS_H_
#define QUORUM_RAFT_STATUS_H_

#include <map>
#include <string>

#include "raft/tracker/progress.h"
#include "raft/types.h"

namespace quorum::raft {

class Raft;

struct PeerStatus {
  Index match = 0;
  Index next = 0;
  ProgressState state = ProgressState::kProbe;
  bool recent_active = false;
  bool paused = false;
  bool is_learner = false;
  size_t inflight = 0;
  Index pending_snapshot = 0;
};

struct Status {
  NodeId id = kNone;
  HardState hard_state;
  SoftState soft_state;
  Index applied = 0;
  NodeId lead_transferee = kNone;
  ConfState config;
  // Only filled on the leader.
  std::map<NodeId, PeerStatus> progress;
};

Status GetStatus(const Raft& r);
std::string DescribeStatus(const Status& s);

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_STATUS_H_
