// LogJournal: makes the raft log's writes durable with one fdatasync of a
// file that never changes size, instead of a sync of RocksDB's WAL.
//
// Why: RocksDB's WAL grows with every record, so each synced write also
// commits the file's new size through the filesystem journal: on this kind
// of VM disk an fdatasync of an appended file costs about 1.5x the time and
// 2x the kernel CPU of one that overwrites already-written blocks, with a
// tail of milliseconds when other files' data rides along in that commit.
// A raft member syncs once per append it acknowledges, so this is on every
// write's path (etcd avoids it the same way: preallocated WAL segments).
//
// How: Commit(batch) writes the batch to RocksDB unsynced and appends the
// same encoded batch to the journal, then fdatasyncs the journal only.
// Each journaled batch also records its own (epoch, seq) in the database.
// After a crash RocksDB recovers a prefix of its writes (point-in-time
// recovery); Open() then re-applies, in order, the journal records of the
// database's epoch past the recorded seq, so every batch Commit returned
// for is in the database again.
//
// The file is written once to its full length as it first grows (chunks of
// zeros), then reused from the start: a new epoch begins after RocksDB's WAL
// is synced (every earlier batch is then durable without the journal), and
// records of older epochs are ignored.
//
// Record: crc32c (4, of the rest) | payload length (4) | epoch (8) | seq (8)
// | payload (the batch, RocksDB encoding); little-endian.
//
// Thread-safety: not thread-safe; owned by the raft storage (one writer).
#ifndef QUORUM_SERVER_MEMBER_LOG_JOURNAL_H_
#define QUORUM_SERVER_MEMBER_LOG_JOURNAL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mvcc/backend/backend.h"

namespace quorum::server {

struct LogJournalOptions {
  // Size the file grows to before it is reused from the start.
  uint64_t capacity_bytes = 16 << 20;
  // Zeros written ahead of the records at a time.
  uint64_t grow_bytes = 1 << 20;
  // Batches larger than this skip the journal: a synced RocksDB write.
  uint64_t max_record_bytes = 4 << 20;
};

class LogJournal {
 public:
  // Opens (creating if needed) the journal at `path` for `backend` and
  // re-applies the records the backend lost. `backend` must outlive it.
  static absl::StatusOr<std::unique_ptr<LogJournal>> Open(const std::string& path,
                                                          mvcc::Backend* backend,
                                                          LogJournalOptions opts = {});
  // For a member that runs without fsync (and so without a journal): brings
  // back what an earlier run journaled, then deletes the journal, so that it
  // is never replayed over the newer state this run writes.
  static absl::Status RecoverAndRemove(const std::string& path, mvcc::Backend* backend);
  // Brings back what the journal at `path` (if any) holds that `backend`
  // lost, before anything reads the raft state; the journal is kept.
  static absl::Status Recover(const std::string& path, mvcc::Backend* backend);
  ~LogJournal();
  LogJournal(const LogJournal&) = delete;
  LogJournal& operator=(const LogJournal&) = delete;

  // Applies `batch` to the backend; durable when this returns OK.
  absl::Status Commit(mvcc::Batch batch);

  // Records re-applied by Open (tests, log).
  uint64_t replayed() const { return replayed_; }
  // Times the file was reused from the start (tests).
  uint64_t wraps() const { return wraps_; }

 private:
  LogJournal(std::string path, mvcc::Backend* backend, LogJournalOptions opts)
      : path_(std::move(path)), backend_(backend), opts_(opts) {}
  absl::Status Replay();
  // Starts a new epoch at offset 0 once the backend's WAL is synced.
  absl::Status Restart();
  // Writes zeros so that [0, end) is allocated and written.
  absl::Status GrowTo(uint64_t end);

  const std::string path_;
  mvcc::Backend* backend_;
  const LogJournalOptions opts_;
  int fd_ = -1;
  uint64_t epoch_ = 0;
  uint64_t seq_ = 0;
  uint64_t pos_ = 0;      // where the next record goes
  uint64_t written_ = 0;  // bytes of the file already written
  uint64_t replayed_ = 0;
  uint64_t wraps_ = 0;
  std::string record_;  // reused buffer
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_LOG_JOURNAL_H_
