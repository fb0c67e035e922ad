// LogJournal: batches it acknowledged come back after the database lost
// them (as RocksDB loses unsynced writes in a power cut), in order, and only
// those: not torn records, not records of another epoch, not twice.
//
// A lost write is simulated by undoing it in the database: deleting its key
// and setting the journal mark back, which leaves the database exactly as
// RocksDB's point-in-time recovery would (a prefix of its writes).
#include "server/member/log_journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "mvcc/temp_store_for_test.h"
#include "server/member/raft_storage.h"

namespace quorum::server {
namespace {

namespace tu = mvcc::test_util;
using mvcc::Cf;

class LogJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tu::MakeTempDir("log-journal");
    ASSERT_FALSE(dir_.empty());
    OpenBackend();
  }
  void TearDown() override {
    journal_.reset();
    backend_.reset();
    tu::RemoveTempDir(dir_);
  }
  void OpenBackend() {
    auto b = mvcc::Backend::Open(dir_ + "/db", tu::NoFsyncOptions());
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
  }
  void OpenJournal() {
    journal_.reset();
    auto j = LogJournal::Open(path(), backend_.get(), opts_);
    ASSERT_TRUE(j.ok()) << j.status();
    journal_ = std::move(*j);
  }
  std::string path() const { return dir_ + "/wal/journal"; }

  void Commit(int i) {
    mvcc::Batch b = backend_->NewBatch();
    b.Put(Cf::kRaftLog, "k" + std::to_string(i), std::string(150, static_cast<char>('a' + i % 26)));
    ASSERT_TRUE(journal_->Commit(std::move(b)).ok());
  }
  bool Has(int i) const { return backend_->Get(Cf::kRaftLog, "k" + std::to_string(i)).ok(); }

  // The database forgets the last `n` journaled batches (keys from..to).
  void Forget(int from, int to) {
    auto mark = backend_->Get(Cf::kRaftState, "journal");
    ASSERT_TRUE(mark.ok());
    std::string m = *mark;
    uint64_t seq = 0;
    for (int i = 7; i >= 0; --i) seq = (seq << 8) | static_cast<unsigned char>(m[8 + i]);
    seq -= static_cast<uint64_t>(to - from + 1);
    for (int i = 0; i < 8; ++i) m[8 + i] = static_cast<char>((seq >> (8 * i)) & 0xff);
    mvcc::Batch b = backend_->NewBatch();
    b.Put(Cf::kRaftState, "journal", m);
    for (int i = from; i <= to; ++i) b.Delete(Cf::kRaftLog, "k" + std::to_string(i));
    ASSERT_TRUE(backend_->Commit(std::move(b), false).ok());
  }

  // Byte offset of the end of record `n` (1-based) from the file's start.
  uint64_t RecordEnd(int n) {
    int fd = ::open(path().c_str(), O_RDONLY);
    uint64_t off = 0;
    for (int i = 0; i < n; ++i) {
      unsigned char h[24];
      EXPECT_EQ(::pread(fd, h, 24, static_cast<off_t>(off)), 24);
      const uint32_t len = h[4] | (h[5] << 8) | (h[6] << 16) | (static_cast<uint32_t>(h[7]) << 24);
      off += 24 + len;
    }
    ::close(fd);
    return off;
  }

  std::string dir_;
  LogJournalOptions opts_;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<LogJournal> journal_;
};

TEST_F(LogJournalTest, ReplaysWhatTheDatabaseLost) {
  OpenJournal();
  for (int i = 1; i <= 5; ++i) Commit(i);
  Forget(3, 5);
  ASSERT_FALSE(Has(3));
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 3u);
  for (int i = 1; i <= 5; ++i) EXPECT_TRUE(Has(i)) << i;
  // The reopened journal starts over: nothing to replay a second time, and
  // new batches are journaled as before.
  Commit(6);
  Forget(6, 6);
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 1u);
  EXPECT_TRUE(Has(6));
}

TEST_F(LogJournalTest, NothingToReplayWhenTheDatabaseHasEverything) {
  OpenJournal();
  for (int i = 1; i <= 5; ++i) Commit(i);
  journal_.reset();
  backend_.reset();
  OpenBackend();
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 0u);
  for (int i = 1; i <= 5; ++i) EXPECT_TRUE(Has(i)) << i;
}

TEST_F(LogJournalTest, TornRecordEndsTheReplay) {
  OpenJournal();
  for (int i = 1; i <= 3; ++i) Commit(i);
  Forget(2, 3);
  // The last record's final byte never reached the disk.
  const uint64_t end = RecordEnd(3);
  int fd = ::open(path().c_str(), O_WRONLY);
  const char bad = '\x5a';
  ASSERT_EQ(::pwrite(fd, &bad, 1, static_cast<off_t>(end - 1)), 1);
  ::close(fd);
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 1u);
  EXPECT_TRUE(Has(2));
  EXPECT_FALSE(Has(3));
}

