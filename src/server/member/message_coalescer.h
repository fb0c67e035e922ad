// CoalesceMessages: drops raft messages of one Ready that a later message
// of the same Ready to the same peer makes redundant, before they are sent.
//
// Under load one raft-loop iteration often produces, per follower, a
// commit-only MsgApp (each ack that advances the commit index broadcasts
// one) followed by a MsgApp with new entries that carries the same or a
// newer commit index; a follower that received several MsgApps in one
// iteration answers each with a MsgAppResp where the last one acknowledges
// them all. Every dropped message saves a serialisation, a Step and — for
// a MsgApp — the follower's reply.
//
// Dropped (m is earlier in `msgs` than k, same `to`, same term):
//   m: MsgApp without entries, k: MsgApp with k.index >= m.index and
//      k.commit >= m.commit (the follower learns at least as much from k);
//   m: MsgAppResp accepting index i, k: MsgAppResp accepting index >= i
//      (the leader's progress only moves forward; rejections are kept).
// Dropping a raft message is always safe (raft tolerates loss); these rules
// also lose no information, so no retransmission is needed. Order of the
// kept messages is preserved.
#ifndef QUORUM_SERVER_MEMBER_MESSAGE_COALESCER_H_
#define QUORUM_SERVER_MEMBER_MESSAGE_COALESCER_H_

#include <vector>

#include "internal/raft.pb.h"

namespace quorum::server {

// Returns how many messages were dropped.
size_t CoalesceMessages(std::vector<raftpb::Message>* msgs);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_MESSAGE_COALESCER_H_
