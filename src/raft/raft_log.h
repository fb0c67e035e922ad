// raft::RaftLog — the raft log as the core sees it: Storage (persisted
// prefix, read-only here) + Unstable (tail awaiting persistence), plus the
// commit/applying/applied cursors. Owned by Raft; single-threaded.
//
// Invariants: applied_ <= applying_ <= committed_ <= LastIndex();
// FirstIndex()-1 <= applied_ (nothing applied is lost except via snapshot).
#ifndef QUORUM_RAFT_RAFT_LOG_H_
#define QUORUM_RAFT_RAFT_LOG_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "raft/log_unstable.h"
#include "raft/storage.h"

namespace quorum::raft {

class RaftLog {
 public:
  // Starts at the storage's state: committed = applied = snapshot index.
  RaftLog(const Storage* storage, uint64_t max_next_ents_size);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  // Term of entry i; ErrCompacted below FirstIndex()-1, ErrUnavailable above.
  absl::StatusOr<Term> TermAt(Index i) const;
  Term ZeroTermOnErr(Index i) const;
  bool MatchTerm(Index i, Term t) const;
  // §5.4.1: is a log ending at (last_index, term) at least as up to date?
  bool IsUpToDate(Index last_index, Term term) const;

  // Follower append path (§5.3). Returns the new last index of the
  // appended region when (index, log_term) matches, nullopt otherwise.
  std::optional<Index> MaybeAppend(Index index, Term log_term, Index committed, EntryVec ents);
  // Appends after truncating conflicts; returns LastIndex().
  Index Append(EntryVec ents);
  // First index whose term conflicts with the log (0 if none; an index past
  // LastIndex() if all match and some are new).
  Index FindConflict(const EntryVec& ents) const;
  // Largest index <= index whose term is <= term, with that term (used for
  // fast backtracking hints). Returns (index, 0) if index is compacted.
  std::pair<Index, Term> FindConflictByTerm(Index index, Term term) const;

  // Entries from i on, up to max_size bytes (at least one entry).
  absl::StatusOr<EntryVec> EntriesFrom(Index i, uint64_t max_size) const;
  // Like EntriesFrom, appending to a message's entry field; entries still
  // in the unstable tail are copied straight in (the leader's hot path, no
  // intermediate vector).
  absl::Status EntriesFromInto(Index i, uint64_t max_size,
                               google::protobuf::RepeatedPtrField<Entry>& out) const;
  // Entries in [lo, hi) spanning storage and unstable.
  absl::StatusOr<EntryVec> Slice(Index lo, Index hi, uint64_t max_size) const;
  // Committed entries not yet handed out for apply (from applying_+1).
  EntryVec NextCommittedEnts() const;
  bool HasNextCommittedEnts() const;
  absl::StatusOr<Snapshot> GetSnapshot() const;
  bool HasPendingSnapshot() const { return unstable_.snapshot().has_value(); }

  void CommitTo(Index to);
  // Commits max_index if its entry is from `term` (§5.4.2 / Figure 8 rule).
  bool MaybeCommit(Index max_index, Term term);
  void AcceptApplying(Index i) { applying_ = i; }
  void AppliedTo(Index i);
  // The application installed a snapshot at index i.
  void AppliedSnap(Index i);
  void StableTo(Index i, Term t) { unstable_.StableTo(i, t); }
  void StableSnapTo(Index i) { unstable_.StableSnapTo(i); }
  void Restore(const Snapshot& s);

  const Unstable& unstable() const { return unstable_; }
  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  Index applying() const { return applying_; }
  std::string String() const;

 private:
  const Storage* storage_;
  Unstable unstable_;
  Index committed_ = 0;
  Index applying_ = 0;
  Index applied_ = 0;
  uint64_t max_next_ents_size_;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_RAFT_LOG_H_
