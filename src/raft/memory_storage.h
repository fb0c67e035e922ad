// raft::MemoryStorage — Storage kept in memory: used by tests, the simulation
// and benchmarks, and as the write-side API model for the persistent storage
// the server implements. Not thread-safe (single owner).
//
// Invariant: ents_ is never empty; ents_[0] is a dummy entry carrying the
// snapshot's index and term; ents_[k].index() == ents_[0].index() + k.
#ifndef QUORUM_RAFT_MEMORY_STORAGE_H_
#define QUORUM_RAFT_MEMORY_STORAGE_H_

#include <string>

#include "absl/status/status.h"
#include "raft/storage.h"

namespace quorum::raft {

class MemoryStorage : public Storage {
 public:
  MemoryStorage();

  absl::StatusOr<InitialState> GetInitialState() const override;
  absl::StatusOr<EntryVec> Entries(Index lo, Index hi, uint64_t max_bytes) const override;
  absl::StatusOr<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  absl::StatusOr<Snapshot> GetSnapshot() const override;

  // Write side ------------------------------------------------------------
  void SetHardState(const HardState& hs) { hard_state_ = hs; }
  const HardState& hard_state() const { return hard_state_; }
  // Bootstrap only: sets the initial membership of an empty storage.
  absl::Status SetInitialConfState(const ConfState& cs);
  // Replaces everything with the snapshot. ErrSnapOutOfDate if not newer.
  absl::Status ApplySnapshot(const Snapshot& snap);
  // Records a snapshot at applied index i (<= LastIndex()) with the given
  // configuration and state-machine data, and returns it.
  absl::StatusOr<Snapshot> CreateSnapshot(Index i, const ConfState& cs, std::string data);
  // Discards entries up to and including compact_index (<= LastIndex()).
  absl::Status Compact(Index compact_index);
  // Appends entries, truncating any existing suffix they conflict with.
  // Entries must be contiguous and must not leave a gap after LastIndex().
  absl::Status Append(const EntryVec& entries);
  absl::Status Append(EntryVec&& entries);

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  EntryVec ents_;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_MEMORY_STORAGE_H_
