#include "raft/types.h"

namespace quorum::raft {

const char* StateTypeName(StateType s) {
  switch (s) {
    case StateType::kFollower: return "StateFollower";
    case StateType::kCandidate: return "StateCandidate";
    case StateType::kLeader: return "StateLeader";
    case StateType::kPreCandidate: return "StatePreCandidate";
  }
  return "StateUnknown";
}

uint64_t PayloadsSize(const EntryVec& ents) {
  uint64_t n = 0;
  for (const Entry& e : ents) n += e.data().size();
  return n;
}

void LimitSize(EntryVec& ents, uint64_t max_size) {
  if (ents.empty()) return;
  uint64_t size = EntrySize(ents[0]);
  size_t limit = 1;
  for (; limit < ents.size(); ++limit) {
    size += EntrySize(ents[limit]);
    if (size > max_size) break;
  }
  ents.resize(limit);
}

bool IsLocalMsg(MessageType t) {
  return t == pb::MsgHup || t == pb::MsgBeat || t == pb::MsgUnreachable ||
         t == pb::MsgSnapStatus || t == pb::MsgCheckQuorum;
}

bool IsResponseMsg(MessageType t) {
  return t == pb::MsgAppResp || t == pb::MsgVoteResp || t == pb::MsgHeartbeatResp ||
         t == pb::MsgUnreachable || t == pb::MsgPreVoteResp;
}

MessageType VoteRespMsgType(MessageType t) {
  return t == pb::MsgPreVote ? pb::MsgPreVoteResp : pb::MsgVoteResp;
}

}  // namespace quorum::raft
