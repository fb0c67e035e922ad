#include "mvcc/key_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mvcc/errors.h"

namespace quorum::mvcc {
namespace {

std::string Str(Revision r) { return absl::StrCat(r.main, ".", r.sub); }

// Deterministic text of a KeyIndex: "c<created> v<ver> {revs} | ...".
std::string Describe(const KeyIndex& ki) {
  std::vector<std::string> gens;
  for (const Generation& g : ki.Generations()) {
    std::vector<std::string> revs;
    for (const Revision& r : g.revs) revs.push_back(Str(r));
    if (g.empty()) {
      gens.push_back("{}");
    } else {
      gens.push_back(
          absl::StrCat("c", Str(g.created), " v", g.ver, " {", absl::StrJoin(revs, " "), "}"));
    }
  }
  return absl::StrJoin(gens, " | ");
}

std::string Describe(const RevisionSet& set) {
  std::vector<Revision> v(set.begin(), set.end());
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (const Revision& r : v) out.push_back(Str(r));
  return absl::StrCat("[", absl::StrJoin(out, " "), "]");
}

// Checks KeyIndex's documented invariants.
void CheckInvariants(const KeyIndex& ki) {
  const std::vector<Generation> gens = ki.Generations();
  std::optional<Revision> prev;
  for (size_t i = 0; i < gens.size(); ++i) {
    if (i + 1 != gens.size()) {
      EXPECT_FALSE(gens[i].empty()) << "non-last empty generation";
    }
    for (const Revision& r : gens[i].revs) {
      if (prev) {
        EXPECT_LT(*prev, r) << "revisions must strictly increase";
      }
      prev = r;
    }
  }
  if (prev) {
    EXPECT_EQ(ki.modified(), *prev);
  }
}

// The reference key used by most tests (same shape as etcd's newTestKeyIndex):
//   put 2, put 4, del 6, put 8, put 10, del 12, put 14.0, put 14.1, del 16
//   -> c2 {2 4 6t} | c8 {8 10 12t} | c14.0 {14.0 14.1 16t} | {}
KeyIndex MakeTestKeyIndex() {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Put({4, 0});
  EXPECT_TRUE(ki.Tombstone({6, 0}).ok());
  ki.Put({8, 0});
  ki.Put({10, 0});
  EXPECT_TRUE(ki.Tombstone({12, 0}).ok());
  ki.Put({14, 0});
  ki.Put({14, 1});
  EXPECT_TRUE(ki.Tombstone({16, 0}).ok());
  return ki;
}

TEST(KeyIndexTest, PutGetAcrossGenerationsLikeEtcd) {
  // put@1 put@2 del@3 put@4
  KeyIndex ki;
  ki.Put({1, 0});
  ki.Put({2, 0});
  ASSERT_TRUE(ki.Tombstone({3, 0}).ok());
  ki.Put({4, 0});
  EXPECT_EQ(Describe(ki), "c1.0 v3 {1.0 2.0 3.0} | c4.0 v1 {4.0}");
  CheckInvariants(ki);

  struct Want {
    int64_t at;
    bool found;
    Revision modified, created;
    int64_t version;
  };
  const Want cases[] = {
      {0, false, {}, {}, 0}, {1, true, {1, 0}, {1, 0}, 1}, {2, true, {2, 0}, {1, 0}, 2},
      {3, false, {}, {}, 0}, {4, true, {4, 0}, {4, 0}, 1}, {100, true, {4, 0}, {4, 0}, 1},
  };
  for (const Want& w : cases) {
    SCOPED_TRACE(absl::StrCat("at=", w.at));
    auto got = ki.Get(w.at);
    if (!w.found) {
      EXPECT_TRUE(absl::IsNotFound(got.status())) << got.status();
      EXPECT_EQ(got.status().message(), kRevNotFoundMsg);
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->modified, w.modified);
    EXPECT_EQ(got->created, w.created);
    EXPECT_EQ(got->version, w.version);
  }
}

TEST(KeyIndexTest, GetTable) {
  const KeyIndex ki = MakeTestKeyIndex();
  EXPECT_EQ(Describe(ki),
            "c2.0 v3 {2.0 4.0 6.0} | c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}");
  CheckInvariants(ki);
  struct Want {
    int64_t at;
    bool found;
    Revision modified, created;
    int64_t version;
  };
  const Want cases[] = {
      {0, false, {}, {}, 0},           {1, false, {}, {}, 0},
      {2, true, {2, 0}, {2, 0}, 1},    {3, true, {2, 0}, {2, 0}, 1},
      {4, true, {4, 0}, {2, 0}, 2},    {5, true, {4, 0}, {2, 0}, 2},
      {6, false, {}, {}, 0},           {7, false, {}, {}, 0},
      {8, true, {8, 0}, {8, 0}, 1},    {9, true, {8, 0}, {8, 0}, 1},
      {10, true, {10, 0}, {8, 0}, 2},  {11, true, {10, 0}, {8, 0}, 2},
      {12, false, {}, {}, 0},          {13, false, {}, {}, 0},
      {14, true, {14, 1}, {14, 0}, 2}, {15, true, {14, 1}, {14, 0}, 2},
      {16, false, {}, {}, 0},          {17, false, {}, {}, 0},
  };
  for (const Want& w : cases) {
    SCOPED_TRACE(absl::StrCat("at=", w.at));
    auto got = ki.Get(w.at);
    ASSERT_EQ(got.ok(), w.found) << got.status();
    if (!w.found) continue;
    EXPECT_EQ(got->modified, w.modified);
    EXPECT_EQ(got->created, w.created);
    EXPECT_EQ(got->version, w.version);
  }
}

TEST(KeyIndexTest, TombstoneRequiresLiveKey) {
  KeyIndex ki;
  EXPECT_FALSE(ki.IsLive());
  EXPECT_TRUE(absl::IsNotFound(ki.Tombstone({1, 0})));  // never put
  ki.Put({2, 0});
  EXPECT_TRUE(ki.IsLive());
  EXPECT_TRUE(ki.Tombstone({3, 0}).ok());
  EXPECT_FALSE(ki.IsLive());
  EXPECT_EQ(ki.modified(), (Revision{3, 0}));
  const std::string before = Describe(ki);
  EXPECT_TRUE(absl::IsNotFound(ki.Tombstone({4, 0})));  // already dead
  EXPECT_EQ(Describe(ki), before) << "a failed tombstone must not change the index";
  EXPECT_EQ(ki.modified(), (Revision{3, 0}));
  ki.Put({5, 0});
  EXPECT_TRUE(ki.Tombstone({5, 1}).ok());  // delete in the same txn as the put
  EXPECT_EQ(Describe(ki), "c2.0 v2 {2.0 3.0} | c5.0 v2 {5.0 5.1} | {}");
  EXPECT_FALSE(ki.Get(5).ok());
  CheckInvariants(ki);
}

TEST(KeyIndexTest, IsEmpty) {
  KeyIndex ki;
  EXPECT_TRUE(ki.IsEmpty());  // a new index holds one empty generation
  ki.Put({1, 0});
  EXPECT_FALSE(ki.IsEmpty());
  ASSERT_TRUE(ki.Tombstone({2, 0}).ok());
  EXPECT_FALSE(ki.IsEmpty());  // history still readable at rev 1
  RevisionSet keep;
  // Deleted at exactly the compaction revision: the tombstone stays for
  // watches from revision 2 until the next compaction.
  EXPECT_FALSE(ki.Compact(2, &keep));
  EXPECT_EQ(Describe(keep), "[2.0]");
  EXPECT_FALSE(ki.IsEmpty());
  EXPECT_FALSE(ki.Get(2).ok());
  keep.clear();
  EXPECT_TRUE(ki.Compact(3, &keep));
  EXPECT_TRUE(ki.IsEmpty());
  EXPECT_TRUE(keep.empty());
}

TEST(KeyIndexTest, Since) {
  const KeyIndex ki = MakeTestKeyIndex();
  const struct {
    int64_t after;
    std::string want;
  } cases[] = {
      {0, "2.0 4.0 6.0 8.0 10.0 12.0 14.0 14.1 16.0"},
      {1, "2.0 4.0 6.0 8.0 10.0 12.0 14.0 14.1 16.0"},
      {2, "4.0 6.0 8.0 10.0 12.0 14.0 14.1 16.0"},
      {6, "8.0 10.0 12.0 14.0 14.1 16.0"},
      {7, "8.0 10.0 12.0 14.0 14.1 16.0"},
      {13, "14.0 14.1 16.0"},
      {14, "16.0"},
      {16, ""},
      {100, ""},
  };
  for (const auto& c : cases) {
    std::vector<std::string> got;
    for (const Revision& r : ki.Since(c.after)) got.push_back(Str(r));
    EXPECT_EQ(absl::StrJoin(got, " "), c.want) << "after=" << c.after;
  }
}

TEST(KeyIndexTest, Restore) {
  KeyIndex ki;
  // First surviving record after a compaction: version 3, created at 2.
  ki.Restore({2, 0}, {7, 0}, 3);
  EXPECT_EQ(Describe(ki), "c2.0 v3 {7.0}");
  ki.Put({9, 0});
  auto got = ki.Get(9);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 4);
  EXPECT_EQ(got->created, (Revision{2, 0}));
  EXPECT_EQ(ki.Get(7)->version, 3);
  ASSERT_TRUE(ki.Tombstone({10, 0}).ok());
  // A new generation replaces the empty one opened by the tombstone.
  ki.Restore({11, 0}, {11, 0}, 1);
  EXPECT_EQ(Describe(ki), "c2.0 v5 {7.0 9.0 10.0} | c11.0 v1 {11.0}");
  CheckInvariants(ki);
}

// Compaction of the reference key at every revision, from a fresh copy each
// time. Expected results are derived from etcd's keyIndex.compact rules
// (3.4.34 / 3.5.15, after etcd #18089):
//  1. skip whole generations whose tombstone is < at (they are unreadable);
//  2. in the first remaining generation keep the newest revision <= at (the
//     one a read at `at` returns) and drop the ones before it;
//  3. a generation left holding only its tombstone (deleted at exactly `at`)
//     stays, and Compact keeps the tombstone's record for watches from `at`;
//     Keep() (what hashes count) leaves it out, as etcd's keep does.
// Keep() must not modify the index.
struct CompactCase {
  int64_t at;
  std::string keep;
  std::string after;  // Describe() of the index after Compact(at)
  bool removable;
  std::string compact_keep = "";  // Compact's keep-set when it differs from Keep's
};

const CompactCase kCompactCases[] = {
    {1, "[]", "c2.0 v3 {2.0 4.0 6.0} | c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}",
     false},
    {2, "[2.0]", "c2.0 v3 {2.0 4.0 6.0} | c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}",
     false},
    {3, "[2.0]", "c2.0 v3 {2.0 4.0 6.0} | c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}",
     false},
    {4, "[4.0]", "c2.0 v3 {4.0 6.0} | c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}",
     false},
    {5, "[4.0]", "c2.0 v3 {4.0 6.0} | c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}",
     false},
    {6, "[]", "c2.0 v3 {6.0} | c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}", false,
     "[6.0]"},
    {7, "[]", "c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}", false},
    {8, "[8.0]", "c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}", false},
    {9, "[8.0]", "c8.0 v3 {8.0 10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}", false},
    {10, "[10.0]", "c8.0 v3 {10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}", false},
    {11, "[10.0]", "c8.0 v3 {10.0 12.0} | c14.0 v3 {14.0 14.1 16.0} | {}", false},
    {12, "[]", "c8.0 v3 {12.0} | c14.0 v3 {14.0 14.1 16.0} | {}", false, "[12.0]"},
    {13, "[]", "c14.0 v3 {14.0 14.1 16.0} | {}", false},
    {14, "[14.1]", "c14.0 v3 {14.1 16.0} | {}", false},
    {15, "[14.1]", "c14.0 v3 {14.1 16.0} | {}", false},
    {16, "[]", "c14.0 v3 {16.0} | {}", false, "[16.0]"},
    {17, "[]", "{}", true},
};

TEST(KeyIndexTest, CompactAndKeepFreshEachTime) {
  for (const CompactCase& c : kCompactCases) {
    SCOPED_TRACE(absl::StrCat("at=", c.at));
    KeyIndex ki = MakeTestKeyIndex();
    const std::string before = Describe(ki);
    RevisionSet kept;
    ki.Keep(c.at, &kept);
    EXPECT_EQ(Describe(kept), c.keep) << "Keep";
    EXPECT_EQ(Describe(ki), before) << "Keep must not modify the index";
    RevisionSet compacted;
    EXPECT_EQ(ki.Compact(c.at, &compacted), c.removable);
    EXPECT_EQ(Describe(compacted), c.compact_keep.empty() ? c.keep : c.compact_keep) << "Compact";
    EXPECT_EQ(Describe(ki), c.after);
    CheckInvariants(ki);
  }
}

TEST(KeyIndexTest, CompactContinuouslyMatchesFresh) {
  KeyIndex ki = MakeTestKeyIndex();
  for (const CompactCase& c : kCompactCases) {
    SCOPED_TRACE(absl::StrCat("at=", c.at));
    RevisionSet kept;
    ki.Keep(c.at, &kept);
    EXPECT_EQ(Describe(kept), c.keep);
    RevisionSet compacted;
    EXPECT_EQ(ki.Compact(c.at, &compacted), c.removable);
    EXPECT_EQ(Describe(compacted), c.compact_keep.empty() ? c.keep : c.compact_keep);
    EXPECT_EQ(Describe(ki), c.after);
  }
}

TEST(KeyIndexTest, CompactJumpsMatchFresh) {
  for (int64_t step : {2, 3, 5}) {
    KeyIndex ki = MakeTestKeyIndex();
    for (size_t i = 0; i < std::size(kCompactCases); i += step) {
      const CompactCase& c = kCompactCases[i];
      SCOPED_TRACE(absl::StrCat("step=", step, " at=", c.at));
      RevisionSet compacted;
      EXPECT_EQ(ki.Compact(c.at, &compacted), c.removable);
      EXPECT_EQ(Describe(compacted), c.compact_keep.empty() ? c.keep : c.compact_keep);
      EXPECT_EQ(Describe(ki), c.after);
    }
  }
}

// ---------------------------------------------------------------------------
// Property test: KeyIndex against a naive list of (revision, deleted) events.

struct Event {
  Revision rev;
  bool deleted;
};

struct Model {
  std::vector<Event> events;  // increasing revisions

