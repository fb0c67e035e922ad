#include "mvcc/tree_index.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace quorum::mvcc {
namespace {

std::string Str(Revision r) { return absl::StrCat(r.main, ".", r.sub); }

std::string Join(const std::vector<Revision>& revs) {
  std::vector<std::string> out;
  for (const Revision& r : revs) out.push_back(Str(r));
  return absl::StrJoin(out, " ");
}

// rev 1: put a      rev 2: put b      rev 3: put c, put d (3.0, 3.1)
// rev 4: put a      rev 5: del b      rev 6: put e      rev 7: put b again
class TreeIndexTest : public testing::Test {
 protected:
  void SetUp() override {
    ti_.Put("a", {1, 0});
    ti_.Put("b", {2, 0});
    ti_.Put("c", {3, 0});
    ti_.Put("d", {3, 1});
    ti_.Put("a", {4, 0});
    ASSERT_TRUE(ti_.Tombstone("b", {5, 0}).ok());
    ti_.Put("e", {6, 0});
    ti_.Put("b", {7, 0});
  }
  TreeIndex ti_;
};

TEST_F(TreeIndexTest, RangeTable) {
  const std::string kFromKey(1, '\0');
  const struct {
    std::string key, end;
    int64_t at;
    std::string want;
    int64_t total;
  } cases[] = {
      // single key
      {"a", "", 7, "4.0", 1},
      {"a", "", 3, "1.0", 1},
      {"a", "", 0, "", 0},
      {"b", "", 4, "2.0", 1},
      {"b", "", 5, "", 0},  // deleted at 5
      {"b", "", 6, "", 0},
      {"b", "", 7, "7.0", 1},
      {"zz", "", 7, "", 0},  // missing
      {"", "", 7, "", 0},
      // [key, end)
      {"a", "c", 7, "4.0 7.0", 2},
      {"a", "c", 5, "4.0", 1},
      {"a", "d", 3, "1.0 2.0 3.0", 3},
      {"b", "e", 7, "7.0 3.0 3.1", 3},
      {"b", "b", 7, "", 0},  // empty interval
      {"c", "a", 7, "", 0},  // end < key
      {"a", "a\x01", 7, "4.0", 1},
      {"", "z", 7, "4.0 7.0 3.0 3.1 6.0", 5},
      // "\0": every key >= key
      {"c", kFromKey, 7, "3.0 3.1 6.0", 3},
      {"", kFromKey, 7, "4.0 7.0 3.0 3.1 6.0", 5},
      {"", kFromKey, 5, "4.0 3.0 3.1", 3},
      {"", kFromKey, 2, "1.0 2.0", 2},
      {"f", kFromKey, 7, "", 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(
        absl::StrCat("key='", c.key, "' end='", c.end == kFromKey ? "\\0" : c.end, "' at=", c.at));
    IndexRangeResult r = ti_.Range(c.key, c.end, c.at, /*limit=*/0, /*count_only=*/false);
    EXPECT_EQ(Join(r.revs), c.want);
    EXPECT_EQ(r.total, c.total);
    IndexRangeResult n = ti_.Range(c.key, c.end, c.at, 0, /*count_only=*/true);
    EXPECT_TRUE(n.revs.empty());
    EXPECT_EQ(n.total, c.total);
  }
}

TEST_F(TreeIndexTest, LimitCapsRevsNotTotal) {
  const std::string kFromKey(1, '\0');
  const struct {
    int64_t limit;
    std::string want;
  } cases[] = {
      {0, "4.0 7.0 3.0 3.1 6.0"}, {-1, "4.0 7.0 3.0 3.1 6.0"},  {1, "4.0"}, {2, "4.0 7.0"},
      {5, "4.0 7.0 3.0 3.1 6.0"}, {100, "4.0 7.0 3.0 3.1 6.0"},
  };
  for (const auto& c : cases) {
    IndexRangeResult r = ti_.Range("", kFromKey, 7, c.limit, false);
    EXPECT_EQ(Join(r.revs), c.want) << "limit=" << c.limit;
    EXPECT_EQ(r.total, 5) << "limit=" << c.limit;
    IndexRangeResult n = ti_.Range("", kFromKey, 7, c.limit, true);
    EXPECT_TRUE(n.revs.empty());
    EXPECT_EQ(n.total, 5);
  }
}

TEST_F(TreeIndexTest, Get) {
  auto a = ti_.Get("a", 7);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->modified, (Revision{4, 0}));
  EXPECT_EQ(a->created, (Revision{1, 0}));
  EXPECT_EQ(a->version, 2);
  auto b = ti_.Get("b", 7);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->created, (Revision{7, 0}));
  EXPECT_EQ(b->version, 1);
  EXPECT_TRUE(absl::IsNotFound(ti_.Get("b", 6).status()));
  EXPECT_TRUE(absl::IsNotFound(ti_.Get("nope", 7).status()));
}

