// raft::Unstable — the tail of the raft log not yet persisted to Storage:
// an optional incoming snapshot followed by entries starting at offset_.
// Owned by RaftLog; single-threaded.
//
// Invariants: if a snapshot is present, offset_ == snapshot index + 1;
// entries_[k].index() == offset_ + k.
#ifndef QUORUM_RAFT_LOG_UNSTABLE_H_
#define QUORUM_RAFT_LOG_UNSTABLE_H_

#include <optional>

#include "raft/types.h"

namespace quorum::raft {

class Unstable {
 public:
  explicit Unstable(Index offset = 0) : offset_(offset) {}

  // First index only known if a snapshot is pending.
  std::optional<Index> MaybeFirstIndex() const;
  std::optional<Index> MaybeLastIndex() const;
  std::optional<Term> MaybeTerm(Index i) const;

  // Entries up to (i, t) were persisted: drop them if still matching.
  void StableTo(Index i, Term t);
  void StableSnapTo(Index i);
  void Restore(const Snapshot& s);
  void TruncateAndAppend(const EntryVec& ents);
  void TruncateAndAppend(EntryVec&& ents);
  // Entries in [lo, hi) appended to `out`; requires offset_ <= lo <= hi <= last+1.
  void Slice(Index lo, Index hi, EntryVec& out) const;

  const EntryVec& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }
  Index offset() const { return offset_; }

 private:
  void CheckBounds(Index lo, Index hi) const;

  std::optional<Snapshot> snapshot_;
  EntryVec entries_;
  Index offset_;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_LOG_UNSTABLE_H_
