// RaftStorage with a trimmed memory tail answers raft exactly as with the
// whole log in memory: entries, terms, bounds, size limits, snapshots,
// compaction and reopening.
#include "server/member/raft_storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mvcc/temp_store_for_test.h"
#include "raft/errors.h"
#include "raft/types.h"
#include "util/coding.h"

namespace quorum::server {
namespace {

namespace tu = mvcc::test_util;

raft::Entry MakeEntry(raft::Index i, raft::Term t) {
  raft::Entry e;
  e.set_index(i);
  e.set_term(t);
  e.set_data(std::string(100, static_cast<char>('a' + i % 26)));
  return e;
}

class RaftStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tu::MakeTempDir("raft-storage");
    ASSERT_FALSE(dir_.empty());
    Reopen();
    // Entries 1..100; the term changes at 40 and 70.
    raft::Ready rd;
    for (raft::Index i = 1; i <= 100; ++i) {
      want_.push_back(MakeEntry(i, i < 40 ? 1 : i < 70 ? 2 : 3));
    }
    rd.entries = want_;
    raft::HardState hs;
    hs.set_term(3);
    hs.set_commit(100);
    rd.hard_state = hs;
    ASSERT_TRUE(storage_->Save(rd, /*sync=*/false).ok());
  }
  void TearDown() override {
    storage_.reset();
    backend_.reset();
    tu::RemoveTempDir(dir_);
  }
  void Reopen() {
    storage_.reset();
    backend_.reset();
    auto b = mvcc::Backend::Open(dir_ + "/db", tu::NoFsyncOptions());
    ASSERT_TRUE(b.ok());
    backend_ = std::move(*b);
    auto s = RaftStorage::Open(backend_.get());
    ASSERT_TRUE(s.ok());
    storage_ = std::move(*s);
  }
  void ExpectEntries(raft::Index lo, raft::Index hi) {
    auto got = storage_->Entries(lo, hi, UINT64_MAX);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), hi - lo);
    for (raft::Index i = lo; i < hi; ++i) {
      EXPECT_EQ((*got)[i - lo].SerializeAsString(), want_[i - 1].SerializeAsString()) << i;
    }
  }

  std::string dir_;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<RaftStorage> storage_;
  raft::EntryVec want_;
};

TEST_F(RaftStorageTest, TrimmedEntriesAreReadFromDisk) {
  storage_->TrimMemory(80, /*min_batch=*/1);
  EXPECT_EQ(storage_->FirstInMemory(), 81u);
  EXPECT_EQ(storage_->FirstIndex(), 1u);
  EXPECT_EQ(storage_->LastIndex(), 100u);
  ExpectEntries(1, 101);    // disk then memory
  ExpectEntries(10, 50);    // disk only
  ExpectEntries(81, 101);   // memory only
  ExpectEntries(80, 82);    // across the boundary
  for (raft::Index i = 1; i <= 100; ++i) {
    auto t = storage_->TermAt(i);
    ASSERT_TRUE(t.ok()) << i;
    EXPECT_EQ(*t, want_[i - 1].term()) << i;
  }
  EXPECT_EQ(*storage_->TermAt(0), 0u);
  EXPECT_TRUE(raft::IsErrUnavailable(storage_->TermAt(101).status()));
  EXPECT_FALSE(storage_->Entries(1, 102, UINT64_MAX).ok());
}

TEST_F(RaftStorageTest, SizeLimitHoldsAcrossTheBoundary) {
  storage_->TrimMemory(50, 1);
  const uint64_t per = raft::EntrySize(want_[0]);
  for (raft::Index lo : {45u, 49u, 51u}) {
    auto got = storage_->Entries(lo, 101, per * 3);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 3u) << lo;
    EXPECT_EQ((*got)[0].index(), lo);
  }
  // At least one entry, however small the limit.
  auto one = storage_->Entries(10, 101, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
}

TEST_F(RaftStorageTest, TrimWaitsForABatch) {
  storage_->TrimMemory(10, /*min_batch=*/20);
  EXPECT_EQ(storage_->FirstInMemory(), 1u);
  storage_->TrimMemory(30, 20);
  EXPECT_EQ(storage_->FirstInMemory(), 31u);
  storage_->TrimMemory(500, 1);  // clamped to the last index
  EXPECT_EQ(storage_->FirstInMemory(), 101u);
  ExpectEntries(1, 101);
}