TEST_F(TreeIndexTest, TombstoneErrors) {
  EXPECT_TRUE(absl::IsNotFound(ti_.Tombstone("nope", {8, 0})));
  ASSERT_TRUE(ti_.Tombstone("c", {8, 0}).ok());
  EXPECT_TRUE(absl::IsNotFound(ti_.Tombstone("c", {9, 0})));
}

TEST_F(TreeIndexTest, LiveKeys) {
  const std::string kFromKey(1, '\0');
  auto describe = [](const std::vector<std::pair<std::string, KeyVersion>>& v) {
    std::vector<std::string> out;
    for (const auto& [k, kv] : v) {
      out.push_back(
          absl::StrCat(k, "@", Str(kv.modified), "/c", kv.created.main, "/v", kv.version));
    }
    return absl::StrJoin(out, " ");
  };
  EXPECT_EQ(describe(ti_.LiveKeys("", kFromKey, 7)),
            "a@4.0/c1/v2 b@7.0/c7/v1 c@3.0/c3/v1 d@3.1/c3/v1 e@6.0/c6/v1");
  EXPECT_EQ(describe(ti_.LiveKeys("", kFromKey, 5)), "a@4.0/c1/v2 c@3.0/c3/v1 d@3.1/c3/v1");
  EXPECT_EQ(describe(ti_.LiveKeys("b", "", 5)), "");
  EXPECT_EQ(describe(ti_.LiveKeys("b", "", 4)), "b@2.0/c2/v1");
  EXPECT_EQ(describe(ti_.LiveKeys("b", "d", 7)), "b@7.0/c7/v1 c@3.0/c3/v1");
}

TEST_F(TreeIndexTest, ForEachSince) {
  std::vector<std::string> got;
  ti_.ForEachSince("", std::string(1, '\0'), 3, [&](std::string_view k, Revision r) {
    got.push_back(absl::StrCat(std::string(k), "@", Str(r)));
  });
  EXPECT_EQ(absl::StrJoin(got, " "), "a@4.0 b@5.0 b@7.0 e@6.0");
  got.clear();
  ti_.ForEachSince("c", "e", 0, [&](std::string_view k, Revision r) {
    got.push_back(absl::StrCat(std::string(k), "@", Str(r)));
  });
  EXPECT_EQ(absl::StrJoin(got, " "), "c@3.0 d@3.1");
}