TEST_F(LogJournalTest, ReusedFileReplaysOnlyTheCurrentEpoch) {
  opts_.capacity_bytes = 4096;
  opts_.grow_bytes = 1024;
  opts_.max_record_bytes = 1024;
  OpenJournal();
  for (int i = 1; i <= 60; ++i) Commit(i);
  EXPECT_GE(journal_->wraps(), 2u);
  Forget(58, 60);
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 3u);
  for (int i = 1; i <= 60; ++i) EXPECT_TRUE(Has(i)) << i;
  struct stat sb;
  ASSERT_EQ(::stat(path().c_str(), &sb), 0);
  EXPECT_LE(static_cast<uint64_t>(sb.st_size), opts_.capacity_bytes);
}

TEST_F(LogJournalTest, LargeBatchIsWrittenSyncedAndNotJournaled) {
  opts_.max_record_bytes = 1024;
  OpenJournal();
  Commit(1);
  mvcc::Batch big = backend_->NewBatch();
  big.Put(Cf::kRaftLog, "big", std::string(4096, 'x'));
  ASSERT_TRUE(journal_->Commit(std::move(big)).ok());
  Commit(2);
  Forget(2, 2);
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 1u);
  EXPECT_TRUE(Has(2));
  EXPECT_TRUE(backend_->Get(Cf::kRaftLog, "big").ok());
}

TEST_F(LogJournalTest, ADifferentDatabaseIsNotReplayedInto) {
  OpenJournal();
  for (int i = 1; i <= 3; ++i) Commit(i);
  journal_.reset();
  // A fresh database (say, restored from a snapshot) beside the old journal.
  backend_.reset();
  tu::RemoveTempDir(dir_ + "/db");
  OpenBackend();
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 0u);
  EXPECT_FALSE(Has(1));
}

// A run without fsync keeps no journal: what an earlier run journaled is
// brought back first, and the file goes, so that it is never replayed over
// what the run without fsync wrote.
TEST_F(LogJournalTest, RecoverAndRemoveReplaysOnceThenDeletes) {
  OpenJournal();
  for (int i = 1; i <= 3; ++i) Commit(i);
  Forget(3, 3);
  journal_.reset();
  ASSERT_TRUE(LogJournal::RecoverAndRemove(path(), backend_.get()).ok());
  EXPECT_TRUE(Has(3));
  EXPECT_FALSE(std::filesystem::exists(path()));
  // Newer state written without the journal, then the journal is back on.
  mvcc::Batch b = backend_->NewBatch();
  b.Delete(Cf::kRaftLog, "k3");
  ASSERT_TRUE(backend_->Commit(std::move(b), false).ok());
  OpenJournal();
  EXPECT_EQ(journal_->replayed(), 0u);
  EXPECT_FALSE(Has(3));
  EXPECT_TRUE(LogJournal::RecoverAndRemove(dir_ + "/none", backend_.get()).ok());
}

TEST_F(LogJournalTest, RaftStorageSavesThroughTheJournal) {
  auto s = RaftStorage::Open(backend_.get(), path());
  ASSERT_TRUE(s.ok()) << s.status();
  raft::Ready rd;
  for (raft::Index i = 1; i <= 10; ++i) {
    raft::Entry e;
    e.set_index(i);
    e.set_term(1);
    e.set_data("e" + std::to_string(i));
    rd.entries.push_back(e);
  }
  raft::HardState hs;
  hs.set_term(1);
  hs.set_commit(10);
  rd.hard_state = hs;
  ASSERT_TRUE((*s)->Save(rd, /*sync=*/true).ok());
  s->reset();
  // The database lost that save; the journal brings it back.
  mvcc::Batch undo = backend_->NewBatch();
  undo.DeleteRange(Cf::kRaftLog, std::string(8, '\0'), std::string(8, '\xff'));
  undo.Delete(Cf::kRaftState, "hard_state");
  auto mark = backend_->Get(Cf::kRaftState, "journal");
  ASSERT_TRUE(mark.ok());
  std::string m = *mark;
  m[8] = 0;  // seq 0 (one save since the journal opened)
  undo.Put(Cf::kRaftState, "journal", m);
  ASSERT_TRUE(backend_->Commit(std::move(undo), false).ok());
  auto again = RaftStorage::Open(backend_.get(), path());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->LastIndex(), 10u);
  auto hs2 = (*again)->GetInitialState();
  ASSERT_TRUE(hs2.ok());
  EXPECT_EQ(hs2->hard_state.commit(), 10u);
  auto ents = (*again)->Entries(1, 11, UINT64_MAX);
  ASSERT_TRUE(ents.ok());
  EXPECT_EQ((*ents)[9].data(), "e10");
}

}  // namespace
}  // namespace quorum::server
