// RaftStorage: the member's durable raft log and hard state, in the
// member's RocksDB (column families raft_log and raft_state), with an
// in-memory mirror (raft::MemoryStorage) that answers raft's reads.
//
// Persisted format (DO NOT CHANGE):
//   raft_log:   index:be64            -> raftpb.Entry
//   raft_state: "hard_state"          -> raftpb.HardState
//               "snapshot"            -> raftpb.Snapshot (data = the state
//                                        snapshot file path, see
//                                        state_snapshot.h)
// Entries below the snapshot index are deleted by Compact().
//
// Thread-safety: owned by the raft loop thread; raft reads it from the same
// thread. Writes (Save, CreateSnapshot, Compact) happen on that thread only.
#ifndef QUORUM_SERVER_MEMBER_RAFT_STORAGE_H_
#define QUORUM_SERVER_MEMBER_RAFT_STORAGE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "mvcc/backend/backend.h"
#include "raft/memory_storage.h"
#include "raft/ready.h"

namespace quorum::server {

class RaftStorage final : public raft::Storage {
 public:
  // Loads whatever the backend holds (nothing, for a new member).
  static absl::StatusOr<std::unique_ptr<RaftStorage>> Open(mvcc::Backend* backend);

  // True when no raft state was ever persisted (a brand-new member).
  bool IsEmpty() const { return empty_; }

  // Writes the founding membership into the log (raft::BootstrapEntries).
  absl::Status Bootstrap(const std::vector<raft::NodeId>& voters);

  // Persists a Ready's snapshot, entries and hard state in one WriteBatch,
  // fsynced when `sync`, then mirrors them in memory.
  absl::Status Save(const raft::Ready& rd, bool sync);

  // Records a state snapshot taken at applied index `i`, whose data file is
  // `data_path`, and persists its metadata.
  absl::Status CreateSnapshot(raft::Index i, const raft::ConfState& cs, std::string data_path);
  // Drops log entries up to and including `i` (memory and disk).
  absl::Status Compact(raft::Index i);

  // raft::Storage
  absl::StatusOr<raft::InitialState> GetInitialState() const override {
    return mem_.GetInitialState();
  }
  absl::StatusOr<raft::EntryVec> Entries(raft::Index lo, raft::Index hi,
                                         uint64_t max_bytes) const override {
    return mem_.Entries(lo, hi, max_bytes);
  }
  absl::StatusOr<raft::Term> TermAt(raft::Index i) const override { return mem_.TermAt(i); }
  raft::Index FirstIndex() const override { return mem_.FirstIndex(); }
  raft::Index LastIndex() const override { return mem_.LastIndex(); }
  absl::StatusOr<raft::Snapshot> GetSnapshot() const override { return mem_.GetSnapshot(); }

 private:
  explicit RaftStorage(mvcc::Backend* backend) : backend_(backend) {}
  absl::Status Load();

  mvcc::Backend* backend_;
  raft::MemoryStorage mem_;
  bool empty_ = true;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_RAFT_STORAGE_H_
