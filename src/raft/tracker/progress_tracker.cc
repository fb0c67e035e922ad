#include "raft/tracker/progress_tracker.h"

#include <utility>

namespace quorum::raft {

Progress* ProgressTracker::Get(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::Get(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

void ProgressTracker::Install(TrackerConfig cfg, ProgressMap prs) {
  config_ = std::move(cfg);
  progress_ = std::move(prs);
}

ConfState ProgressTracker::GetConfState() const {
  ConfState cs;
  for (NodeId id : config_.voters) cs.add_voters(id);
  for (NodeId id : config_.learners) cs.add_learners(id);
  return cs;
}

Index ProgressTracker::Committed() const {
  return MajorityCommittedIndex(config_.voters, [this](NodeId id) -> std::optional<Index> {
    const Progress* pr = Get(id);
    if (pr == nullptr) return std::nullopt;
    return pr->match;
  });
}

std::vector<NodeId> ProgressTracker::VoterNodes() const {
  return std::vector<NodeId>(config_.voters.begin(), config_.voters.end());
}

bool ProgressTracker::QuorumActive() const {
  std::map<NodeId, bool> votes;
  for (const auto& [id, pr] : progress_) {
    if (!pr.is_learner) votes[id] = pr.recent_active;
  }
  return MajorityVoteResult(config_.voters, votes) == VoteResult::kWon;
}

ProgressTracker::Tally ProgressTracker::TallyVotes() const {
  Tally t;
  for (const auto& [id, granted] : votes_) {
    if (config_.voters.count(id) == 0) continue;
    if (granted) {
      ++t.granted;
    } else {
      ++t.rejected;
    }
  }
  t.result = MajorityVoteResult(config_.voters, votes_);
  return t;
}

}  // namespace quorum::raft
