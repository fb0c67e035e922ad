// Raft::Step: the rules common to every role — term comparison (§5.1),
// PreVote (§9.6), CheckQuorum leases (§6.2 / §4.2.3), voting (§5.2, §5.4.1)
// — then dispatch to the per-role step function.
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/errors.h"
#include "raft/raft.h"

namespace quorum::raft {

absl::Status Raft::Step(Message m) {
  if (m.term() == 0) {
    // Local message (or a forwarded proposal / read request).
  } else if (m.term() > term_) {
    if (m.type() == pb::MsgVote || m.type() == pb::MsgPreVote) {
      const bool force = m.context() == kCampaignTransfer;
      const bool in_lease = check_quorum_ && lead_ != kNone &&
                            election_elapsed_ < election_timeout_;
      if (!force && in_lease) {
        // We heard from a leader within the minimum election timeout: do
        // not let a (possibly partitioned) candidate depose it (§4.2.3).
        return absl::OkStatus();
      }
    }
    if (m.type() == pb::MsgPreVote) {
      // A pre-vote never changes our term.
    } else if (m.type() == pb::MsgPreVoteResp && !m.reject()) {
      // Granted pre-votes carry the future term; handled by the candidate.
    } else {
      if (m.type() == pb::MsgApp || m.type() == pb::MsgHeartbeat || m.type() == pb::MsgSnap) {
        BecomeFollower(m.term(), m.from());
      } else {
        BecomeFollower(m.term(), kNone);
      }
    }
  } else if (m.term() < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (m.type() == pb::MsgHeartbeat || m.type() == pb::MsgApp)) {
      // A stale leader (e.g. after a partition with CheckQuorum/PreVote, where
      // our term rose without it hearing): answer so it learns the new term
      // and steps down, instead of silently dropping.
      Message resp;
      resp.set_to(m.from());
      resp.set_type(pb::MsgAppResp);
      Send(std::move(resp));
    } else if (m.type() == pb::MsgPreVote || m.type() == pb::MsgVote) {
      // Reject with our term so the candidate catches up (the paper's rule:
      // every RPC reply carries currentTerm). Dropping it instead (etcd)
      // can deadlock: a lagging voter whose stale configuration lacks the
      // candidate keeps raising its term in elections it cannot win, while
      // the candidate it must vote for stays below and is never heard.
      // Found by the simulation (membership changes, seed 22).
      Message resp;
      resp.set_to(m.from());
      resp.set_term(term_);
      resp.set_type(VoteRespMsgType(m.type()));
      resp.set_reject(true);
      Send(std::move(resp));
    }
    // Otherwise ignore the stale message.
    return absl::OkStatus();
  }

  switch (m.type()) {
    case pb::MsgHup:
      Hup(pre_vote_ ? CampaignType::kPreElection : CampaignType::kElection);
      return absl::OkStatus();
    case pb::MsgVote:
    case pb::MsgPreVote:
      HandleVoteRequest(m);
      return absl::OkStatus();
    default:
      break;
  }
  switch (state_) {
    case StateType::kLeader:
      return StepLeader(m);
    case StateType::kCandidate:
    case StateType::kPreCandidate:
      return StepCandidate(m);
    case StateType::kFollower:
      return StepFollower(m);
  }
  return absl::OkStatus();
}

void Raft::HandleVoteRequest(const Message& m) {
  // We can vote if we already voted for this candidate (repeat), if we have
  // not voted and know no leader in this term, or for a pre-vote of a
  // future term (pre-votes are not binding).
  const bool can_vote = vote_ == m.from() || (vote_ == kNone && lead_ == kNone) ||
                        (m.type() == pb::MsgPreVote && m.term() > term_);
  Message resp;
  resp.set_to(m.from());
  resp.set_type(VoteRespMsgType(m.type()));
  if (can_vote && log_.IsUpToDate(m.index(), m.log_term())) {
    // Respond with the candidate's term: for a pre-vote it is the future
    // term, which the pre-candidate expects (we did not adopt it).
    resp.set_term(m.term());
    if (m.type() == pb::MsgVote) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    resp.set_term(term_);
    resp.set_reject(true);
  }
  Send(std::move(resp));
}

void Raft::Hup(CampaignType t) {
  if (state_ == StateType::kLeader) return;
  if (!Promotable()) return;
  if (HasUnappliedConfChanges()) {
    LogInfo(absl::StrCat(id_, " cannot campaign at term ", term_,
                         ": pending configuration changes to apply"));
    return;
  }
  Campaign(t);
}

void Raft::Campaign(CampaignType t) {
  Term term;
  MessageType vote_msg;
  if (t == CampaignType::kPreElection) {
    BecomePreCandidate();
    vote_msg = pb::MsgPreVote;
    term = term_ + 1;  // the term we would campaign in
  } else {
    BecomeCandidate();
    vote_msg = pb::MsgVote;
    term = term_;
  }
  // Vote for ourselves first (our vote is in the HardState of this Ready).
  if (Poll(id_, VoteRespMsgType(vote_msg), true).result == VoteResult::kWon) {
    // Single-voter cluster.
    if (t == CampaignType::kPreElection) {
      Campaign(CampaignType::kElection);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId id : trk_.VoterNodes()) {
    if (id == id_) continue;
    Message m;
    m.set_to(id);
    m.set_term(term);
    m.set_type(vote_msg);
    m.set_index(log_.LastIndex());
    m.set_log_term(log_.LastTerm());
    if (t == CampaignType::kTransfer) m.set_context(kCampaignTransfer);
    Send(std::move(m));
  }
}

ProgressTracker::Tally Raft::Poll(NodeId id, MessageType t, bool granted) {
  (void)t;
  trk_.RecordVote(id, granted);
  return trk_.TallyVotes();
}

}  // namespace quorum::raft
