// KeyIndex: the in-memory history of one key, as etcd's keyIndex.
//
// The history is a list of generations. A generation is the life of the key
// from a create to a delete: `created` is its first revision, `ver` the number
// of changes in it, `revs` its revisions in increasing order. A delete
// (tombstone) appends its revision to the current generation and opens a new
// empty one. Example, key "foo":
//   put@1, put@2, delete@3, put@4 -> {1.0, 2.0, 3.0(t)} {4.0}
// Invariants: revisions strictly increase across all generations; only the
// last generation may be empty; a non-last generation ends with a tombstone.
// A new KeyIndex holds one empty generation.
// Not thread-safe: TreeIndex guards it.
#ifndef QUORUM_MVCC_KEY_INDEX_H_
#define QUORUM_MVCC_KEY_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mvcc/revision.h"

namespace quorum::mvcc {

struct Generation {
  int64_t ver = 0;       // number of revisions ever added to this generation
  Revision created;      // first revision of the generation
  // Most keys hold one or two live revisions; keep those inline.
  absl::InlinedVector<Revision, 1> revs;
  bool empty() const { return revs.empty(); }
};

struct KeyVersion {
  Revision modified;  // the revision that is visible at the asked revision
  Revision created;   // create revision of its generation
  int64_t version = 0;
};

struct RevisionHash {
  size_t operator()(const Revision& r) const {
    return static_cast<size_t>(r.main * 1000003 + r.sub);
  }
};
using RevisionSet = absl::flat_hash_set<Revision, RevisionHash>;

class KeyIndex {
 public:
  KeyIndex() = default;

  // Records a put at `rev`; `rev` must exceed every revision already held.
  void Put(Revision rev);
  // Rebuilds the current generation from a persisted KeyValue (used at
  // restart, when older revisions may have been compacted away).
  void Restore(Revision created, Revision modified, int64_t version);
  // Records a delete at `rev`; fails if the key is not live.
  absl::Status Tombstone(Revision rev);
  // Rebuilds a generation whose only record left is its tombstone at `rev`
  // (restart after a compaction at `rev` dropped the puts before it, but
  // not yet the tombstone, which it keeps for watches from `rev`).
  void RestoreTombstone(Revision rev);

  // The state visible at main revision `at_rev`; NotFound if the key did not
  // exist then.
  absl::StatusOr<KeyVersion> Get(int64_t at_rev) const;

  // Revisions with main > `after_rev` (for watchers catching up).
  std::vector<Revision> Since(int64_t after_rev) const;

  // Drops history not needed to answer reads at revisions >= at_rev. The
  // revision each surviving generation shows at `at_rev` is added to
  // `available` (the keep-set used to delete backend records), and so is a
  // tombstone at exactly at_rev, for watches that start there. Returns true
  // when nothing is left and the index entry can be removed.
  bool Compact(int64_t at_rev, RevisionSet* available);
  // The keep-set without that tombstone (etcd's keep, what hashes count),
  // without modifying the index.
  void Keep(int64_t at_rev, RevisionSet* available) const;

  bool IsEmpty() const { return older_ == nullptr && current_.empty(); }
  bool IsLive() const { return !current_.empty(); }
  // Newest revision of the key, tombstones included ({} for a new index).
  Revision modified() const;
  // The newest generation; empty after a delete.
  const Generation& current() const { return current_; }
  // Every generation, oldest first (a copy; for tests and diagnostics).
  std::vector<Generation> Generations() const;

 private:
  size_t GenerationCount() const { return (older_ ? older_->size() : 0) + 1; }
  const Generation& At(size_t i) const {
    return older_ && i < older_->size() ? (*older_)[i] : current_;
  }
  Generation& At(size_t i) {
    return older_ && i < older_->size() ? (*older_)[i] : current_;
  }
  // Makes a new, empty current generation; the old one joins older_.
  void Retire(Generation g);
  // Index of the generation visible at `at_rev`, or -1 if none.
  int FindGeneration(int64_t at_rev) const;
  // Shared walk of Compact/Keep: returns the generation index to keep from and
  // the index inside it of the revision visible at at_rev (-1 if none).
  std::pair<size_t, int> DoCompact(int64_t at_rev, RevisionSet* available) const;

  // The index holds one entry per key, so its size is what a key costs: the
  // newest generation inline, older ones (keys deleted and created again)
  // behind a pointer that is null for almost every key.
  Generation current_;
  std::unique_ptr<std::vector<Generation>> older_;  // null or non-empty
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_KEY_INDEX_H_
