// raft::ProgressTracker — the current membership configuration (voters and
// learners, disjoint) and, for each member, its Progress; plus the votes of
// the current election. Owned by Raft; single-threaded.
//
// Configuration changes are computed by confchange.h on a copy and installed
// with Install(); members keep their Progress across changes.
#ifndef QUORUM_RAFT_TRACKER_PROGRESS_TRACKER_H_
#define QUORUM_RAFT_TRACKER_PROGRESS_TRACKER_H_

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "raft/quorum/majority.h"
#include "raft/tracker/progress.h"

namespace quorum::raft {

struct TrackerConfig {
  std::set<NodeId> voters;
  std::set<NodeId> learners;
  bool operator==(const TrackerConfig&) const = default;
};

using ProgressMap = std::map<NodeId, Progress>;

class ProgressTracker {
 public:
  ProgressTracker(size_t max_inflight, uint64_t max_inflight_bytes)
      : max_inflight_(max_inflight), max_inflight_bytes_(max_inflight_bytes) {}

  const TrackerConfig& config() const { return config_; }
  ProgressMap& progress() { return progress_; }
  const ProgressMap& progress() const { return progress_; }
  Progress* Get(NodeId id);
  const Progress* Get(NodeId id) const;
  void Install(TrackerConfig cfg, ProgressMap prs);

  ConfState GetConfState() const;
  bool IsSingleton() const { return config_.voters.size() == 1; }
  // Largest index acknowledged (match) by a majority of voters.
  Index Committed() const;
  // Sorted voter ids.
  std::vector<NodeId> VoterNodes() const;
  // Do a majority of voters count as recently active? (CheckQuorum)
  bool QuorumActive() const;

  void ResetVotes() { votes_.clear(); }
  void RecordVote(NodeId id, bool granted) { votes_.emplace(id, granted); }
  struct Tally {
    size_t granted = 0;
    size_t rejected = 0;
    VoteResult result = VoteResult::kPending;
  };
  Tally TallyVotes() const;

  size_t max_inflight() const { return max_inflight_; }
  uint64_t max_inflight_bytes() const { return max_inflight_bytes_; }

 private:
  TrackerConfig config_;
  ProgressMap progress_;
  std::map<NodeId, bool> votes_;
  size_t max_inflight_;
  uint64_t max_inflight_bytes_;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_TRACKER_PROGRESS_TRACKER_H_
