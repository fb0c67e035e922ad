// Raft::StepCandidate: candidate and pre-candidate (§5.2, §9.6).
#include <utility>

#include "raft/errors.h"
#include "raft/raft.h"

namespace quorum::raft {

absl::Status Raft::StepCandidate(Message& m) {
  // Only responses to the current kind of campaign count; a pre-candidate
  // ignores stray MsgVoteResp of an older real campaign, and vice versa.
  const MessageType my_resp =
      state_ == StateType::kPreCandidate ? pb::MsgPreVoteResp : pb::MsgVoteResp;
  switch (m.type()) {
    case pb::MsgProp:
      return ErrProposalDropped();
    case pb::MsgApp:
      BecomeFollower(m.term(), m.from());  // a leader of our term exists
      HandleAppendEntries(m);
      return absl::OkStatus();
    case pb::MsgHeartbeat:
      BecomeFollower(m.term(), m.from());
      HandleHeartbeat(m);
      return absl::OkStatus();
    case pb::MsgSnap:
      BecomeFollower(m.term(), m.from());
      HandleSnapshot(m);
      return absl::OkStatus();
    case pb::MsgTimeoutNow:
      return absl::OkStatus();  // only meaningful to followers
    default:
      break;
  }
  if (m.type() == my_resp) {
    const auto tally = Poll(m.from(), m.type(), !m.reject());
    switch (tally.result) {
      case VoteResult::kWon:
        if (state_ == StateType::kPreCandidate) {
          Campaign(CampaignType::kElection);
        } else {
          BecomeLeader();
          BcastAppend();
        }
        break;
      case VoteResult::kLost:
        // A lost pre-vote/vote: back to follower in the current term (a
        // rejection with a higher term already moved us there in Step).
        BecomeFollower(term_, kNone);
        break;
      case VoteResult::kPending:
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace quorum::raft
