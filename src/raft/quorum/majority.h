// Majority-quorum math over a set of voter ids: the committed index (the
// largest index acknowledged by a majority) and the outcome of a vote.
// Pure functions, no state. An empty voter set commits everything
// (kNoLimit) and wins every vote, which keeps joint/empty configs well
// defined (as in etcd's quorum package).
#ifndef QUORUM_RAFT_QUORUM_MAJORITY_H_
#define QUORUM_RAFT_QUORUM_MAJORITY_H_

#include <functional>
#include <map>
#include <optional>
#include <set>

#include "raft/types.h"

namespace quorum::raft {

enum class VoteResult { kPending, kLost, kWon };

// acked(id) returns the index acknowledged by voter id, or nullopt if unknown.
Index MajorityCommittedIndex(const std::set<NodeId>& voters,
                             const std::function<std::optional<Index>(NodeId)>& acked);

// votes maps voter id -> granted?; voters missing from the map are pending.
VoteResult MajorityVoteResult(const std::set<NodeId>& voters, const std::map<NodeId, bool>& votes);

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_QUORUM_MAJORITY_H_
