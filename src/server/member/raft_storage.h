// RaftStorage: the member's durable raft log and hard state, in the
// member's RocksDB (column families raft_log and raft_state), with an
// in-memory mirror (raft::MemoryStorage) that answers raft's reads.
//
// Memory: only a tail of the log is mirrored. TrimMemory(i) drops entries
// up to i from memory but not from disk; raft's reads of those (a follower
// catching up, a term lookup) go to RocksDB. Why: the log keeps every entry
// since the last snapshot (--snapshot-count, 100,000 by default) plus 5,000,
// ~40 MiB with 256 B values, while raft itself needs only the entries it
// has not applied yet and the few a healthy follower lacks.
//
// Persisted format (DO NOT CHANGE):
//   raft_log:   index:be64            -> raftpb.Entry
//   raft_state: "hard_state"          -> raftpb.HardState
//               "snapshot"            -> raftpb.Snapshot (data = the state
//                                        snapshot file path, see
//                                        state_snapshot.h)
//               "journal"             -> epoch, seq (log_journal.h)
// Synced saves go through the LogJournal when there is one (the member's
// journal file: one fdatasync of a file of fixed size), else through a
// synced RocksDB write.
// Entries below the snapshot index are deleted by Compact().
//
// Thread-safety: owned by the raft loop thread; raft reads it from the same
// thread. Writes (Save, CreateSnapshot, Compact) happen on that thread only.
#ifndef QUORUM_SERVER_MEMBER_RAFT_STORAGE_H_
#define QUORUM_SERVER_MEMBER_RAFT_STORAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mvcc/backend/backend.h"
#include "raft/memory_storage.h"
#include "raft/ready.h"
#include "server/member/log_journal.h"

namespace quorum::server {

class RaftStorage final : public raft::Storage {
 public:
  // Loads whatever the backend holds (nothing, for a new member). With a
  // `journal_path`, first re-applies the journaled saves the backend lost in
  // a crash, then makes synced saves durable through that journal.
  static absl::StatusOr<std::unique_ptr<RaftStorage>> Open(mvcc::Backend* backend,
                                                           const std::string& journal_path = "",
                                                           LogJournalOptions journal_opts = {});

  // True when no raft state was ever persisted (a brand-new member).
  bool IsEmpty() const { return empty_; }
  // Whether `backend` holds a hard state or a snapshot record (the journal's
  // mark alone does not count), without opening a RaftStorage on it.
  static bool HasHardStateOrSnapshot(const mvcc::Backend& backend);

  // Writes the founding membership into the log (raft::BootstrapEntries).
  absl::Status Bootstrap(const std::vector<raft::NodeId>& voters);

  // Persists a Ready's snapshot, entries and hard state in one WriteBatch,
  // fsynced when `sync`, then mirrors them in memory.
  absl::Status Save(const raft::Ready& rd, bool sync);

  // Records a state snapshot taken at applied index `i`, whose data file is
  // `data_path`, and persists its metadata.
  absl::Status CreateSnapshot(raft::Index i, const raft::ConfState& cs, std::string data_path);
  // A snapshot record names its file by the path it had when written: after
  // the data dir moved (a new mount point, a copied volume) that path is
  // gone. Points the record at the file of that name in `snapshot_dir` or
  // its recv/ (in memory; the next snapshot persists the new path).
  void RelocateSnapshot(const std::string& snapshot_dir);
  // Where the file recorded as `path` is now, as above (`path` when it is
  // there or nowhere).
  static std::string LocateSnapshotFile(const std::string& path, const std::string& snapshot_dir);
  // The snapshot record in `backend` (an empty snapshot when none), without
  // opening a RaftStorage on it.
  static absl::StatusOr<raft::Snapshot> StoredSnapshot(const mvcc::Backend& backend);
  // Drops log entries up to and including `i` (memory and disk).
  absl::Status Compact(raft::Index i);
  // Drops entries up to and including `i` from memory only, once at least
  // `min_batch` of them can go (each trim copies the remaining tail). `i`
  // must be applied (so never rewritten) and at most LastIndex().
  void TrimMemory(raft::Index i, uint64_t min_batch);
  // First entry still mirrored in memory (test and log use).
  raft::Index FirstInMemory() const { return mem_.FirstIndex(); }

  // raft::Storage
  absl::StatusOr<raft::InitialState> GetInitialState() const override {
    return raft::InitialState{mem_.hard_state(), snapshot_.metadata().conf_state()};
  }
  absl::StatusOr<raft::EntryVec> Entries(raft::Index lo, raft::Index hi,
                                         uint64_t max_bytes) const override;
  absl::StatusOr<raft::Term> TermAt(raft::Index i) const override;
  raft::Index FirstIndex() const override { return first_; }
  raft::Index LastIndex() const override { return mem_.LastIndex(); }
  absl::StatusOr<raft::Snapshot> GetSnapshot() const override { return snapshot_; }

 private:
  explicit RaftStorage(mvcc::Backend* backend) : backend_(backend) {}
  absl::Status Load();
  // Reads entry `i` from disk.
  absl::StatusOr<raft::Entry> ReadEntry(raft::Index i) const;

  mvcc::Backend* backend_;
  std::unique_ptr<LogJournal> journal_;  // null: synced RocksDB writes
  // Hard state and the log's tail [mem_.FirstIndex(), LastIndex()]. Its own
  // snapshot record is only used to order received snapshots.
  raft::MemoryStorage mem_;
  // The latest snapshot (taken here or received).
  raft::Snapshot snapshot_;
  // raft's first index: entries [first_, mem_.FirstIndex()) are on disk only.
  raft::Index first_ = 1;
  // Term of entry first_ - 1 (deleted from disk by Compact).
  raft::Term first_prev_term_ = 0;
  bool empty_ = true;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_RAFT_STORAGE_H_
