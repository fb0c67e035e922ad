#include "mvcc/key_index.h"

#include "mvcc/errors.h"

namespace quorum::mvcc {

void KeyIndex::Put(Revision rev) {
  if (current_.revs.empty()) current_.created = rev;
  current_.revs.push_back(rev);
  current_.ver++;
}

void KeyIndex::Retire(Generation g) {
  if (!older_) older_ = std::make_unique<std::vector<Generation>>();
  older_->push_back(std::move(g));
}

void KeyIndex::Restore(Revision created, Revision modified, int64_t version) {
  Generation g;
  g.created = created;
  g.ver = version;
  g.revs.push_back(modified);
  if (!current_.empty()) Retire(std::move(current_));
  current_ = std::move(g);
}

absl::Status KeyIndex::Tombstone(Revision rev) {
  if (!IsLive()) return ErrRevisionNotFound();
  Put(rev);
  Retire(std::move(current_));
  current_ = Generation();
  return absl::OkStatus();
}

void KeyIndex::RestoreTombstone(Revision rev) {
  if (!current_.empty()) Retire(std::move(current_));
  Generation g;
  g.ver = 1;  // its create revision and earlier versions are compacted away
  g.revs.push_back(rev);
  Retire(std::move(g));
  current_ = Generation();
}

Revision KeyIndex::modified() const {
  if (!current_.empty()) return current_.revs.back();
  if (older_) return older_->back().revs.back();
  return Revision{};
}

std::vector<Generation> KeyIndex::Generations() const {
  std::vector<Generation> out;
  if (older_) out = *older_;
  out.push_back(current_);
  return out;
}

int KeyIndex::FindGeneration(int64_t at_rev) const {
  const int last = static_cast<int>(GenerationCount()) - 1;
  for (int i = last; i >= 0; --i) {
    const Generation& g = At(i);
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
  const Generation& g = At(gi);
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
  for (size_t i = 0; i < GenerationCount(); ++i) {
    for (const Revision& r : At(i).revs) {
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
  while (gi + 1 < GenerationCount()) {
    const Generation& g = At(gi);
    if (!g.empty()) {
      const int64_t tomb = g.revs.back().main;
      if (tomb > at_rev) break;
      // Deleted at at_rev, and that delete is the key's last change there.
      const Generation& next = At(gi + 1);
      if (tomb == at_rev && (next.empty() || next.revs.front().main > at_rev)) break;
    }
    ++gi;
  }
  const Generation& g = At(gi);
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
  auto [gi, rev_index] = DoCompact(at_rev, available);
  Generation& g = At(gi);
  // A generation reduced to its tombstone (deleted at exactly at_rev) is
  // kept, record included, until a later compaction: a watch starting at
  // at_rev replays that delete from it.
  if (!g.empty() && rev_index > 0) g.revs.erase(g.revs.begin(), g.revs.begin() + rev_index);
  if (gi > 0) {  // gi < GenerationCount(): the current generation stays
    older_->erase(older_->begin(), older_->begin() + static_cast<ptrdiff_t>(gi));
    if (older_->empty()) older_.reset();
  }
  return IsEmpty();
}

void KeyIndex::Keep(int64_t at_rev, RevisionSet* available) const {
  auto [gi, rev_index] = DoCompact(at_rev, available);
  const Generation& g = At(gi);
  // Unlike Compact, a tombstone at at_rev is not kept here, as etcd's keep
  // does: hashes must not depend on whether a member still holds it.
  if (!g.empty() && rev_index >= 0 &&
      g.revs.size() - rev_index == 1 && gi + 1 != GenerationCount()) {
    available->erase(g.revs[rev_index]);
  }
}

}  // namespace quorum::mvcc