  bool Live() const { return !events.empty() && !events.back().deleted; }

  // The state visible at main revision `at`, like KeyIndex::Get.
  std::optional<KeyVersion> Get(int64_t at) const {
    int last = -1;
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].rev.main <= at) last = static_cast<int>(i);
    }
    if (last < 0 || events[last].deleted) return std::nullopt;
    int first = last;
    while (first > 0 && !events[first - 1].deleted) --first;
    KeyVersion kv;
    kv.modified = events[last].rev;
    kv.created = events[first].rev;
    kv.version = last - first + 1;
    return kv;
  }

  std::vector<Revision> Since(int64_t after) const {
    std::vector<Revision> out;
    for (const Event& e : events) {
      if (e.rev.main > after) out.push_back(e.rev);
    }
    return out;
  }
};

TEST(KeyIndexTest, PropertyMatchesNaiveModel) {
  const uint64_t base_seed = std::random_device{}();
  constexpr int kHistories = 3000;
  for (int h = 0; h < kHistories; ++h) {
    const uint64_t seed = base_seed + h;
    SCOPED_TRACE(absl::StrCat("seed=", seed, " (rerun with this seed to reproduce)"));
    std::mt19937_64 rng(seed);
    auto chance = [&](int pct) { return static_cast<int>(rng() % 100) < pct; };

    KeyIndex ki;
    Model model;
    int64_t main = 0;
    int64_t compact_rev = 0;
    const int steps = 1 + static_cast<int>(rng() % 40);
    for (int step = 0; step < steps; ++step) {
      // Unrelated txns move the store revision without touching this key.
      main += 1 + static_cast<int64_t>(rng() % 3);
      // Sometimes several changes of the key share one txn (sub ordinals).
      const int changes = chance(15) ? 2 : 1;
      for (int sub = 0; sub < changes; ++sub) {
        const Revision rev{main, static_cast<int64_t>(sub + (chance(20) ? 1 : 0))};
        if (!model.events.empty() && rev <= model.events.back().rev) continue;
        if (chance(30)) {
          const bool was_live = model.Live();
          absl::Status s = ki.Tombstone(rev);
          ASSERT_EQ(s.ok(), was_live) << s;
          if (was_live) model.events.push_back({rev, true});
        } else {
          ki.Put(rev);
          model.events.push_back({rev, false});
        }
      }
      ASSERT_NO_FATAL_FAILURE(CheckInvariants(ki));
      ASSERT_EQ(ki.IsLive(), model.Live());

      if (chance(20) && main > compact_rev) {
        const int64_t at = compact_rev + 1 + static_cast<int64_t>(rng() % (main - compact_rev));
        RevisionSet keep_before, compacted;
        ki.Keep(at, &keep_before);
        const bool removable = ki.Compact(at, &compacted);
        // Keep's set is exactly the revision a read at `at` shows; Compact's
        // adds a tombstone at exactly `at` (the delete a watch from `at` sees).
        RevisionSet want;
        if (auto v = model.Get(at)) want.insert(v->modified);
        ASSERT_EQ(Describe(keep_before), Describe(want)) << "Keep's set at " << at;
        std::optional<Revision> tomb_at;
        for (const Event& e : model.events) {
          if (e.rev.main > at) break;
          tomb_at = e.deleted && e.rev.main == at ? std::optional<Revision>(e.rev) : std::nullopt;
        }
        if (tomb_at) want.insert(*tomb_at);
        ASSERT_EQ(Describe(compacted), Describe(want)) << "Compact's set at " << at;
        // Removable iff nothing is readable at or after `at`, nor deleted at it.
        ASSERT_EQ(removable, !model.Get(at) && model.Since(at).empty() && !tomb_at) << "at " << at;
        compact_rev = at;
        if (removable) {
          // TreeIndex drops the entry; the key starts over.
          ki = KeyIndex();
          model.events.clear();
        }
        ASSERT_NO_FATAL_FAILURE(CheckInvariants(ki));
      }

      for (int64_t at = compact_rev; at <= main + 1; ++at) {
        auto got = ki.Get(at);
        auto want = model.Get(at);
        ASSERT_EQ(got.ok(), want.has_value())
            << "at=" << at << " index: " << Describe(ki) << " status: " << got.status();
        if (!want) continue;
        ASSERT_EQ(got->modified, want->modified) << "at=" << at << " " << Describe(ki);
        ASSERT_EQ(got->created.main, want->created.main) << "at=" << at << " " << Describe(ki);
        ASSERT_EQ(got->created, want->created) << "at=" << at << " " << Describe(ki);
        ASSERT_EQ(got->version, want->version) << "at=" << at << " " << Describe(ki);
      }
      for (int64_t after = compact_rev; after <= main; ++after) {
        std::vector<std::string> got, want;
        for (const Revision& r : ki.Since(after)) got.push_back(Str(r));
        for (const Revision& r : model.Since(after)) want.push_back(Str(r));
        ASSERT_EQ(absl::StrJoin(got, " "), absl::StrJoin(want, " ")) << "since " << after;
      }
    }
  }
}

}  // namespace
}  // namespace quorum::mvcc
