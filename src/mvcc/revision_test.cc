#include "mvcc/revision.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace quorum::mvcc {
namespace {

TEST(RevisionTest, EncodeDecodeRoundTrip) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const struct {
    Revision rev;
    bool tombstone;
  } cases[] = {
      {{0, 0}, false},        {{1, 0}, false},       {{1, 0}, true},
      {{5, 7}, false},        {{5, 7}, true},        {{255, 256}, false},
      {{1LL << 40, 3}, true}, {{kMax, kMax}, false}, {{kMax, 0}, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.rev.main << "." << c.rev.sub << " t=" << c.tombstone);
    const std::string key = EncodeRevKey(c.rev, c.tombstone);
    EXPECT_EQ(key.size(), c.tombstone ? kTombstoneRevKeyLen : kRevKeyLen);
    auto d = DecodeRevKey(key);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->rev, c.rev);
    EXPECT_EQ(d->tombstone, c.tombstone);
  }
}

TEST(RevisionTest, LayoutIsBigEndianMainUnderscoreSub) {
  const std::string key = EncodeRevKey(Revision{0x0102030405060708, 0x0a0b}, true);
  const std::string want("\x01\x02\x03\x04\x05\x06\x07\x08_\0\0\0\0\0\0\x0a\x0bt", 18);
  EXPECT_EQ(key, want);
  EXPECT_EQ(EncodeRevKey(Revision{1, 2}), std::string("\0\0\0\0\0\0\0\x01_\0\0\0\0\0\0\0\x02", 17));
}

TEST(RevisionTest, TombstoneMarkerIsTheOnlyDifference) {
  const Revision r{42, 3};
  const std::string put = EncodeRevKey(r);
  const std::string tomb = EncodeRevKey(r, /*tombstone=*/true);
  EXPECT_EQ(tomb.substr(0, put.size()), put);
  EXPECT_EQ(tomb.back(), 't');
  EXPECT_FALSE(DecodeRevKey(put)->tombstone);
  EXPECT_TRUE(DecodeRevKey(tomb)->tombstone);
  // A tombstone sorts after the put of the same revision and before the next.
  EXPECT_LT(put, tomb);
  EXPECT_LT(tomb, EncodeRevKey(Revision{42, 4}));
  EXPECT_LT(tomb, EncodeRevKey(Revision{43, 0}));
}

TEST(RevisionTest, ByteOrderEqualsNumericOrder) {
  std::vector<Revision> revs = {{0, 0},
                                {0, 1},
                                {1, 0},
                                {1, 1},
                                {1, 255},
                                {1, 256},
                                {2, 0},
                                {255, 0},
                                {256, 0},
                                {256, 1},
                                {65535, 9},
                                {65536, 0},
                                {1LL << 32, 0},
                                {(1LL << 32) + 1, 0},
                                {std::numeric_limits<int64_t>::max(), 0}};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    revs.push_back(Revision{static_cast<int64_t>(rng() >> 1), static_cast<int64_t>(rng() % 1000)});
  }
  for (size_t i = 0; i < revs.size(); ++i) {
    const Revision& a = revs[i];
    const Revision& b = revs[(i * 7919 + 1) % revs.size()];
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const std::string ka = EncodeRevKey(a, ta);
        const std::string kb = EncodeRevKey(b, tb);
        if (a != b) {
          EXPECT_EQ(a < b, ka < kb) << a.main << "." << a.sub << " vs " << b.main << "." << b.sub;
        }
      }
    }
  }
  // Sorting by bytes and by value give the same order.
  std::vector<std::string> keys;
  for (const Revision& r : revs) keys.push_back(EncodeRevKey(r));
  std::sort(keys.begin(), keys.end());
  std::sort(revs.begin(), revs.end());
  for (size_t i = 0; i < revs.size(); ++i) EXPECT_EQ(DecodeRevKey(keys[i])->rev, revs[i]);
}

TEST(RevisionTest, RejectsMalformedKeys) {
  const std::string good = EncodeRevKey(Revision{3, 4});
  std::string bad_sep = good;
  bad_sep[8] = '-';
  std::string bad_marker = good + "x";
  const std::string cases[] = {
      "",
      "foo",
      good.substr(0, 16),     // one byte short
      good.substr(0, 8),      // main only
      good + "tt",            // 19 bytes
      bad_sep,                // wrong separator
      bad_marker,             // 18 bytes, not a tombstone marker
      std::string(17, '\0'),  // no separator
      std::string(18, 't'),   // no separator
  };
  for (const std::string& k : cases) {
    EXPECT_FALSE(DecodeRevKey(k).has_value()) << "len=" << k.size();
  }
  EXPECT_TRUE(DecodeRevKey(good).has_value());
}

TEST(RevisionTest, Ordering) {
  EXPECT_LT((Revision{1, 9}), (Revision{2, 0}));
  EXPECT_LT((Revision{2, 0}), (Revision{2, 1}));
  EXPECT_EQ((Revision{2, 1}), (Revision{2, 1}));
  EXPECT_GT((Revision{3, 0}), (Revision{2, 100}));
}

}  // namespace
}  // namespace quorum::mvcc
