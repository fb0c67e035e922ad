#include "server/member/raft_storage.h"

#include "absl/strings/str_cat.h"
#include "raft/bootstrap.h"
#include "util/coding.h"

namespace quorum::server {
namespace {

using mvcc::Cf;

constexpr char kHardStateKey[] = "hard_state";
constexpr char kSnapshotKey[] = "snapshot";

std::string LogKey(raft::Index i) { return util::EncodeFixed64BE(i); }

}  // namespace

absl::StatusOr<std::unique_ptr<RaftStorage>> RaftStorage::Open(mvcc::Backend* backend) {
  std::unique_ptr<RaftStorage> s(new RaftStorage(backend));
  if (auto st = s->Load(); !st.ok()) return st;
  return s;
}

absl::Status RaftStorage::Load() {
  if (auto snap = backend_->Get(Cf::kRaftState, kSnapshotKey); snap.ok()) {
    raft::Snapshot sn;
    if (!sn.ParseFromString(*snap)) return absl::DataLossError("raft snapshot record is corrupt");
    if (auto st = mem_.ApplySnapshot(sn); !st.ok()) return st;
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
  mvcc::Batch b = backend_->NewBatch();
  if (!raft::IsEmptySnap(rd.snapshot)) {
    b.Put(Cf::kRaftState, kSnapshotKey, rd.snapshot.SerializeAsString());
    b.DeleteRange(Cf::kRaftLog, LogKey(0), LogKey(rd.snapshot.metadata().index() + 1));
  }
  if (!rd.entries.empty()) {
    for (const auto& e : rd.entries) b.Put(Cf::kRaftLog, LogKey(e.index()), e.SerializeAsString());
    // A conflicting suffix beyond the new entries is truncated.
    const raft::Index new_last = rd.entries.back().index();
    if (new_last < mem_.LastIndex()) {
      b.DeleteRange(Cf::kRaftLog, LogKey(new_last + 1), LogKey(mem_.LastIndex() + 1));
    }
  }
  if (rd.hard_state) b.Put(Cf::kRaftState, kHardStateKey, rd.hard_state->SerializeAsString());
  if (b.Empty()) return absl::OkStatus();
  if (auto st = backend_->Commit(std::move(b), sync); !st.ok()) return st;
  empty_ = false;
  if (!raft::IsEmptySnap(rd.snapshot)) {
    if (auto st = mem_.ApplySnapshot(rd.snapshot); !st.ok()) return st;
  }
  if (!rd.entries.empty()) {
    if (auto st = mem_.Append(rd.entries); !st.ok()) return st;
  }
  if (rd.hard_state) mem_.SetHardState(*rd.hard_state);
  return absl::OkStatus();
}

absl::Status RaftStorage::CreateSnapshot(raft::Index i, const raft::ConfState& cs,
                                         std::string data_path) {
  auto snap = mem_.CreateSnapshot(i, cs, std::move(data_path));
  if (!snap.ok()) return snap.status();
  mvcc::Batch b = backend_->NewBatch();
  b.Put(Cf::kRaftState, kSnapshotKey, snap->SerializeAsString());
  return backend_->Commit(std::move(b), /*sync=*/true);
}

absl::Status RaftStorage::Compact(raft::Index i) {
  if (i < mem_.FirstIndex()) return absl::OkStatus();
  if (auto st = mem_.Compact(i); !st.ok()) return st;
  mvcc::Batch b = backend_->NewBatch();
  b.DeleteRange(Cf::kRaftLog, LogKey(0), LogKey(i + 1));
  return backend_->Commit(std::move(b), /*sync=*/false);
}

}  // namespace quorum::server
