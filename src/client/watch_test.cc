// Watcher lifecycle without a cluster.
#include "client/watch.h"

#include <gtest/gtest.h>

#include "client/test_server.h"

namespace quorum::client {
namespace {

// Close() returns at once while the reader is still looking for an
// endpoint (it used to wait out the command timeout inside Invoke).
TEST(Watcher, CloseDoesNotWaitForAConnection) {
  BlackHole hole;
  ASSERT_TRUE(hole.ok());
  ClientOptions o;
  o.endpoints = {hole.address()};
  o.dial_timeout = absl::Seconds(5);
  o.command_timeout = absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<Watcher> w = Watcher::Open(**c, "k");
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  w->Close();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  auto r = w->Next(absl::ZeroDuration());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
}

}  // namespace
}  // namespace quorum::client
