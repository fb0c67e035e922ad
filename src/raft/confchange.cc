#include "raft/confchange.h"

#include "absl/strings/str_cat.h"

namespace quorum::raft {
namespace {

void EnsureProgress(const ProgressTracker& t, ProgressMap& prs, NodeId id, Index last_index,
                    bool learner) {
  auto it = prs.find(id);
  if (it != prs.end()) {
    it->second.is_learner = learner;
    return;
  }
  Progress pr(std::max<Index>(last_index, 1), t.max_inflight(), t.max_inflight_bytes(), learner);
  pr.recent_active = true;
  prs.emplace(id, std::move(pr));
}

}  // namespace

absl::StatusOr<ConfChangeResult> ApplySimpleChange(const ProgressTracker& tracker,
                                                   const ConfChange& cc, Index last_index) {
  ConfChangeResult r{tracker.config(), tracker.progress()};
  const NodeId id = cc.node_id();
  if (id == kNone) return r;  // a no-op change (e.g. a replaced duplicate)
  switch (cc.type()) {
    case pb::ConfChangeAddNode:
      r.config.learners.erase(id);
      r.config.voters.insert(id);
      EnsureProgress(tracker, r.progress, id, last_index, /*learner=*/false);
      break;
    case pb::ConfChangeAddLearnerNode:
      r.config.voters.erase(id);
      r.config.learners.insert(id);
      EnsureProgress(tracker, r.progress, id, last_index, /*learner=*/true);
      break;
    case pb::ConfChangeRemoveNode:
      r.config.voters.erase(id);
      r.config.learners.erase(id);
      r.progress.erase(id);
      break;
    case pb::ConfChangeUpdateNode:
      break;  // the configuration stays; the application records the change
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown conf change type ", cc.type()));
  }
  if (r.config.voters.empty()) return absl::FailedPreconditionError("removed all voters");
  return r;
}

absl::StatusOr<ConfChangeResult> RestoreFromConfState(const ProgressTracker& tracker,
                                                      const ConfState& cs, Index last_index) {
  ConfChangeResult r{{}, {}};
  for (NodeId id : cs.voters()) {
    r.config.voters.insert(id);
    EnsureProgress(tracker, r.progress, id, last_index, false);
  }
  for (NodeId id : cs.learners()) {
    if (r.config.voters.count(id)) {
      return absl::InvalidArgumentError(absl::StrCat("node ", id, " is both voter and learner"));
    }
    r.config.learners.insert(id);
    EnsureProgress(tracker, r.progress, id, last_index, true);
  }
  return r;
}

}  // namespace quorum::raft
