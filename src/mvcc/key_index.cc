#include "mvcc/key_index.h"

#include "mvcc/errors.h"

namespace quorum::mvcc {

void KeyIndex::Put(Revision rev) {
  if (generations_.empty()) generations_.emplace_back();
  Generation& g = generations_.back();
  if (g.revs.empty()) g.created = rev;
  g.revs.push_back(rev);
  g.ver++;
  modified_ = rev;
}

void KeyIndex::Restore(Revision created, Revision modified, int64_t version) {
  Generation g;
  g.created = created;
  g.ver = version;
  g.revs.push_back(modified);
  if (!generations_.empty() && generations_.back().empty()) generations_.pop_back();
  generations_.push_back(std::move(g));
  modified_ = modified;
}

absl::Status KeyIndex::Tombstone(Revision rev) {
  if (!IsLive()) return ErrRevisionNotFound();
  Put(rev);
  generations_.emplace_back();
  return absl::OkStatus();
}

void KeyIndex::RestoreTombstone(Revision rev) {
  if (!generations_.empty() && generations_.back().empty()) generations_.pop_back();
  Generation g;
  g.ver = 1;  // its create revision and earlier versions are compacted away
  g.revs.push_back(rev);
  generations_.push_back(std::move(g));
  generations_.emplace_back();
  modified_ = rev;
}

int KeyIndex::FindGeneration(int64_t at_rev) const {
  const int last = static_cast<int>(generations_.size()) - 1;
  for (int i = last; i >= 0; --i) {
    const Generation& g = generations_[i];
    if (g.empty()) continue;
    if (i != last && g.revs.back().main <= at_rev) {
      return -1;  // the key was deleted at or before at_rev
    }
    if (g.revs.front().main <= at_rev) return i;
  }
  return -1;
}

absl::StatusOr<KeyVersion> KeyIndex::Get(int64_t at_rev) const {
  int gi = FindGeneration(at_rev);
  if (gi < 0) return ErrRevisionNotFound();
  const Generation& g = generations_[gi];
  for (int n = static_cast<int>(g.revs.size()) - 1; n >= 0; --n) {
    if (g.revs[n].main <= at_rev) {
      KeyVersion kv;
      kv.modified = g.revs[n];
      kv.created = g.created;
      kv.version = g.ver - static_cast<int64_t>(g.revs.size() - n - 1);
      return kv;
    }
  }
  return ErrRevisionNotFound();
}

std::vector<Revision> KeyIndex::Since(int64_t after_rev) const {
  std::vector<Revision> out;
  for (const Generation& g : generations_) {
    for (const Revision& r : g.revs) {
      if (r.main > after_rev) out.push_back(r);
    }
  }
  return out;
}

std::pair<size_t, int> KeyIndex::DoCompact(int64_t at_rev, RevisionSet* available) const {
  size_t gi = 0;
  // Skip generations that ended (tombstone) before at_rev. One deleted at
  // exactly at_rev stays: a watch from at_rev must still see that delete
  // (etcd #18089, fixed in etcd 3.4.34 / 3.5.15).
  while (gi + 1 < generations_.size()) {
    const Generation& g = generations_[gi];
    if (!g.empty()) {
      const int64_t tomb = g.revs.back().main;
      if (tomb > at_rev) break;
      // Deleted at at_rev, and that delete is the key's last change there.
      const Generation& next = generations_[gi + 1];
      if (tomb == at_rev && (next.empty() || next.revs.front().main > at_rev)) break;
    }
    ++gi;
  }
  const Generation& g = generations_[gi];
  int rev_index = -1;
  for (int n = static_cast<int>(g.revs.size()) - 1; n >= 0; --n) {
    if (g.revs[n].main <= at_rev) {
      available->insert(g.revs[n]);
      rev_index = n;
      break;
    }
  }
  return {gi, rev_index};
}

bool KeyIndex::Compact(int64_t at_rev, RevisionSet* available) {
  if (generations_.empty()) return true;
  auto [gi, rev_index] = DoCompact(at_rev, available);
  Generation& g = generations_[gi];
  // A generation reduced to its tombstone (deleted at exactly at_rev) is
  // kept, record included, until a later compaction: a watch starting at
  // at_rev replays that delete from it.
  if (!g.empty() && rev_index > 0) g.revs.erase(g.revs.begin(), g.revs.begin() + rev_index);
  generations_.erase(generations_.begin(), generations_.begin() + gi);
  return IsEmpty();
}

void KeyIndex::Keep(int64_t at_rev, RevisionSet* available) const {
  if (generations_.empty()) return;
  auto [gi, rev_index] = DoCompact(at_rev, available);
  const Generation& g = generations_[gi];
  // Unlike Compact, a tombstone at at_rev is not kept here, as etcd's keep
  // does: hashes must not depend on whether a member still holds it.
  if (!g.empty() && rev_index >= 0 &&
      g.revs.size() - rev_index == 1 && gi + 1 != generations_.size()) {
    available->erase(g.revs[rev_index]);
  }
}

}  // namespace quorum::mvcc
