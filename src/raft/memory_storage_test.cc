#include "raft/memory_storage.h"

#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/raft_test_util.h"

namespace quorum::raft {
namespace {

using testing::MakeEntry;

MemoryStorage Make345() {
  MemoryStorage s;
  // Snapshot at 3 (term 3), entries 4 and 5.
  Snapshot snap;
  snap.mutable_metadata()->set_index(3);
  snap.mutable_metadata()->set_term(3);
  EXPECT_TRUE(s.ApplySnapshot(snap).ok());
  EXPECT_TRUE(s.Append(EntryVec{MakeEntry(4, 4), MakeEntry(5, 5)}).ok());
  return s;
}

TEST(MemoryStorageTest, TermAt) {
  MemoryStorage s = Make345();
  EXPECT_TRUE(IsErrCompacted(s.TermAt(2).status()));
  EXPECT_EQ(*s.TermAt(3), 3u);
  EXPECT_EQ(*s.TermAt(5), 5u);
  EXPECT_TRUE(IsErrUnavailable(s.TermAt(6).status()));
}

TEST(MemoryStorageTest, EntriesRespectBoundsAndSize) {
  MemoryStorage s = Make345();
  EXPECT_TRUE(IsErrCompacted(s.Entries(3, 5, kNoLimit).status()));
  EXPECT_EQ(s.Entries(4, 6, kNoLimit)->size(), 2u);
  EXPECT_EQ(s.Entries(4, 6, 0)->size(), 1u);  // at least one entry
  EXPECT_FALSE(s.Entries(4, 7, kNoLimit).ok());
}

TEST(MemoryStorageTest, FirstLastIndex) {
  MemoryStorage s = Make345();
  EXPECT_EQ(s.FirstIndex(), 4u);
  EXPECT_EQ(s.LastIndex(), 5u);
  EXPECT_TRUE(s.Compact(4).ok());
  EXPECT_EQ(s.FirstIndex(), 5u);
  EXPECT_TRUE(IsErrCompacted(s.Compact(4)));
  EXPECT_FALSE(s.Compact(9).ok());
}

TEST(MemoryStorageTest, AppendTruncatesConflictsAndRejectsGaps) {
  MemoryStorage s = Make345();
  EXPECT_TRUE(s.Append(EntryVec{MakeEntry(5, 6), MakeEntry(6, 6)}).ok());
  EXPECT_EQ(*s.TermAt(5), 6u);
  EXPECT_EQ(s.LastIndex(), 6u);
  // Overlapping the compacted part: the old prefix is skipped.
  EXPECT_TRUE(s.Append(EntryVec{MakeEntry(2, 3), MakeEntry(3, 3), MakeEntry(4, 4)}).ok());
  EXPECT_EQ(s.LastIndex(), 4u);
  EXPECT_FALSE(s.Append(EntryVec{MakeEntry(9, 9)}).ok());
}

TEST(MemoryStorageTest, CreateAndApplySnapshot) {
  MemoryStorage s = Make345();
  auto snap = s.CreateSnapshot(5, testing::MakeConfState({1, 2}), "data");
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->metadata().term(), 5u);
  EXPECT_TRUE(IsErrSnapOutOfDate(s.CreateSnapshot(4, {}, "").status()));
  MemoryStorage t;
  ASSERT_TRUE(t.ApplySnapshot(*snap).ok());
  EXPECT_EQ(t.FirstIndex(), 6u);
  EXPECT_EQ(t.LastIndex(), 5u);
  EXPECT_TRUE(IsErrSnapOutOfDate(t.ApplySnapshot(*snap)));
  EXPECT_EQ(t.GetInitialState()->conf_state.voters_size(), 2);
}

}  // namespace
}  // namespace quorum::raft