TEST_F(RaftStorageTest, SnapshotAndCompactBelowTheMemoryTail) {
  storage_->TrimMemory(90, 1);
  raft::ConfState cs;
  cs.add_voters(1);
  ASSERT_TRUE(storage_->CreateSnapshot(60, cs, "/snap/path").ok());
  auto snap = storage_->GetSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->metadata().index(), 60u);
  EXPECT_EQ(snap->metadata().term(), 2u);  // read from disk
  EXPECT_TRUE(raft::IsErrSnapOutOfDate(storage_->CreateSnapshot(60, cs, "x")));

  ASSERT_TRUE(storage_->Compact(55).ok());
  EXPECT_EQ(storage_->FirstIndex(), 56u);
  EXPECT_EQ(*storage_->TermAt(55), 2u);
  EXPECT_TRUE(raft::IsErrCompacted(storage_->TermAt(54).status()));
  EXPECT_TRUE(raft::IsErrCompacted(storage_->Entries(55, 60, UINT64_MAX).status()));
  ExpectEntries(56, 101);

  // Reopened: the snapshot and the log after it (all in memory again).
  Reopen();
  EXPECT_EQ(storage_->GetSnapshot()->metadata().index(), 60u);
  EXPECT_EQ(storage_->FirstIndex(), 61u);
  EXPECT_EQ(*storage_->TermAt(60), 2u);
  EXPECT_EQ(storage_->GetInitialState()->conf_state.voters_size(), 1);
  EXPECT_EQ(storage_->GetInitialState()->hard_state.commit(), 100u);
  ExpectEntries(61, 101);
}

TEST_F(RaftStorageTest, ConflictingAppendAfterTrim) {
  storage_->TrimMemory(80, 1);
  // A new leader's entries replace the uncommitted suffix from 91 on.
  raft::Ready rd;
  for (raft::Index i = 91; i <= 95; ++i) rd.entries.push_back(MakeEntry(i, 4));
  ASSERT_TRUE(storage_->Save(rd, false).ok());
  want_.resize(90);
  for (auto& e : rd.entries) want_.push_back(e);
  EXPECT_EQ(storage_->LastIndex(), 95u);
  ExpectEntries(1, 96);
  Reopen();
  EXPECT_EQ(storage_->LastIndex(), 95u);
  ExpectEntries(1, 96);
}

// A received snapshot below a diverged tail: raft restarts its log at the
// snapshot, and the leader then sends fewer entries than the old tail had.
// None of the old tail may come back when the log is read from disk again.
TEST_F(RaftStorageTest, ReceivedSnapshotDropsTheWholeOldTail) {
  raft::Ready rd;
  rd.snapshot.mutable_metadata()->set_index(50);
  rd.snapshot.mutable_metadata()->set_term(5);
  rd.snapshot.mutable_metadata()->mutable_conf_state()->add_voters(1);
  rd.snapshot.set_data("/snap/recv/x.snap");
  ASSERT_TRUE(storage_->Save(rd, false).ok());
  raft::Ready next;
  for (raft::Index i = 51; i <= 53; ++i) next.entries.push_back(MakeEntry(i, 5));
  ASSERT_TRUE(storage_->Save(next, false).ok());
  EXPECT_EQ(storage_->LastIndex(), 53u);
  Reopen();
  EXPECT_EQ(storage_->FirstIndex(), 51u);
  EXPECT_EQ(storage_->LastIndex(), 53u) << "entries of the old tail came back";
  EXPECT_EQ(*storage_->TermAt(53), 5u);
}

// Terms never go down along a log: reading one that does is data loss,
// not a log to run with.
TEST_F(RaftStorageTest, LogWhoseTermGoesDownIsRejected) {
  storage_.reset();
  auto b = backend_->NewBatch();
  raft::Entry e = MakeEntry(101, 1);  // after entries of term 3
  b.Put(mvcc::Cf::kRaftLog, util::EncodeFixed64BE(101), e.SerializeAsString());
  ASSERT_TRUE(backend_->Commit(std::move(b), false).ok());
  auto s = RaftStorage::Open(backend_.get());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsDataLoss(s.status())) << s.status();
}

// The data dir moved: the record's path is gone, the file is in the new
// snapshot directory under the same name. A missing file stays as recorded.
TEST_F(RaftStorageTest, SnapshotRecordFollowsAMovedDataDir) {
  raft::ConfState cs;
  cs.add_voters(1);
  const std::string old_path = dir_ + "/old/snap/0000000000000002-000000000000003c.snap";
  ASSERT_TRUE(storage_->CreateSnapshot(60, cs, old_path).ok());
  const std::string snap_dir = dir_ + "/new/snap";
  std::filesystem::create_directories(snap_dir);
  storage_->RelocateSnapshot(snap_dir);
  EXPECT_EQ(storage_->GetSnapshot()->data(), old_path) << "no file anywhere: unchanged";
  std::ofstream(snap_dir + "/0000000000000002-000000000000003c.snap") << "x";
  storage_->RelocateSnapshot(snap_dir);
  EXPECT_EQ(storage_->GetSnapshot()->data(), snap_dir + "/0000000000000002-000000000000003c.snap");
}

}  // namespace
}  // namespace quorum::server
