#include "mvcc/tree_index.h"

#include "mvcc/errors.h"

namespace quorum::mvcc {

template <typename Fn>
void TreeIndex::ForRangeLocked(std::string_view key, std::string_view end, Fn fn) const {
  if (end.empty()) {
    auto it = tree_.find(key);
    if (it != tree_.end()) fn(it->first.view(), it->second);
    return;
  }
  const bool unbounded = end.size() == 1 && end[0] == '\0';
  for (auto it = tree_.lower_bound(key); it != tree_.end(); ++it) {
    if (!unbounded && it->first.view() >= end) break;
    if (!fn(it->first.view(), it->second)) break;
  }
}

KeyVersion TreeIndex::Put(std::string_view key, Revision rev) {
  absl::MutexLock lock(&mu_);
  // One descent serves both the lookup and the insert of a new key.
  auto it = tree_.lower_bound(key);
  if (it == tree_.end() || it->first.view() != key) {
    it = tree_.emplace_hint(it, IndexKey(key), KeyIndex());
  }
  it->second.Put(rev);
  const Generation& g = it->second.current();
  return KeyVersion{rev, g.created, g.ver};
}

void TreeIndex::Restore(std::string_view key, Revision created, Revision modified,
                        int64_t ver) {
  absl::MutexLock lock(&mu_);
  auto it = tree_.find(key);
  if (it == tree_.end()) {
    tree_.emplace(IndexKey(key), KeyIndex()).first->second.Restore(created, modified, ver);
    return;
  }
  KeyIndex& ki = it->second;
  // A later put of a generation we already hold is a plain put.
  if (ki.IsLive() && ki.current().created.main == created.main) {
    ki.Put(modified);
  } else {
    ki.Restore(created, modified, ver);
  }
}

absl::Status TreeIndex::Tombstone(std::string_view key, Revision rev) {
  absl::MutexLock lock(&mu_);
  auto it = tree_.find(key);
  if (it == tree_.end()) return ErrRevisionNotFound();
  return it->second.Tombstone(rev);
}

void TreeIndex::RestoreTombstone(std::string_view key, Revision rev) {
  absl::MutexLock lock(&mu_);
  auto it = tree_.find(key);
  if (it == tree_.end()) it = tree_.emplace(IndexKey(key), KeyIndex()).first;
  if (it->second.IsLive()) {
    it->second.Tombstone(rev).IgnoreError();  // live: cannot fail
  } else {
    it->second.RestoreTombstone(rev);
  }
}

absl::StatusOr<KeyVersion> TreeIndex::Get(std::string_view key, int64_t at_rev) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = tree_.find(key);
  if (it == tree_.end()) return ErrRevisionNotFound();
  return it->second.Get(at_rev);
}

IndexRangeResult TreeIndex::Range(std::string_view key, std::string_view end, int64_t at_rev,
                                  int64_t limit, bool count_only) const {
  IndexRangeResult out;
  absl::ReaderMutexLock lock(&mu_);
  ForRangeLocked(key, end, [&](std::string_view, const KeyIndex& ki) {
    auto kv = ki.Get(at_rev);
    if (!kv.ok()) return true;
    out.total++;
    if (!count_only && (limit <= 0 || static_cast<int64_t>(out.revs.size()) < limit)) {
      out.revs.push_back(kv->modified);
    }
    return true;
  });
  return out;
}

std::vector<std::pair<std::string, KeyVersion>> TreeIndex::LiveKeys(std::string_view key,
                                                                    std::string_view end,
                                                                    int64_t at_rev) const {
  std::vector<std::pair<std::string, KeyVersion>> out;
  absl::ReaderMutexLock lock(&mu_);
  ForRangeLocked(key, end, [&](std::string_view k, const KeyIndex& ki) {
    auto kv = ki.Get(at_rev);
    if (kv.ok()) out.emplace_back(std::string(k), *kv);
    return true;
  });
  return out;
}

void TreeIndex::ForEachSince(std::string_view key, std::string_view end, int64_t after_rev,
                             const std::function<void(std::string_view, Revision)>& fn) const {
  absl::ReaderMutexLock lock(&mu_);
  ForRangeLocked(key, end, [&](std::string_view k, const KeyIndex& ki) {
    if (ki.modified().main > after_rev) {
      for (const Revision& r : ki.Since(after_rev)) fn(k, r);
    }
    return true;
  });
}

RevisionSet TreeIndex::Compact(int64_t at_rev) {
  RevisionSet available;
  absl::MutexLock lock(&mu_);
  for (auto it = tree_.begin(); it != tree_.end();) {
    if (it->second.Compact(at_rev, &available)) {
      it = tree_.erase(it);
    } else {
      ++it;
    }
  }
  return available;
}

bool TreeIndex::CompactSome(int64_t at_rev, std::string* from, size_t max_keys,
                            RevisionSet* available) {
  absl::MutexLock lock(&mu_);
  auto it = tree_.lower_bound(*from);
  for (size_t n = 0; it != tree_.end(); ++n) {
    if (n == max_keys) {
      *from = it->first.str();
      return false;
    }
    if (it->second.Compact(at_rev, available)) {
      it = tree_.erase(it);
    } else {
      ++it;
    }
  }
  return true;
}

RevisionSet TreeIndex::Keep(int64_t at_rev) const {
  RevisionSet available;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [k, ki] : tree_) ki.Keep(at_rev, &available);
  return available;
}

void TreeIndex::Clear() {
  absl::MutexLock lock(&mu_);
  tree_.clear();
}

size_t TreeIndex::KeyCount() const {
  absl::ReaderMutexLock lock(&mu_);
  return tree_.size();
}

}  // namespace quorum::mvcc
