// Shared vocabulary of the raft library: proto aliases, ids and roles.
//
// The wire/storage types are the generated protos of proto/internal/raft.proto,
// used directly (as etcd raft uses raftpb). Index, Term and NodeId are aliases
// of uint64_t because they live inside those protos; the aliases document
// intent in signatures (deviation from STYLE.md strong types, on purpose: a
// wrapper would need a conversion at every proto field access on the hot path).
#ifndef QUORUM_RAFT_TYPES_H_
#define QUORUM_RAFT_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "internal/raft.pb.h"

namespace quorum::raft {

namespace pb = ::quorum::raftpb;

using Index = uint64_t;
using Term = uint64_t;
using NodeId = uint64_t;

inline constexpr NodeId kNone = 0;  // "no node": no leader, no vote.

using Entry = pb::Entry;
using Message = pb::Message;
using HardState = pb::HardState;
using ConfState = pb::ConfState;
using ConfChange = pb::ConfChange;
using Snapshot = pb::Snapshot;
using MessageType = pb::MessageType;
using EntryVec = std::vector<Entry>;

enum class StateType { kFollower, kCandidate, kLeader, kPreCandidate };

const char* StateTypeName(StateType s);

// Volatile state; not persisted. Reported in Ready when it changes.
struct SoftState {
  NodeId lead = kNone;
  StateType raft_state = StateType::kFollower;
  bool operator==(const SoftState&) const = default;
};

// Answer to a ReadIndex request: once the local applied index reaches
// `index`, a read issued with request context `request_ctx` is linearizable.
struct ReadState {
  Index index = 0;
  std::string request_ctx;
  bool operator==(const ReadState&) const = default;
};

inline bool IsEmptyHardState(const HardState& hs) {
  return hs.term() == 0 && hs.vote() == 0 && hs.commit() == 0;
}
inline bool HardStateEqual(const HardState& a, const HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() && a.commit() == b.commit();
}
inline bool IsEmptySnap(const Snapshot& s) { return s.metadata().index() == 0; }

// Approximate in-memory/wire size of an entry, for flow-control limits.
inline uint64_t EntrySize(const Entry& e) { return e.data().size() + 24; }
uint64_t PayloadsSize(const EntryVec& ents);

// Keeps the longest prefix of `ents` within max_size bytes, never fewer than
// one entry (so progress is always possible).
void LimitSize(EntryVec& ents, uint64_t max_size);

bool IsLocalMsg(MessageType t);
bool IsResponseMsg(MessageType t);
// The response type matching a vote request type.
MessageType VoteRespMsgType(MessageType t);

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_TYPES_H_
