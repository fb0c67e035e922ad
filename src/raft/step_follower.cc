// Raft::StepFollower and the follower-side handlers of AppendEntries (§5.3),
// heartbeats and InstallSnapshot (§7).
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/errors.h"
#include "raft/raft.h"

namespace quorum::raft {

absl::Status Raft::StepFollower(Message& m) {
  switch (m.type()) {
    case pb::MsgProp:
      if (lead_ == kNone || disable_proposal_forwarding_) return ErrProposalDropped();
      m.set_to(lead_);
      Send(std::move(m));
      return absl::OkStatus();
    case pb::MsgApp:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleAppendEntries(m);
      return absl::OkStatus();
    case pb::MsgHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleHeartbeat(m);
      return absl::OkStatus();
    case pb::MsgSnap:
      election_elapsed_ = 0;
      lead_ = m.from();
      HandleSnapshot(m);
      return absl::OkStatus();
    case pb::MsgTransferLeader:
      if (lead_ == kNone) return ErrProposalDropped();
      m.set_to(lead_);
      m.set_term(0);
      Send(std::move(m));
      return absl::OkStatus();
    case pb::MsgTimeoutNow:
      // The leader asks us to campaign immediately (§3.10), bypassing
      // PreVote and leases: it is handing over leadership.
      LogInfo(absl::StrCat(id_, " received MsgTimeoutNow from ", m.from(), " at term ", term_));
      Hup(CampaignType::kTransfer);
      return absl::OkStatus();
    case pb::MsgReadIndex:
      if (lead_ == kNone) return ErrProposalDropped();
      m.set_to(lead_);
      Send(std::move(m));
      return absl::OkStatus();
    case pb::MsgReadIndexResp:
      if (m.entries_size() != 1) {
        return absl::InvalidArgumentError("invalid format of MsgReadIndexResp");
      }
      read_states_.push_back(ReadState{m.index(), m.entries(0).data()});
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

void Raft::HandleAppendEntries(Message& m) {
  Message resp;
  resp.set_to(m.from());
  resp.set_type(pb::MsgAppResp);
  if (m.index() < log_.committed()) {
    // Everything up to our commit index is known to match: tell the leader.
    resp.set_index(log_.committed());
    Send(std::move(resp));
    return;
  }
  EntryVec ents;
  ents.reserve(m.entries_size());
  for (Entry& e : *m.mutable_entries()) ents.push_back(std::move(e));
  if (auto last = log_.MaybeAppend(m.index(), m.log_term(), m.commit(), std::move(ents))) {
    resp.set_index(*last);
    Send(std::move(resp));
    return;
  }
  // Reject with a hint (§5.3 optimization): the largest index <= m.index
  // whose term is <= m.log_term. The leader then skips every index in
  // between whose term cannot match, one round trip per term.
  const Index hint_index = std::min(m.index(), log_.LastIndex());
  const auto [idx, term] = log_.FindConflictByTerm(hint_index, m.log_term());
  resp.set_index(m.index());
  resp.set_reject(true);
  resp.set_reject_hint(idx);
  resp.set_log_term(term);
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const Message& m) {
  log_.CommitTo(m.commit());
  Message resp;
  resp.set_to(m.from());
  resp.set_type(pb::MsgHeartbeatResp);
  resp.set_context(m.context());
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  const Index sindex = m.snapshot().metadata().index();
  Message resp;
  resp.set_to(m.from());
  resp.set_type(pb::MsgAppResp);
  if (Restore(m.snapshot())) {
    LogInfo(absl::StrCat(id_, " restored snapshot [index: ", sindex, "]"));
    resp.set_index(log_.LastIndex());
  } else {
    resp.set_index(log_.committed());
  }
  Send(std::move(resp));
}

}  // namespace quorum::raft
