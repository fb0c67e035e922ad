// LeaseKeepAlive against a fake Lease server that stops answering.
#include "client/lease.h"

#include <gtest/gtest.h>

#include "client/fake_lease.h"
#include "client/test_server.h"

namespace quorum::client {
namespace {

std::unique_ptr<Client> NewClient(const std::string& endpoint, absl::Duration command_timeout) {
  ClientOptions o;
  o.endpoints = {endpoint};
  o.dial_timeout = absl::Seconds(5);
  o.command_timeout = command_timeout;
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// Stop() cancels the renewal in flight instead of waiting for its deadline
// (the command timeout, 10 s here).
TEST(LeaseKeepAlive, StopCancelsARenewalInFlight) {
  FakeLease lease(/*ttl=*/60, /*answered=*/0);
  TestServer server({&lease});
  ASSERT_TRUE(server.ok());
  std::unique_ptr<Client> c = NewClient(server.address(), absl::Seconds(10));
  ASSERT_NE(c, nullptr);
  std::unique_ptr<LeaseKeepAlive> k = LeaseKeepAlive::Start(*c, 1, 60);
  ASSERT_TRUE(WaitFor([&] { return lease.Hung() >= 1; }, absl::Seconds(5)));
  const absl::Time start = absl::Now();
  k->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(k->Lost().code(), absl::StatusCode::kCancelled);
}

// The same while the renewal still waits for a connection (an endpoint
// that accepts TCP and never speaks).
TEST(LeaseKeepAlive, StopCancelsAWaitForAConnection) {
  BlackHole hole;
  ASSERT_TRUE(hole.ok());
  std::unique_ptr<Client> c = NewClient(hole.address(), absl::Seconds(10));
  ASSERT_NE(c, nullptr);
  std::unique_ptr<LeaseKeepAlive> k = LeaseKeepAlive::Start(*c, 1, 60);
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  k->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

// The first renewal grants 2 s, every later one hangs: the loss is
// reported when those 2 s run out, not when the hung call gives up at the
// command timeout (10 s here) -- by then another session could have taken a
// lock this lease held.
TEST(LeaseKeepAlive, LossIsReportedAtTheExpiryWhileARenewalHangs) {
  FakeLease lease(/*ttl=*/2, /*answered=*/1);
  TestServer server({&lease});
  ASSERT_TRUE(server.ok());
  std::unique_ptr<Client> c = NewClient(server.address(), absl::Seconds(10));
  ASSERT_NE(c, nullptr);
  const absl::Time start = absl::Now();
  std::unique_ptr<LeaseKeepAlive> k = LeaseKeepAlive::Start(*c, 1, 2);
  ASSERT_TRUE(k->WaitLost(absl::Seconds(8))) << "loss not reported";
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Milliseconds(2600));
  EXPECT_GE(took, absl::Milliseconds(1900)) << "reported before the lease could expire";
  EXPECT_EQ(k->Lost().code(), absl::StatusCode::kDeadlineExceeded) << k->Lost();
}

// A member that stops answering (its connection still up) is abandoned
// while the lease lives: the next renewal goes to another endpoint, and the
// lease is not lost.
TEST(LeaseKeepAlive, HungMemberIsLeftForAnotherEndpoint) {
  FakeLease hangs(/*ttl=*/2, /*answered=*/1), answers(/*ttl=*/2, /*answered=*/1000);
  TestServer s0({&hangs}), s1({&answers});
  ASSERT_TRUE(s0.ok() && s1.ok());
  ClientOptions o;
  o.endpoints = {s0.address(), s1.address()};
  o.command_timeout = absl::Seconds(4);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<LeaseKeepAlive> k = LeaseKeepAlive::Start(**c, 1, 2);
  // Past the command timeout: a renewal left hanging on the first member
  // would have lost the lease by then.
  EXPECT_FALSE(k->WaitLost(absl::Seconds(6))) << k->Lost();
  EXPECT_GE(hangs.Hung(), 1);
  EXPECT_EQ(k->LastTtl(), 2);
}

}  // namespace
}  // namespace quorum::client
