// Session on an existing lease, against a fake Lease server.
#include "client/concurrency/session.h"

#include <gtest/gtest.h>

#include "client/fake_lease.h"
#include "client/test_server.h"

namespace quorum::client::concurrency {
namespace {

// A session on an existing 2 s lease whose renewals hang reports the loss
// when that lease runs out, not after opts.ttl_s (60 s by default).
TEST(Session, ExistingLeaseRunsOnItsOwnTtl) {
  FakeLease lease(/*ttl=*/2, /*answered=*/0);
  TestServer server({&lease});
  ASSERT_TRUE(server.ok());
  ClientOptions o;
  o.endpoints = {server.address()};
  o.command_timeout = absl::Seconds(3);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(**c, {.lease = 7});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Ttl(), 2);
  EXPECT_TRUE((*s)->WaitDone(absl::Seconds(8))) << "loss not reported";
  EXPECT_EQ((*s)->Lost().code(), absl::StatusCode::kDeadlineExceeded) << (*s)->Lost();
}

}  // namespace
}  // namespace quorum::client::concurrency
