// TreeIndex: the ordered in-memory index key -> KeyIndex over every key the
// store holds (live or with history). Rebuilt from the backend at start.
//
// Range end convention (as etcd's mvcc after gateway normalisation):
//   end == ""    -> the single key `key`
//   end == "\0"  -> every key >= `key`
//   otherwise    -> keys in [key, end)
// Thread-safety: all methods are safe to call concurrently; writers (the
// apply thread) take the mutex exclusively, readers share it.
#ifndef QUORUM_MVCC_TREE_INDEX_H_
#define QUORUM_MVCC_TREE_INDEX_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mvcc/index_key.h"
#include "mvcc/key_index.h"

namespace quorum::mvcc {

struct IndexRangeResult {
  std::vector<Revision> revs;  // visible revisions, in key order, at most `limit`
  int64_t total = 0;           // number of keys visible, ignoring `limit`
};

class TreeIndex {
 public:
  // Records a put at `rev`; returns the key's state after it (`rev`, its
  // generation's create revision and version).
  KeyVersion Put(std::string_view key, Revision rev);
  void Restore(std::string_view key, Revision created, Revision modified, int64_t ver);
  absl::Status Tombstone(std::string_view key, Revision rev);
  // At restart: a tombstone record of a key that is not live (its puts were
  // compacted away) becomes a generation of its own (KeyIndex::RestoreTombstone).
  void RestoreTombstone(std::string_view key, Revision rev);

  absl::StatusOr<KeyVersion> Get(std::string_view key, int64_t at_rev) const;

  // Visible revisions at `at_rev` in key order. limit <= 0 means no limit.
  // With `count_only`, revs stay empty.
  IndexRangeResult Range(std::string_view key, std::string_view end, int64_t at_rev,
                         int64_t limit, bool count_only) const;

  // Keys in range that are live at `at_rev` with their versions (for deletes).
  std::vector<std::pair<std::string, KeyVersion>> LiveKeys(std::string_view key,
                                                           std::string_view end,
                                                           int64_t at_rev) const;

  // Every (key, revision) with main > after_rev in the range, for watchers.
  void ForEachSince(std::string_view key, std::string_view end, int64_t after_rev,
                    const std::function<void(std::string_view, Revision)>& fn) const;

  // Drops history below at_rev; returns the keep-set of backend revisions.
  RevisionSet Compact(int64_t at_rev);
  // The same in steps, so that writers and readers wait for one step at a
  // time rather than a walk of every key (etcd locks per key): compacts up
  // to `max_keys` keys from `*from` on, adds their kept revisions to
  // `available` and moves `*from` past them. True once every key is done.
  // Writes meanwhile are safe: they only add revisions above at_rev.
  bool CompactSome(int64_t at_rev, std::string* from, size_t max_keys, RevisionSet* available);
  RevisionSet Keep(int64_t at_rev) const;

  size_t KeyCount() const;
  void Clear();

 private:
  using Map = absl::btree_map<IndexKey, KeyIndex, IndexKeyLess>;
  // Calls fn for each entry of the range until fn returns false.
  template <typename Fn>
  void ForRangeLocked(std::string_view key, std::string_view end, Fn fn) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  Map tree_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_TREE_INDEX_H_
