#include "raft/tracker/progress.h"

#include <gtest/gtest.h>

namespace quorum::raft {
namespace {

TEST(ProgressTest, MaybeUpdateAndStates) {
  Progress p(5, 4, 0, false);
  EXPECT_FALSE(p.MaybeUpdate(0));
  EXPECT_TRUE(p.MaybeUpdate(6));
  EXPECT_EQ(p.match, 6u);
  EXPECT_EQ(p.next, 7u);
  p.BecomeReplicate();
  EXPECT_EQ(p.next, 7u);
  p.BecomeSnapshot(20);
  EXPECT_TRUE(p.IsPaused());
  p.BecomeProbe();
  EXPECT_EQ(p.next, 21u);  // resume after the snapshot
}

TEST(ProgressTest, MaybeDecrToReplicateAndProbe) {
  Progress p(10, 4, 0, false);
  p.match = 5;
  p.BecomeReplicate();  // next = 6
  p.OptimisticUpdate(9);
  EXPECT_FALSE(p.MaybeDecrTo(5, 5));  // stale: at or below match
  EXPECT_TRUE(p.MaybeDecrTo(8, 8));
  EXPECT_EQ(p.next, 6u);
  Progress q(10, 4, 0, false);
  EXPECT_FALSE(q.MaybeDecrTo(5, 3));  // not our last probe (next-1 = 9)
  q.msg_app_flow_paused = true;
  EXPECT_TRUE(q.MaybeDecrTo(9, 3));  // hint: follower matches at most 3
  EXPECT_EQ(q.next, 4u);
  EXPECT_FALSE(q.msg_app_flow_paused);
  EXPECT_TRUE(q.MaybeDecrTo(3, 0));
  EXPECT_EQ(q.next, 1u);
}

TEST(ProgressTest, IsPausedPerState) {
  Progress p(1, 1, 0, false);
  EXPECT_FALSE(p.IsPaused());
  p.msg_app_flow_paused = true;
  EXPECT_TRUE(p.IsPaused());
  p.BecomeReplicate();
  EXPECT_FALSE(p.IsPaused());
  p.inflights.Add(1, 1);
  EXPECT_TRUE(p.IsPaused());
}

}  // namespace
}  // namespace quorum::raft
