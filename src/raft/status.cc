#include "raft/status.h"

#include "absl/strings/str_cat.h"
#include "raft/raft.h"

namespace quorum::raft {

Status GetStatus(const Raft& r) {
  Status s;
  s.id = r.id();
  s.hard_state = r.GetHardState();
  s.soft_state = r.GetSoftState();
  s.applied = r.raft_log().applied();
  s.lead_transferee = r.lead_transferee();
  s.config = r.tracker().GetConfState();
  if (r.state() == StateType::kLeader) {
    for (const auto& [id, pr] : r.tracker().progress()) {
      s.progress[id] = PeerStatus{pr.match,        pr.next,       pr.state,
                                  pr.recent_active, pr.IsPaused(), pr.is_learner,
                                  pr.inflights.Count(), pr.pending_snapshot};
    }
  }
  return s;
}

std::string DescribeStatus(const Status& s) {
  std::string out = absl::StrCat("id=", s.id, " term=", s.hard_state.term(),
                                 " vote=", s.hard_state.vote(), " commit=", s.hard_state.commit(),
                                 " applied=", s.applied, " lead=", s.soft_state.lead, " state=",
                                 StateTypeName(s.soft_state.raft_state));
  if (s.lead_transferee != kNone) absl::StrAppend(&out, " transferee=", s.lead_transferee);
  for (const auto& [id, p] : s.progress) {
    absl::StrAppend(&out, "\n  ", id, ": ", ProgressStateName(p.state), " match=", p.match,
                    " next=", p.next);
    if (p.is_learner) absl::StrAppend(&out, " learner");
    if (p.paused) absl::StrAppend(&out, " paused");
    if (p.pending_snapshot) absl::StrAppend(&out, " pendingSnap=", p.pending_snapshot);
    if (p.inflight) absl::StrAppend(&out, " inflight=", p.inflight);
  }
  return out;
}

}  // namespace quorum::raft