TEST_F(TreeIndexTest, CompactRemovesEmptyKeysAndReturnsKeepSet) {
  ASSERT_TRUE(ti_.Tombstone("c", {8, 0}).ok());
  ASSERT_TRUE(ti_.Tombstone("e", {9, 0}).ok());
  ti_.Put("e", {10, 0});
  EXPECT_EQ(ti_.KeyCount(), 5u);

  RevisionSet keep = ti_.Keep(9);
  RevisionSet compacted = ti_.Compact(9);
  // a@4 (live), b@7 (live), d@3.1 (live); c deleted at 8 -> nothing kept and
  // the key is gone; e deleted at exactly 9 and recreated at 10 -> stays, and
  // Compact keeps its tombstone for watches from 9 (Keep, for hashes, not).
  auto sorted = [](const RevisionSet& s) {
    std::vector<Revision> v(s.begin(), s.end());
    std::sort(v.begin(), v.end());
    return Join(v);
  };
  EXPECT_EQ(sorted(compacted), "3.1 4.0 7.0 9.0");
  EXPECT_EQ(sorted(keep), "3.1 4.0 7.0");
  EXPECT_EQ(ti_.KeyCount(), 4u);
  EXPECT_TRUE(absl::IsNotFound(ti_.Get("c", 9).status()));
  EXPECT_EQ(Join(ti_.Range("", std::string(1, '\0'), 9, 0, false).revs), "4.0 7.0 3.1");
  EXPECT_EQ(Join(ti_.Range("", std::string(1, '\0'), 10, 0, false).revs), "4.0 7.0 3.1 10.0");

  // Deleting everything and compacting past it empties the tree.
  ASSERT_TRUE(ti_.Tombstone("a", {11, 0}).ok());
  ASSERT_TRUE(ti_.Tombstone("b", {11, 1}).ok());
  ASSERT_TRUE(ti_.Tombstone("d", {11, 2}).ok());
  ASSERT_TRUE(ti_.Tombstone("e", {11, 3}).ok());
  EXPECT_EQ(sorted(ti_.Compact(11)), "11.0 11.1 11.2 11.3");  // the deletes at 11
  EXPECT_EQ(ti_.KeyCount(), 4u);
  EXPECT_TRUE(ti_.Compact(12).empty());
  EXPECT_EQ(ti_.KeyCount(), 0u);
}

// Compaction in steps (what the Compactor does, writes landing between its
// steps) gives the keep set and the index a compaction in one go gives.
TEST(TreeIndexCompactSomeTest, StepsWithWritesBetweenMatchOneGo) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    std::mt19937 rng(seed);
    TreeIndex whole, steps;
    int64_t rev = 1;
    std::vector<bool> live(12, false);
    // One random write to both: a put, or a delete of a live key.
    auto write = [&] {
      ++rev;
      const int k = static_cast<int>(rng() % live.size());
      const std::string key = absl::StrCat("k", k);
      if (live[k] && rng() % 3 == 0) {
        ASSERT_TRUE(whole.Tombstone(key, {rev, 0}).ok());
        ASSERT_TRUE(steps.Tombstone(key, {rev, 0}).ok());
        live[k] = false;
      } else {
        whole.Put(key, {rev, 0});
        steps.Put(key, {rev, 0});
        live[k] = true;
      }
    };
    for (int i = 0; i < 60; ++i) ASSERT_NO_FATAL_FAILURE(write());
    const int64_t at = rev - static_cast<int64_t>(rng() % 10);
    RevisionSet want = whole.Compact(at);
    RevisionSet got;
    std::string from;
    while (!steps.CompactSome(at, &from, 2, &got)) {
      // The same write lands in `whole` after its compaction: same order of
      // revisions, only the compaction moved.
      ASSERT_NO_FATAL_FAILURE(write());
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(steps.KeyCount(), whole.KeyCount());
    const std::string all(1, '\0');
    for (int64_t r = at; r <= rev; ++r) {
      EXPECT_EQ(Join(steps.Range("", all, r, 0, false).revs),
                Join(whole.Range("", all, r, 0, false).revs))
          << "at revision " << r;
    }
  }
}

TEST(TreeIndexRestoreTest, RebuildsGenerationsFromRecords) {
  // Records in revision order as KvStore::Restore feeds them, after a
  // compaction at 3 that left "k"@3 (created 1, version 3).
  TreeIndex ti;
  ti.Restore("k", {1, 0}, {3, 0}, 3);
  ti.Restore("k", {1, 0}, {4, 0}, 4);
  ASSERT_TRUE(ti.Tombstone("k", {5, 0}).ok());
  ti.Restore("k", {6, 0}, {6, 0}, 1);
  ti.Restore("k", {6, 0}, {7, 0}, 2);
  auto v = ti.Get("k", 4);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->version, 4);
  EXPECT_EQ(v->created.main, 1);
  EXPECT_FALSE(ti.Get("k", 5).ok());
  v = ti.Get("k", 7);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->version, 2);
  EXPECT_EQ(v->created.main, 6);
  EXPECT_EQ(v->modified, (Revision{7, 0}));
}

}  // namespace
}  // namespace quorum::mvcc
