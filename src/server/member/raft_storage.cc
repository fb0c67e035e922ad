#include "server/member/raft_storage.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "absl/strings/str_cat.h"
#include "raft/bootstrap.h"
#include "raft/errors.h"
#include "raft/types.h"
#include "util/coding.h"

namespace quorum::server {
namespace {

using mvcc::Cf;

constexpr char kHardStateKey[] = "hard_state";
constexpr char kSnapshotKey[] = "snapshot";

std::string LogKey(raft::Index i) { return util::EncodeFixed64BE(i); }

}  // namespace

bool RaftStorage::HasHardStateOrSnapshot(const mvcc::Backend& backend) {
  return backend.Get(Cf::kRaftState, kHardStateKey).ok() ||
         backend.Get(Cf::kRaftState, kSnapshotKey).ok();
}

absl::StatusOr<std::unique_ptr<RaftStorage>> RaftStorage::Open(mvcc::Backend* backend,
                                                                const std::string& journal_path,
                                                                LogJournalOptions journal_opts) {
  std::unique_ptr<RaftStorage> s(new RaftStorage(backend));
  if (!journal_path.empty()) {
    auto j = LogJournal::Open(journal_path, backend, journal_opts);
    if (!j.ok()) return j.status();
    s->journal_ = std::move(*j);
  }
  if (auto st = s->Load(); !st.ok()) return st;
  return s;
}

absl::Status RaftStorage::Load() {
  if (auto snap = backend_->Get(Cf::kRaftState, kSnapshotKey); snap.ok()) {
    raft::Snapshot sn;
    if (!sn.ParseFromString(*snap)) return absl::DataLossError("raft snapshot record is corrupt");
    if (auto st = mem_.ApplySnapshot(sn); !st.ok()) return st;
    snapshot_ = sn;
    first_ = sn.metadata().index() + 1;
    first_prev_term_ = sn.metadata().term();
    empty_ = false;
  } else if (!absl::IsNotFound(snap.status())) {
    return snap.status();
  }
  raft::EntryVec ents;
  absl::Status bad;
  const raft::Index first = mem_.FirstIndex();
  auto st = backend_->Scan(Cf::kRaftLog, LogKey(first), "", [&](std::string_view k,
                                                                std::string_view v) {
    raft::Entry e;
    if (k.size() != 8 || !e.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError("raft log record is corrupt");
      return false;
    }
    if (!ents.empty() && e.index() != ents.back().index() + 1) {
      bad = absl::DataLossError(absl::StrCat("raft log has a gap before ", e.index()));
      return false;
    }
    if (!ents.empty() && e.term() < ents.back().term()) {
      bad = absl::DataLossError(absl::StrCat(
          "raft log term goes down at ", e.index(),
          " (entries left behind by a received snapshot before this was fixed?); remove this "
          "member and add it back with an empty data dir"));
      return false;
    }
    ents.push_back(std::move(e));
    return true;
  });
  if (!st.ok()) return st;
  if (!bad.ok()) return bad;
  if (!ents.empty()) {
    empty_ = false;
    if (auto a = mem_.Append(std::move(ents)); !a.ok()) return a;
  }
  if (auto hs = backend_->Get(Cf::kRaftState, kHardStateKey); hs.ok()) {
    raft::HardState h;
    if (!h.ParseFromString(*hs)) return absl::DataLossError("raft hard state is corrupt");
    mem_.SetHardState(h);
    empty_ = false;
  } else if (!absl::IsNotFound(hs.status())) {
    return hs.status();
  }
  return absl::OkStatus();
}

absl::Status RaftStorage::Bootstrap(const std::vector<raft::NodeId>& voters) {
  raft::Ready rd;
  rd.entries = raft::BootstrapEntries(voters);
  rd.hard_state = raft::BootstrapHardState(voters);
  return Save(rd, /*sync=*/true);
}

absl::Status RaftStorage::Save(const raft::Ready& rd, bool sync) {
  const bool has_snap = !raft::IsEmptySnap(rd.snapshot);
  if (has_snap && rd.snapshot.metadata().index() <= snapshot_.metadata().index()) {
    return raft::ErrSnapOutOfDate();
  }
  mvcc::Batch b = backend_->NewBatch();
  constexpr raft::Index kEnd = std::numeric_limits<raft::Index>::max();
  if (has_snap) {
    b.Put(Cf::kRaftState, kSnapshotKey, rd.snapshot.SerializeAsString());
    // Raft keeps no entry of ours after a received snapshot (the memory
    // log restarts at it): neither may the disk, or a diverged tail beyond
    // what the leader sends next would come back at the next start.
    b.DeleteRange(Cf::kRaftLog, LogKey(0), LogKey(kEnd));
  }
  if (!rd.entries.empty()) {
    for (const auto& e : rd.entries) b.Put(Cf::kRaftLog, LogKey(e.index()), e.SerializeAsString());
    // A conflicting suffix beyond the new entries is truncated.
    const raft::Index new_last = rd.entries.back().index();
    if (new_last < mem_.LastIndex()) {
      b.DeleteRange(Cf::kRaftLog, LogKey(new_last + 1), LogKey(kEnd));
    }
  }
  if (rd.hard_state) b.Put(Cf::kRaftState, kHardStateKey, rd.hard_state->SerializeAsString());
  if (b.Empty()) return absl::OkStatus();
  absl::Status saved = sync && journal_ != nullptr ? journal_->Commit(std::move(b))
                                                   : backend_->Commit(std::move(b), sync);
  if (!saved.ok()) return saved;
  empty_ = false;
  if (has_snap) {
    if (auto st = mem_.ApplySnapshot(rd.snapshot); !st.ok()) return st;
    snapshot_ = rd.snapshot;
    first_ = rd.snapshot.metadata().index() + 1;
    first_prev_term_ = rd.snapshot.metadata().term();
  }
  // Entries below the memory tail (only ever re-sent, never rewritten:
  // they are applied) are skipped by Append; the disk holds them.
  if (!rd.entries.empty()) {
    if (auto st = mem_.Append(rd.entries); !st.ok()) return st;
  }
  if (rd.hard_state) mem_.SetHardState(*rd.hard_state);
  return absl::OkStatus();
}

absl::Status RaftStorage::CreateSnapshot(raft::Index i, const raft::ConfState& cs,
                                         std::string data_path) {
  if (i <= snapshot_.metadata().index()) return raft::ErrSnapOutOfDate();
  if (i > LastIndex()) {
    return absl::OutOfRangeError(
        absl::StrCat("snapshot ", i, " is out of bound lastindex(", LastIndex(), ")"));
  }
  auto term = TermAt(i);
  if (!term.ok()) return term.status();
  raft::Snapshot snap = snapshot_;
  auto* md = snap.mutable_metadata();
  md->set_index(i);
  md->set_term(*term);
  *md->mutable_conf_state() = cs;
  snap.set_data(std::move(data_path));
  mvcc::Batch b = backend_->NewBatch();
  b.Put(Cf::kRaftState, kSnapshotKey, snap.SerializeAsString());
  if (auto st = backend_->Commit(std::move(b), /*sync=*/true); !st.ok()) return st;
  snapshot_ = std::move(snap);
  return absl::OkStatus();
}

std::string RaftStorage::LocateSnapshotFile(const std::string& path,
                                            const std::string& snapshot_dir) {
  std::error_code ec;
  if (path.empty() || std::filesystem::exists(path, ec)) return path;
  const auto name = std::filesystem::path(path).filename();
  // Taken here (snap/) or received from a peer (snap/recv/).
  for (const auto& dir : {std::filesystem::path(snapshot_dir),
                          std::filesystem::path(snapshot_dir) / "recv"}) {
    if (std::filesystem::exists(dir / name, ec)) return (dir / name).string();
  }
  return path;
}

void RaftStorage::RelocateSnapshot(const std::string& snapshot_dir) {
  const std::string moved = LocateSnapshotFile(snapshot_.data(), snapshot_dir);
  if (moved == snapshot_.data()) return;
  spdlog::info("snapshot file {} is now {}", snapshot_.data(), moved);
  snapshot_.set_data(moved);
}

absl::StatusOr<raft::Snapshot> RaftStorage::StoredSnapshot(const mvcc::Backend& backend) {
  raft::Snapshot sn;
  auto snap = backend.Get(Cf::kRaftState, kSnapshotKey);
  if (absl::IsNotFound(snap.status())) return sn;
  if (!snap.ok()) return snap.status();
  if (!sn.ParseFromString(*snap)) return absl::DataLossError("raft snapshot record is corrupt");
  return sn;
}

absl::Status RaftStorage::Compact(raft::Index i) {
  if (i < first_) return absl::OkStatus();
  if (i > LastIndex()) {
    return absl::OutOfRangeError(
        absl::StrCat("compact ", i, " is out of bound lastindex(", LastIndex(), ")"));
  }
  auto term = TermAt(i);
  if (!term.ok()) return term.status();
  if (i >= mem_.FirstIndex()) {
    if (auto st = mem_.Compact(i); !st.ok()) return st;
  }
  mvcc::Batch b = backend_->NewBatch();
  b.DeleteRange(Cf::kRaftLog, LogKey(0), LogKey(i + 1));
  if (auto st = backend_->Commit(std::move(b), /*sync=*/false); !st.ok()) return st;
  first_ = i + 1;
  first_prev_term_ = *term;
  return absl::OkStatus();
}

void RaftStorage::TrimMemory(raft::Index i, uint64_t min_batch) {
  i = std::min(i, LastIndex());
  const raft::Index mem_first = mem_.FirstIndex();
  if (i < mem_first || i - mem_first + 1 < std::max<uint64_t>(min_batch, 1)) return;
  mem_.Compact(i).IgnoreError();  // i is in [mem_first, LastIndex()]: cannot fail
}

absl::StatusOr<raft::Entry> RaftStorage::ReadEntry(raft::Index i) const {
  auto v = backend_->Get(Cf::kRaftLog, LogKey(i));
  if (absl::IsNotFound(v.status())) {
    return absl::DataLossError(absl::StrCat("raft log entry ", i, " is missing"));
  }
  if (!v.ok()) return v.status();
  raft::Entry e;
  if (!e.ParseFromString(*v) || e.index() != i) {
    return absl::DataLossError("raft log record is corrupt");
  }
  return e;
}

absl::StatusOr<raft::Term> RaftStorage::TermAt(raft::Index i) const {
  if (i + 1 < first_) return raft::ErrCompacted();
  if (i + 1 == first_) return first_prev_term_;
  if (i + 1 >= mem_.FirstIndex()) return mem_.TermAt(i);
  auto e = ReadEntry(i);
  if (!e.ok()) return e.status();
  return e->term();
}

absl::StatusOr<raft::EntryVec> RaftStorage::Entries(raft::Index lo, raft::Index hi,
                                                    uint64_t max_bytes) const {
  if (lo < first_) return raft::ErrCompacted();
  const raft::Index mem_first = mem_.FirstIndex();
  if (lo >= mem_first) return mem_.Entries(lo, hi, max_bytes);
  if (hi > LastIndex() + 1) {
    return absl::OutOfRangeError(
        absl::StrCat("entries' hi(", hi, ") is out of bound lastindex(", LastIndex(), ")"));
  }
  // [lo, mem_first) from disk, then the rest from memory, within max_bytes
  // (at least one entry, as MemoryStorage does).
  raft::EntryVec out;
  uint64_t size = 0;
  bool full = false;
  absl::Status bad;
  const raft::Index disk_hi = std::min(hi, mem_first);
  auto st = backend_->Scan(Cf::kRaftLog, LogKey(lo), LogKey(disk_hi),
                           [&](std::string_view k, std::string_view v) {
                             raft::Entry e;
                             if (k.size() != 8 ||
                                 !e.ParseFromArray(v.data(), static_cast<int>(v.size())) ||
                                 e.index() != lo + out.size()) {
                               bad = absl::DataLossError("raft log record is corrupt");
                               return false;
                             }
                             size += raft::EntrySize(e);
                             if (!out.empty() && size > max_bytes) {
                               full = true;
                               return false;
                             }
                             out.push_back(std::move(e));
                             return true;
                           });
  if (!st.ok()) return st;
  if (!bad.ok()) return bad;
  if (full) return out;
  if (out.size() != disk_hi - lo) {
    return absl::DataLossError(absl::StrCat("raft log has a gap after ", lo + out.size()));
  }
  if (hi > mem_first) {
    auto tail = mem_.Entries(mem_first, hi, max_bytes);
    if (!tail.ok()) return tail.status();
    for (auto& e : *tail) {
      size += raft::EntrySize(e);
      if (size > max_bytes) break;
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace quorum::server
