#include "raft/raft_log.h"

#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/memory_storage.h"
#include "raft/raft_test_util.h"

namespace quorum::raft {
namespace {

using testing::MakeEntry;

EntryVec Ents(std::initializer_list<std::pair<Index, Term>> it) {
  EntryVec out;
  for (auto [i, t] : it) out.push_back(MakeEntry(i, t));
  return out;
}

TEST(RaftLogTest, FindConflict) {
  MemoryStorage s;
  RaftLog log(&s, kNoLimit);
  log.Append(Ents({{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_EQ(log.FindConflict({}), 0u);
  EXPECT_EQ(log.FindConflict(Ents({{1, 1}, {2, 2}, {3, 3}})), 0u);
  EXPECT_EQ(log.FindConflict(Ents({{2, 2}, {3, 3}, {4, 4}})), 4u);  // new entries
  EXPECT_EQ(log.FindConflict(Ents({{2, 1}, {3, 4}})), 2u);          // conflict
}

TEST(RaftLogTest, FindConflictByTerm) {
  MemoryStorage s;
  RaftLog log(&s, kNoLimit);
  // index: 1 2 3 4 5 6 ; term: 1 1 2 2 5 5
  log.Append(Ents({{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 5}, {6, 5}}));
  EXPECT_EQ(log.FindConflictByTerm(6, 4), (std::pair<Index, Term>{4, 2}));
  EXPECT_EQ(log.FindConflictByTerm(6, 5), (std::pair<Index, Term>{6, 5}));
  EXPECT_EQ(log.FindConflictByTerm(3, 1), (std::pair<Index, Term>{2, 1}));
  EXPECT_EQ(log.FindConflictByTerm(6, 0), (std::pair<Index, Term>{0, 0}));
}

TEST(RaftLogTest, MaybeAppendMatchesTruncatesAndCommits) {
  MemoryStorage s;
  RaftLog log(&s, kNoLimit);
  log.Append(Ents({{1, 1}, {2, 2}, {3, 3}}));
  // Mismatched previous term: rejected.
  EXPECT_FALSE(log.MaybeAppend(3, 2, 3, Ents({{4, 4}})));
  // Matching, new entry, commit limited by last new index.
  auto last = log.MaybeAppend(3, 3, 10, Ents({{4, 4}}));
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, 4u);
  EXPECT_EQ(log.committed(), 4u);
  // Conflict at index 5 > committed truncates the suffix.
  log.Append(Ents({{5, 4}, {6, 4}}));
  last = log.MaybeAppend(4, 4, 4, Ents({{5, 5}}));
  ASSERT_TRUE(last);
  EXPECT_EQ(log.LastIndex(), 5u);
  EXPECT_EQ(*log.TermAt(5), 5u);
}

TEST(RaftLogTest, CommitOnlyCurrentTermEntries) {
  MemoryStorage s;
  RaftLog log(&s, kNoLimit);
  log.Append(Ents({{1, 1}, {2, 2}}));
  EXPECT_FALSE(log.MaybeCommit(2, 3));  // Figure 8: entry from an older term
  EXPECT_TRUE(log.MaybeCommit(2, 2));
  EXPECT_EQ(log.committed(), 2u);
}

TEST(RaftLogTest, SliceSpansStorageAndUnstableWithSizeLimit) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(EntryVec{MakeEntry(1, 1, "aaaa"), MakeEntry(2, 1, "bbbb")}).ok());
  RaftLog log(&s, kNoLimit);
  log.Append(EntryVec{MakeEntry(3, 2, "cccc"), MakeEntry(4, 2, "dddd")});
  EXPECT_EQ(log.Slice(1, 5, kNoLimit)->size(), 4u);
  EXPECT_EQ(log.Slice(2, 4, kNoLimit)->size(), 2u);
  EXPECT_EQ(log.Slice(1, 5, 0)->size(), 1u);
  EXPECT_EQ(log.Slice(1, 5, 2 * EntrySize(MakeEntry(1, 1, "aaaa")))->size(), 2u);
  ASSERT_TRUE(s.Compact(1).ok());
  EXPECT_TRUE(IsErrCompacted(log.Slice(1, 3, kNoLimit).status()));
  EXPECT_TRUE(IsErrCompacted(log.TermAt(0).status()));
  EXPECT_EQ(*log.TermAt(1), 1u);
}

TEST(RaftLogTest, NextCommittedEntsAndApply) {
  MemoryStorage s;
  RaftLog log(&s, kNoLimit);
  log.Append(Ents({{1, 1}, {2, 1}, {3, 1}}));
  EXPECT_TRUE(log.NextCommittedEnts().empty());
  log.CommitTo(2);
  EXPECT_EQ(log.NextCommittedEnts().size(), 2u);
  log.AcceptApplying(2);
  EXPECT_TRUE(log.NextCommittedEnts().empty());
  log.AppliedTo(2);
  log.CommitTo(3);
  ASSERT_EQ(log.NextCommittedEnts().size(), 1u);
  EXPECT_EQ(log.NextCommittedEnts()[0].index(), 3u);
}

TEST(RaftLogTest, RestoreSnapshot) {
  MemoryStorage s;
  RaftLog log(&s, kNoLimit);
  Snapshot snap;
  snap.mutable_metadata()->set_index(100);
  snap.mutable_metadata()->set_term(5);
  log.Restore(snap);
  EXPECT_EQ(log.committed(), 100u);
  EXPECT_EQ(log.FirstIndex(), 101u);
  EXPECT_EQ(log.LastIndex(), 100u);
  EXPECT_EQ(*log.TermAt(100), 5u);
  EXPECT_TRUE(log.NextCommittedEnts().empty());
}

TEST(RaftLogTest, IsUpToDate) {
  MemoryStorage s;
  RaftLog log(&s, kNoLimit);
  log.Append(Ents({{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_TRUE(log.IsUpToDate(1, 4));   // higher last term wins
  EXPECT_FALSE(log.IsUpToDate(9, 2));  // lower last term loses
  EXPECT_TRUE(log.IsUpToDate(3, 3));
  EXPECT_FALSE(log.IsUpToDate(2, 3));
}

}  // namespace
}  // namespace quorum::raft
