#include "raft/tracker/inflights.h"

#include <gtest/gtest.h>

#include <deque>

#include "util/rng.h"

namespace quorum::raft {
namespace {

TEST(InflightsTest, AddFreeAndWrap) {
  Inflights in(4, 0);
  for (Index i = 1; i <= 4; ++i) in.Add(i, 10);
  EXPECT_TRUE(in.Full());
  in.FreeLE(2);
  EXPECT_EQ(in.Count(), 2u);
  EXPECT_FALSE(in.Full());
  in.Add(5, 10);
  in.Add(6, 10);  // wraps around the ring
  EXPECT_TRUE(in.Full());
  in.FreeLE(5);
  EXPECT_EQ(in.Count(), 1u);
  in.FreeLE(100);
  EXPECT_EQ(in.Count(), 0u);
  EXPECT_EQ(in.Bytes(), 0u);
}

TEST(InflightsTest, ByteBudget) {
  Inflights in(100, 25);
  in.Add(1, 10);
  in.Add(2, 10);
  EXPECT_FALSE(in.Full());
  in.Add(3, 10);
  EXPECT_TRUE(in.Full());
  in.FreeLE(1);
  EXPECT_FALSE(in.Full());
  EXPECT_EQ(in.Bytes(), 20u);
}

TEST(InflightsTest, MatchesNaiveDequeModel) {
  util::Rng rng(7);
  Inflights in(8, 0);
  std::deque<Index> model;
  Index next = 1;
  for (int step = 0; step < 20000; ++step) {
    if (!in.Full() && rng.Chance(0.6)) {
      in.Add(next, 1);
      model.push_back(next++);
    } else {
      const Index to = next > 1 ? rng.Range(0, next) : 0;
      in.FreeLE(to);
      while (!model.empty() && model.front() <= to) model.pop_front();
    }
    ASSERT_EQ(in.Count(), model.size());
    ASSERT_EQ(in.Full(), model.size() == 8);
  }
}

}  // namespace
}  // namespace quorum::raft
