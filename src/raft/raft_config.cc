// Raft: installing snapshots (§7) and membership configurations (§4.1).
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/confchange.h"
#include "raft/raft.h"

namespace quorum::raft {

// ---- snapshots and configuration -----------------------------------------

bool Raft::Restore(const Snapshot& s) {
  if (s.metadata().index() <= log_.committed()) return false;
  if (state_ != StateType::kFollower) {
    // Defensive: only followers receive snapshots from a leader of this term.
    BecomeFollower(term_ + 1, kNone);
    return false;
  }
  const ConfState& cs = s.metadata().conf_state();
  const bool member = std::find(cs.voters().begin(), cs.voters().end(), id_) != cs.voters().end() ||
                      std::find(cs.learners().begin(), cs.learners().end(), id_) !=
                          cs.learners().end();
  if (!member && trk_.Get(id_) != nullptr) {
    // We are a member but the snapshot says otherwise: refuse it (etcd's
    // "should never happen" guard against a misrouted snapshot).
    LogInfo(absl::StrCat(id_, " ignores snapshot at ", s.metadata().index(),
                         ": not in its configuration"));
    return false;
  }
  // A node that is not (yet) in its own configuration — typically a new
  // member whose addition is newer than the leader's latest snapshot —
  // accepts it and learns its own addition from the log entries after it.
  // It cannot campaign until it applies that addition, so this is safe.
  // Fast-forward if our log already has the snapshot's last entry.
  if (log_.MatchTerm(s.metadata().index(), s.metadata().term())) {
    log_.CommitTo(s.metadata().index());
    return false;
  }
  log_.Restore(s);
  auto restored = RestoreFromConfState(trk_, cs, log_.LastIndex());
  RAFT_CHECK(restored.ok()) << "unable to restore config: " << restored.status();
  SwitchToConfig(std::move(*restored));
  LogInfo(absl::StrCat(id_, " restored snapshot at ", s.metadata().index()));
  return true;
}

absl::StatusOr<ConfState> Raft::ApplyConfChange(const ConfChange& cc) {
  auto r = ApplySimpleChange(trk_, cc, log_.LastIndex());
  if (!r.ok()) return r.status();
  SwitchToConfig(std::move(*r));
  return trk_.GetConfState();
}

void Raft::SwitchToConfig(ConfChangeResult r) {
  trk_.Install(std::move(r.config), std::move(r.progress));
  const Progress* self = trk_.Get(id_);
  is_learner_ = self != nullptr && self->is_learner;
  if (state_ != StateType::kLeader) return;
  if (self == nullptr || is_learner_) {
    // Removed or demoted: the change is committed (we only apply committed
    // changes), so step down; the remaining voters elect a new leader.
    LogInfo(absl::StrCat(id_, " removed or demoted while leader; stepping down"));
    BecomeFollower(term_, kNone);
    return;
  }
  if (lead_transferee_ != kNone && trk_.config().voters.count(lead_transferee_) == 0) {
    AbortLeaderTransfer();
  }
  // The quorum changed: maybe commit, and tell everyone either way.
  if (MaybeCommit()) {
    BcastAppend();
  } else {
    for (auto& [id, pr] : trk_.progress()) {
      if (id != id_) MaybeSendAppend(id, false);
    }
  }
}

}  // namespace quorum::raft
