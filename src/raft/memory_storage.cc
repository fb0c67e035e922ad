#include "raft/memory_storage.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/errors.h"

namespace quorum::raft {

MemoryStorage::MemoryStorage() { ents_.emplace_back(); }

absl::StatusOr<InitialState> MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, snapshot_.metadata().conf_state()};
}

absl::StatusOr<EntryVec> MemoryStorage::Entries(Index lo, Index hi, uint64_t max_bytes) const {
  const Index offset = ents_[0].index();
  if (lo <= offset) return ErrCompacted();
  if (hi > LastIndex() + 1) {
    return absl::OutOfRangeError(
        absl::StrCat("entries' hi(", hi, ") is out of bound lastindex(", LastIndex(), ")"));
  }
  if (ents_.size() == 1) return ErrUnavailable();
  EntryVec out;
  out.reserve(std::min<Index>(hi - lo, 4096));
  uint64_t size = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = ents_[i - offset];
    size += EntrySize(e);
    if (!out.empty() && size > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<Term> MemoryStorage::TermAt(Index i) const {
  const Index offset = ents_[0].index();
  if (i < offset) return ErrCompacted();
  if (i - offset >= ents_.size()) return ErrUnavailable();
  return ents_[i - offset].term();
}

Index MemoryStorage::FirstIndex() const { return ents_[0].index() + 1; }
Index MemoryStorage::LastIndex() const { return ents_[0].index() + ents_.size() - 1; }

absl::StatusOr<Snapshot> MemoryStorage::GetSnapshot() const { return snapshot_; }

absl::Status MemoryStorage::SetInitialConfState(const ConfState& cs) {
  if (ents_.size() != 1 || ents_[0].index() != 0) {
    return absl::FailedPreconditionError("SetInitialConfState on a non-empty storage");
  }
  *snapshot_.mutable_metadata()->mutable_conf_state() = cs;
  return absl::OkStatus();
}

absl::Status MemoryStorage::ApplySnapshot(const Snapshot& snap) {
  if (snapshot_.metadata().index() >= snap.metadata().index()) return ErrSnapOutOfDate();
  snapshot_ = snap;
  ents_.clear();
  ents_.emplace_back();
  ents_[0].set_index(snap.metadata().index());
  ents_[0].set_term(snap.metadata().term());
  return absl::OkStatus();
}

absl::StatusOr<Snapshot> MemoryStorage::CreateSnapshot(Index i, const ConfState& cs,
                                                       std::string data) {
  if (i <= snapshot_.metadata().index()) return ErrSnapOutOfDate();
  if (i > LastIndex()) {
    return absl::OutOfRangeError(
        absl::StrCat("snapshot ", i, " is out of bound lastindex(", LastIndex(), ")"));
  }
  const Index offset = ents_[0].index();
  auto* md = snapshot_.mutable_metadata();
  md->set_index(i);
  md->set_term(ents_[i - offset].term());
  *md->mutable_conf_state() = cs;
  snapshot_.set_data(std::move(data));
  return snapshot_;
}

absl::Status MemoryStorage::Compact(Index compact_index) {
  const Index offset = ents_[0].index();
  if (compact_index <= offset) return ErrCompacted();
  if (compact_index > LastIndex()) {
    return absl::OutOfRangeError(
        absl::StrCat("compact ", compact_index, " is out of bound lastindex(", LastIndex(), ")"));
  }
  const size_t k = compact_index - offset;
  Entry dummy;
  dummy.set_index(ents_[k].index());
  dummy.set_term(ents_[k].term());
  EntryVec rest;
  rest.reserve(ents_.size() - k);
  rest.push_back(std::move(dummy));
  for (size_t j = k + 1; j < ents_.size(); ++j) rest.push_back(std::move(ents_[j]));
  ents_ = std::move(rest);
  return absl::OkStatus();
}

absl::Status MemoryStorage::Append(const EntryVec& entries) {
  return Append(EntryVec(entries));
}

absl::Status MemoryStorage::Append(EntryVec&& entries) {
  if (entries.empty()) return absl::OkStatus();
  const Index first = FirstIndex();
  const Index last = entries.back().index();
  if (last < first) return absl::OkStatus();  // entirely compacted already
  size_t skip = 0;
  if (first > entries[0].index()) skip = first - entries[0].index();
  const Index start = entries[skip].index();
  const Index offset = start - ents_[0].index();
  if (offset > ents_.size()) {
    return absl::InternalError(absl::StrCat("missing log entry [last: ", LastIndex(),
                                            ", append at: ", start, "]"));
  }
  ents_.resize(offset);
  for (size_t j = skip; j < entries.size(); ++j) ents_.push_back(std::move(entries[j]));
  return absl::OkStatus();
}

}  // namespace quorum::raft
