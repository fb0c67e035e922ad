// raft::Inflights — the leader's flow-control window for one follower: the
// last index (and byte size) of each MsgApp sent but not yet acknowledged.
// A ring buffer bounded by a message count and a byte budget. Owned by
// Progress; single-threaded.
#ifndef QUORUM_RAFT_TRACKER_INFLIGHTS_H_
#define QUORUM_RAFT_TRACKER_INFLIGHTS_H_

#include <cstdint>
#include <vector>

#include "raft/types.h"

namespace quorum::raft {

class Inflights {
 public:
  // max_bytes == 0 means no byte limit.
  Inflights(size_t max_count, uint64_t max_bytes);

  // Records a MsgApp whose last entry is `index` carrying `bytes` payload.
  // Indexes must be added in increasing order; requires !Full().
  void Add(Index index, uint64_t bytes);
  // Frees every inflight message with last index <= to (an ack up to `to`).
  void FreeLE(Index to);
  // Frees the oldest inflight message (a heartbeat response proved the
  // follower alive although acks were lost: let one more MsgApp through).
  void FreeFirstOne();
  void Reset();
  bool Full() const;
  size_t Count() const { return count_; }
  uint64_t Bytes() const { return bytes_; }

 private:
  struct Item {
    Index index;
    uint64_t bytes;
  };
  size_t start_ = 0;
  size_t count_ = 0;
  uint64_t bytes_ = 0;
  size_t max_count_;
  uint64_t max_bytes_;
  std::vector<Item> buffer_;  // grows lazily up to max_count_
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_TRACKER_INFLIGHTS_H_
