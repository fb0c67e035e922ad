#include "raft/raft_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/errors.h"

namespace quorum::raft {

RaftLog::RaftLog(const Storage* storage, uint64_t max_next_ents_size)
    : storage_(storage), max_next_ents_size_(max_next_ents_size) {
  RAFT_CHECK(storage_ != nullptr);
  const Index first = storage_->FirstIndex();
  const Index last = storage_->LastIndex();
  unstable_ = Unstable(last + 1);
  committed_ = first - 1;
  applying_ = first - 1;
  applied_ = first - 1;
}

Index RaftLog::FirstIndex() const {
  if (auto i = unstable_.MaybeFirstIndex()) return *i;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (auto i = unstable_.MaybeLastIndex()) return *i;
  return storage_->LastIndex();
}

Term RaftLog::LastTerm() const {
  auto t = TermAt(LastIndex());
  RAFT_CHECK(t.ok()) << "unexpected error getting the last term: " << t.status();
  return *t;
}

absl::StatusOr<Term> RaftLog::TermAt(Index i) const {
  // Valid range is [FirstIndex()-1, LastIndex()].
  if (i + 1 < FirstIndex()) return ErrCompacted();
  if (i > LastIndex()) return ErrUnavailable();
  if (auto t = unstable_.MaybeTerm(i)) return *t;
  return storage_->TermAt(i);
}

Term RaftLog::ZeroTermOnErr(Index i) const {
  auto t = TermAt(i);
  return t.ok() ? *t : 0;
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  auto got = TermAt(i);
  return got.ok() && *got == t;
}

bool RaftLog::IsUpToDate(Index last_index, Term term) const {
  const Term lt = LastTerm();
  return term > lt || (term == lt && last_index >= LastIndex());
}

std::optional<Index> RaftLog::MaybeAppend(Index index, Term log_term, Index committed,
                                          EntryVec ents) {
  if (!MatchTerm(index, log_term)) return std::nullopt;
  const Index last_new = index + ents.size();
  const Index ci = FindConflict(ents);
  if (ci != 0) {
    RAFT_CHECK(ci > committed_) << "entry " << ci << " conflicts with committed entry "
                                << committed_;
    const size_t from = ci - (index + 1);
    if (from == 0) {
      Append(std::move(ents));
    } else {
      Append(EntryVec(std::make_move_iterator(ents.begin() + from),
                      std::make_move_iterator(ents.end())));
    }
  }
  CommitTo(std::min(committed, last_new));
  return last_new;
}

Index RaftLog::Append(EntryVec ents) {
  if (ents.empty()) return LastIndex();
  const Index after = ents[0].index() - 1;
  RAFT_CHECK(after >= committed_) << "after(" << after << ") is out of range [committed("
                                  << committed_ << ")]";
  unstable_.TruncateAndAppend(std::move(ents));
  return LastIndex();
}

Index RaftLog::FindConflict(const EntryVec& ents) const {
  for (const Entry& e : ents) {
    if (!MatchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

std::pair<Index, Term> RaftLog::FindConflictByTerm(Index index, Term term) const {
  for (;;) {
    auto t = TermAt(index);
    if (!t.ok()) return {index, 0};
    if (*t <= term) return {index, *t};
    if (index == 0) return {0, 0};
    --index;
  }
}

absl::StatusOr<EntryVec> RaftLog::EntriesFrom(Index i, uint64_t max_size) const {
  if (i > LastIndex()) return EntryVec{};
  return Slice(i, LastIndex() + 1, max_size);
}

absl::Status RaftLog::EntriesFromInto(Index i, uint64_t max_size,
                                      google::protobuf::RepeatedPtrField<Entry>& out) const {
  const Index last = LastIndex();
  if (i > last) return absl::OkStatus();
  const Index uoff = unstable_.offset();
  if (i >= uoff && i >= FirstIndex()) {
    const EntryVec& u = unstable_.entries();
    uint64_t size = 0;
    out.Reserve(static_cast<int>(last - i + 1));
    for (Index k = i; k <= last; ++k) {
      const Entry& e = u[k - uoff];
      size += EntrySize(e);
      if (out.size() > 0 && size > max_size) break;
      *out.Add() = e;
    }
    return absl::OkStatus();
  }
  auto ents = EntriesFrom(i, max_size);
  if (!ents.ok()) return ents.status();
  out.Reserve(static_cast<int>(ents->size()));
  for (Entry& e : *ents) *out.Add() = std::move(e);
  return absl::OkStatus();
}

absl::StatusOr<EntryVec> RaftLog::Slice(Index lo, Index hi, uint64_t max_size) const {
  RAFT_CHECK(lo <= hi) << "invalid slice " << lo << " > " << hi;
  if (lo < FirstIndex()) return ErrCompacted();
  RAFT_CHECK(hi <= LastIndex() + 1) << "slice[" << lo << "," << hi << ") out of bound";
  if (lo == hi) return EntryVec{};
  EntryVec out;
  const Index uoff = unstable_.offset();
  if (lo < uoff) {
    auto stored = storage_->Entries(lo, std::min(hi, uoff), max_size);
    if (!stored.ok()) {
      if (IsErrCompacted(stored.status())) return stored.status();
      RAFT_CHECK(!IsErrUnavailable(stored.status()))
          << "entries[" << lo << ":" << std::min(hi, uoff) << ") is unavailable from storage";
      RAFT_CHECK(false) << "storage error: " << stored.status();
    }
    out = std::move(*stored);
    // Storage hit the size limit: do not add unstable entries after a gap.
    if (out.size() < std::min(hi, uoff) - lo) return out;
  }
  if (hi > uoff) {
    if (out.empty()) out.reserve(hi - std::max(lo, uoff));
    unstable_.Slice(std::max(lo, uoff), hi, out);
  }
  LimitSize(out, max_size);
  return out;
}

EntryVec RaftLog::NextCommittedEnts() const {
  if (HasPendingSnapshot()) return {};  // apply the snapshot first
  const Index off = std::max(applying_ + 1, FirstIndex());
  if (committed_ + 1 <= off) return {};
  auto ents = Slice(off, committed_ + 1, max_next_ents_size_);
  RAFT_CHECK(ents.ok()) << "unexpected error getting unapplied entries: " << ents.status();
  return std::move(*ents);
}

bool RaftLog::HasNextCommittedEnts() const {
  return committed_ + 1 > std::max(applying_ + 1, FirstIndex()) && !HasPendingSnapshot();
}

absl::StatusOr<Snapshot> RaftLog::GetSnapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return storage_->GetSnapshot();
}

void RaftLog::CommitTo(Index to) {
  if (committed_ < to) {
    RAFT_CHECK(LastIndex() >= to) << "tocommit(" << to << ") is out of range [lastIndex("
                                  << LastIndex() << ")]. Was the raft log corrupted?";
    committed_ = to;
  }
}

bool RaftLog::MaybeCommit(Index max_index, Term term) {
  if (max_index > committed_ && ZeroTermOnErr(max_index) == term) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

void RaftLog::AppliedTo(Index i) {
  if (i == 0) return;
  RAFT_CHECK(committed_ >= i && applied_ <= i)
      << "applied(" << i << ") is out of range [prevApplied(" << applied_ << "), committed("
      << committed_ << ")]";
  applied_ = i;
  if (applying_ < i) applying_ = i;
}

void RaftLog::AppliedSnap(Index i) {
  RAFT_CHECK(i <= committed_) << "applied snapshot " << i << " above committed " << committed_;
  if (applied_ < i) applied_ = i;
  if (applying_ < i) applying_ = i;
}

void RaftLog::Restore(const Snapshot& s) {
  committed_ = s.metadata().index();
  unstable_.Restore(s);
}

std::string RaftLog::String() const {
  return absl::StrCat("committed=", committed_, ", applied=", applied_, ", applying=", applying_,
                      ", unstable.offset=", unstable_.offset(),
                      ", len(unstable.Entries)=", unstable_.entries().size());
}

}  // namespace quorum::raft
