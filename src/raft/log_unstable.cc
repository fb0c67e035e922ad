#include "raft/log_unstable.h"

#include <utility>

#include "raft/check.h"

namespace quorum::raft {

std::optional<Index> Unstable::MaybeFirstIndex() const {
  if (snapshot_) return snapshot_->metadata().index() + 1;
  return std::nullopt;
}

std::optional<Index> Unstable::MaybeLastIndex() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->metadata().index();
  return std::nullopt;
}

std::optional<Term> Unstable::MaybeTerm(Index i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->metadata().index() == i) return snapshot_->metadata().term();
    return std::nullopt;
  }
  auto last = MaybeLastIndex();
  if (!last || i > *last) return std::nullopt;
  return entries_[i - offset_].term();
}

void Unstable::StableTo(Index i, Term t) {
  auto gt = MaybeTerm(i);
  if (!gt) return;
  // Only drop if the entry still matches and is in the entries part (a
  // snapshot covering i is handled by StableSnapTo).
  if (*gt == t && i >= offset_) {
    entries_.erase(entries_.begin(), entries_.begin() + (i + 1 - offset_));
    offset_ = i + 1;
  }
}

void Unstable::StableSnapTo(Index i) {
  if (snapshot_ && snapshot_->metadata().index() == i) snapshot_.reset();
}

void Unstable::Restore(const Snapshot& s) {
  offset_ = s.metadata().index() + 1;
  entries_.clear();
  snapshot_ = s;
}

void Unstable::TruncateAndAppend(const EntryVec& ents) {
  TruncateAndAppend(EntryVec(ents));
}

void Unstable::TruncateAndAppend(EntryVec&& ents) {
  if (ents.empty()) return;
  const Index after = ents[0].index();
  if (after == offset_ + entries_.size()) {
    // Common case: directly after the current tail.
  } else if (after <= offset_) {
    // Replace everything unstable: the new entries start at or before it.
    offset_ = after;
    entries_.clear();
  } else {
    // Truncate to `after`, then append.
    CheckBounds(offset_, after);
    entries_.resize(after - offset_);
  }
  if (entries_.empty()) {
    entries_ = std::move(ents);
  } else {
    entries_.reserve(entries_.size() + ents.size());
    for (Entry& e : ents) entries_.push_back(std::move(e));
  }
}

void Unstable::Slice(Index lo, Index hi, EntryVec& out) const {
  CheckBounds(lo, hi);
  out.insert(out.end(), entries_.begin() + (lo - offset_), entries_.begin() + (hi - offset_));
}

void Unstable::CheckBounds(Index lo, Index hi) const {
  RAFT_CHECK(lo <= hi) << "invalid unstable slice";
  const Index upper = offset_ + entries_.size();
  RAFT_CHECK(lo >= offset_ && hi <= upper)
      << "unstable.slice[" << lo << "," << hi << ") out of bound [" << offset_ << "," << upper
      << "]";
}

}  // namespace quorum::raft
