#include "server/auto_compaction_policy.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(CompactionRetentionTest, AsEtcdParsesIt) {
  EXPECT_EQ(ParseCompactionRetention("periodic", "0").value(), 0);
  EXPECT_EQ(ParseCompactionRetention("periodic", "1").value(), 3600'000'000'000);  // hours
  EXPECT_EQ(ParseCompactionRetention("periodic", "5m").value(), 300'000'000'000);
  EXPECT_EQ(ParseCompactionRetention("revision", "1000").value(), 1000);
  EXPECT_EQ(ParseCompactionRetention("periodic", "x").status().message(),
            "error parsing CompactionRetention: time: invalid duration \"x\"");
  EXPECT_EQ(ParseCompactionRetention("periodic", "1.5").status().message(),
            "error parsing CompactionRetention: time: missing unit in duration \"1.5\"");
  EXPECT_EQ(ParseCompactionRetention("revision", "-1").status().message(),
            "error parsing CompactionRetention: time: missing unit in duration \"-1\"");
}

// etcd's parseCompactionRetention: a number with no mode means nothing (off);
// a duration with no mode is refused by its compactor.
TEST(CompactionRetentionTest, EmptyMode) {
  EXPECT_EQ(ParseCompactionRetention("", "1").value(), 0);
  EXPECT_EQ(ParseCompactionRetention("", "1h").status().message(), "unsupported compaction mode ");
  EXPECT_EQ(ParseCompactionRetention("", "0").value(), 0);
}

// A tiny period neither divides by zero (etcd panics) nor spins.
TEST(PeriodicCompactionTest, TinyPeriodChecksEvery100ms) {
  util::ManualClock clock;
  PeriodicCompaction p(std::chrono::nanoseconds(5), clock.Now());
  EXPECT_EQ(p.RetryInterval(), std::chrono::milliseconds(100));
}

// A one-hour retention: samples every 6 minutes, the first compaction after
// an hour to the revision of an hour ago, then one every hour.
TEST(PeriodicCompactionTest, OneHour) {
  util::ManualClock clock;
  PeriodicCompaction p(hours(1), clock.Now());
  ASSERT_EQ(p.RetryInterval(), minutes(6));
  int64_t rev = 100;
  p.Record(rev);
  for (int i = 1; i < 10; ++i) {
    clock.Advance(minutes(6));
    EXPECT_FALSE(p.Due(clock.Now()).has_value()) << i;
    rev += 10;
    p.Record(rev);
  }
  clock.Advance(minutes(6));  // one hour since the start
  auto due = p.Due(clock.Now());
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(*due, 100);  // the revision recorded an hour ago
  p.Done(true, clock.Now());
  p.Record(rev += 10);
  clock.Advance(minutes(6));
  EXPECT_FALSE(p.Due(clock.Now()).has_value());
  for (int i = 0; i < 9; ++i) {
    p.Record(rev += 10);
    clock.Advance(minutes(6));
  }
  due = p.Due(clock.Now());
  ASSERT_TRUE(due.has_value());
  // The oldest of the 11 samples kept: taken at 54 min, one period before the
  // latest sample (114 min), as in etcd's window.
  EXPECT_EQ(*due, 190);
}

// Over an hour the check runs every 6 minutes and compacts hourly, always to
// the revision of `retention` ago.
TEST(PeriodicCompactionTest, LongRetentionCompactsHourly) {
  util::ManualClock clock;
  PeriodicCompaction p(hours(24), clock.Now());
  EXPECT_EQ(p.RetryInterval(), minutes(6));
  int64_t rev = 1;
  p.Record(rev);
  int compactions = 0;
  int64_t last = 0;
  for (int step = 1; step <= 10 * 26; ++step) {  // 26 hours
    clock.Advance(minutes(6));
    if (auto due = p.Due(clock.Now())) {
      ++compactions;
      last = *due;
      p.Done(true, clock.Now());
    }
    p.Record(++rev);
  }
  EXPECT_EQ(compactions, 3);       // at 24h, 25h and 26h
  EXPECT_EQ(last, rev - 1 - 240);  // 24 hours of 6-minute samples back
}

TEST(PeriodicCompactionTest, FailureRetriesAtTheNextCheck) {
  util::ManualClock clock;
  PeriodicCompaction p(seconds(10), clock.Now());
  EXPECT_EQ(p.RetryInterval(), seconds(1));
  p.Record(5);
  for (int i = 0; i < 9; ++i) {
    clock.Advance(seconds(1));
    EXPECT_FALSE(p.Due(clock.Now()));
    p.Record(6 + i);
  }
  clock.Advance(seconds(1));
  ASSERT_EQ(p.Due(clock.Now()).value_or(-1), 5);
  p.Done(false, clock.Now());
  p.Record(20);
  clock.Advance(seconds(1));
  EXPECT_TRUE(p.Due(clock.Now()).has_value());
}

TEST(RevisionCompactionTest, CompactsToCurrentMinusRetention) {
  RevisionCompaction r(100);
  EXPECT_FALSE(r.Due(50).has_value());
  EXPECT_FALSE(r.Due(100).has_value());
  ASSERT_EQ(r.Due(150).value_or(-1), 50);
  r.Done(true, 50);
  EXPECT_FALSE(r.Due(150).has_value());  // nothing new since
  ASSERT_EQ(r.Due(151).value_or(-1), 51);
  r.Done(false, 51);
  EXPECT_EQ(r.Due(151).value_or(-1), 51);  // retried
}

}  // namespace
}  // namespace quorum::server
