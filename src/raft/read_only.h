// raft::ReadOnly — the leader's queue of pending ReadIndex requests (Raft
// thesis §6.4). Each request is keyed by its context (the first entry's data
// of the MsgReadIndex) and remembers the commit index at arrival. A request
// is answered once a quorum acknowledged a heartbeat carrying its context
// (or any later one: acks confirm leadership for every earlier request too,
// which is how many concurrent reads share one heartbeat round). One round
// is out at a time: requests that come while it is out wait for its end and
// share the next, since a round confirms only requests older than itself.
// Owned by Raft; reset on every role change. Single-threaded.
#ifndef QUORUM_RAFT_READ_ONLY_H_
#define QUORUM_RAFT_READ_ONLY_H_

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "raft/types.h"

namespace quorum::raft {

enum class ReadOnlyOption {
  // Confirm leadership with a heartbeat round (always linearizable).
  kSafe,
  // Trust the leader lease (needs CheckQuorum and bounded clock drift).
  kLeaseBased,
};

struct ReadIndexStatus {
  Message req;
  Index index = 0;
  std::set<NodeId> acks;
};

class ReadOnly {
 public:
  explicit ReadOnly(ReadOnlyOption option) : option_(option) {}

  ReadOnlyOption option() const { return option_; }
  // Queues a request (ignored if its context is already pending).
  void AddRequest(Index index, const Message& m);
  // Records an ack for ctx; returns the ack set, or nullptr if unknown ctx.
  const std::set<NodeId>* RecvAck(NodeId id, const std::string& ctx);
  // Dequeues and returns every request up to and including ctx.
  std::vector<ReadIndexStatus> Advance(const std::string& ctx);
  // Context of the newest pending request ("" if none).
  std::string LastPendingRequestCtx() const;
  size_t PendingCount() const { return queue_.size(); }
  // The heartbeat round for reads: started with the newest request's
  // context, out until that request is answered (or dropped on a reset).
  void StartRound(const std::string& ctx) { round_ctx_ = ctx; }
  bool RoundOut() const { return !round_ctx_.empty() && pending_.count(round_ctx_) != 0; }

 private:
  ReadOnlyOption option_;
  std::map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
  std::string round_ctx_;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_READ_ONLY_H_
