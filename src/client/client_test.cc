#include "client/client.h"

#include <gtest/gtest.h>

#include "client/kv.h"

namespace quorum::client {
namespace {

TEST(ParseEndpoint, Schemes) {
  auto t = Client::ParseEndpoint("127.0.0.1:2379", false);
  EXPECT_EQ(t.address, "127.0.0.1:2379");
  EXPECT_FALSE(t.tls);
  EXPECT_TRUE(Client::ParseEndpoint("127.0.0.1:2379", true).tls);
  t = Client::ParseEndpoint("http://h:1/", true);
  EXPECT_EQ(t.address, "h:1");
  EXPECT_FALSE(t.tls);
  t = Client::ParseEndpoint("https://h:1", false);
  EXPECT_EQ(t.address, "h:1");
  EXPECT_TRUE(t.tls);
  t = Client::ParseEndpoint("unix://sock", false);
  EXPECT_EQ(t.address, "unix:sock");
}

TEST(Client, RejectsBadOptions) {
  ClientOptions o;
  o.endpoints.clear();
  EXPECT_FALSE(Client::Create(o).ok());
  o = {};
  o.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(Client::Create(o).ok());
  o = {};
  o.tls.cert_file = "/etc/hostname";
  EXPECT_FALSE(Client::Create(o).ok());  // cert without key
}

TEST(Client, UnreachableEndpointsTimeOutWithGoContextText) {
  ClientOptions o;
  o.endpoints = {"127.0.0.1:1", "127.0.0.1:2"};
  o.dial_timeout = absl::Milliseconds(100);
  o.command_timeout = absl::Milliseconds(500);
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok());
  KvClient kv(**c);
  auto r = kv.Get("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "context deadline exceeded");
}

// A caller's deadline scope ends a call before command_timeout would, and
// only while the scope lives.
TEST(Client, CallDeadlineScopeBoundsCalls) {
  ClientOptions o;
  o.endpoints = {"127.0.0.1:1", "127.0.0.1:2"};
  o.dial_timeout = absl::Milliseconds(100);
  o.command_timeout = absl::Seconds(3);
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok());
  KvClient kv(**c);
  absl::Time start = absl::Now();
  {
    CallDeadlineScope scope(absl::Now() + absl::Milliseconds(300));
    auto r = kv.Get("k");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_EQ(CallDeadlineScope::Current(), absl::InfiniteFuture());
  start = absl::Now();
  EXPECT_FALSE(kv.Get("k").ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(2500));  // command_timeout again
}

}  // namespace
}  // namespace quorum::client
