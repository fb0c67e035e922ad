#include "raft/log_unstable.h"

#include <gtest/gtest.h>

#include "raft/raft_test_util.h"

namespace quorum::raft {
namespace {

using testing::MakeEntry;

Snapshot Snap(Index i, Term t) {
  Snapshot s;
  s.mutable_metadata()->set_index(i);
  s.mutable_metadata()->set_term(t);
  return s;
}

TEST(UnstableTest, IndexesWithAndWithoutSnapshot) {
  Unstable u(5);
  EXPECT_FALSE(u.MaybeFirstIndex());
  EXPECT_FALSE(u.MaybeLastIndex());
  u.TruncateAndAppend(EntryVec{MakeEntry(5, 1)});
  EXPECT_EQ(*u.MaybeLastIndex(), 5u);
  EXPECT_FALSE(u.MaybeFirstIndex());
  u.Restore(Snap(4, 1));
  EXPECT_EQ(*u.MaybeFirstIndex(), 5u);
  EXPECT_EQ(*u.MaybeLastIndex(), 4u);
  EXPECT_EQ(*u.MaybeTerm(4), 1u);
  EXPECT_FALSE(u.MaybeTerm(5));
}

TEST(UnstableTest, MaybeTerm) {
  Unstable u(5);
  u.TruncateAndAppend(EntryVec{MakeEntry(5, 1), MakeEntry(6, 2)});
  EXPECT_EQ(*u.MaybeTerm(6), 2u);
  EXPECT_FALSE(u.MaybeTerm(7));
  EXPECT_FALSE(u.MaybeTerm(4));
}

TEST(UnstableTest, StableToDropsPersistedPrefixOnlyIfTermMatches) {
  Unstable u(5);
  u.TruncateAndAppend(EntryVec{MakeEntry(5, 1), MakeEntry(6, 1), MakeEntry(7, 2)});
  u.StableTo(6, 2);  // term mismatch: stale stable notice
  EXPECT_EQ(u.entries().size(), 3u);
  u.StableTo(6, 1);
  EXPECT_EQ(u.offset(), 7u);
  ASSERT_EQ(u.entries().size(), 1u);
  u.StableTo(9, 2);  // out of range: ignored
  EXPECT_EQ(u.offset(), 7u);
}

TEST(UnstableTest, TruncateAndAppendCases) {
  // Append directly after.
  Unstable a(5);
  a.TruncateAndAppend(EntryVec{MakeEntry(5, 1)});
  a.TruncateAndAppend(EntryVec{MakeEntry(6, 1), MakeEntry(7, 1)});
  EXPECT_EQ(*a.MaybeLastIndex(), 7u);
  // Replace the whole unstable part.
  Unstable b(5);
  b.TruncateAndAppend(EntryVec{MakeEntry(5, 1), MakeEntry(6, 1)});
  b.TruncateAndAppend(EntryVec{MakeEntry(4, 2), MakeEntry(5, 2)});
  EXPECT_EQ(b.offset(), 4u);
  EXPECT_EQ(*b.MaybeTerm(5), 2u);
  EXPECT_EQ(*b.MaybeLastIndex(), 5u);
  // Truncate in the middle.
  Unstable c(5);
  c.TruncateAndAppend(EntryVec{MakeEntry(5, 1), MakeEntry(6, 1), MakeEntry(7, 1)});
  c.TruncateAndAppend(EntryVec{MakeEntry(6, 2)});
  EXPECT_EQ(*c.MaybeLastIndex(), 6u);
  EXPECT_EQ(*c.MaybeTerm(6), 2u);
  EXPECT_EQ(*c.MaybeTerm(5), 1u);
}

TEST(UnstableTest, StableSnapToAndSlice) {
  Unstable u(1);
  u.Restore(Snap(10, 3));
  u.TruncateAndAppend(EntryVec{MakeEntry(11, 3), MakeEntry(12, 3)});
  EntryVec out;
  u.Slice(11, 13, out);
  EXPECT_EQ(out.size(), 2u);
  u.StableSnapTo(9);
  EXPECT_TRUE(u.snapshot().has_value());
  u.StableSnapTo(10);
  EXPECT_FALSE(u.snapshot().has_value());
}

}  // namespace
}  // namespace quorum::raft
