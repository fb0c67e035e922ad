// raft::Storage — the read-only view of persisted raft state that the raft
// core consults (etcd raft's Storage). The application owns the concrete
// storage and writes to it while handling a Ready (see raw_node.h); raft only
// reads. Implementations need not be thread-safe: raft calls them from the
// single thread that drives the RawNode, and the application must not mutate
// storage concurrently with a RawNode call.
//
// Index model: the storage holds a snapshot (index S, term T) followed by
// entries S+1..LastIndex(). FirstIndex() == S+1; Term(S) is answerable.
#ifndef QUORUM_RAFT_STORAGE_H_
#define QUORUM_RAFT_STORAGE_H_

#include <cstdint>
#include <limits>

#include "absl/status/statusor.h"
#include "raft/types.h"

namespace quorum::raft {

inline constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

struct InitialState {
  HardState hard_state;
  ConfState conf_state;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Persisted HardState and the ConfState as of the latest snapshot.
  virtual absl::StatusOr<InitialState> GetInitialState() const = 0;
  // Entries in [lo, hi), total size limited by max_bytes but at least one
  // entry when lo < hi. ErrCompacted if lo <= snapshot index; ErrUnavailable
  // if hi > LastIndex()+1 or no entries are stored.
  virtual absl::StatusOr<EntryVec> Entries(Index lo, Index hi, uint64_t max_bytes) const = 0;
  // Term of entry i, for i in [FirstIndex()-1, LastIndex()]. ErrCompacted
  // below, ErrUnavailable above.
  virtual absl::StatusOr<Term> TermAt(Index i) const = 0;
  virtual Index FirstIndex() const = 0;
  virtual Index LastIndex() const = 0;
  // The most recent snapshot. ErrSnapshotTemporarilyUnavailable if one is
  // being prepared; raft then retries later.
  virtual absl::StatusOr<Snapshot> GetSnapshot() const = 0;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_STORAGE_H_
