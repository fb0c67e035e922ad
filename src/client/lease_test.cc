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

}  // namespace
}  // namespace quorum::client
