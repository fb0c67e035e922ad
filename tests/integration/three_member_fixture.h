// A gtest fixture with an in-process 3-member cluster and clients of it, for
// the recipe tests.
#ifndef QUORUM_TESTS_INTEGRATION_THREE_MEMBER_FIXTURE_H_
#define QUORUM_TESTS_INTEGRATION_THREE_MEMBER_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "client/client.h"
#include "test_cluster.h"

namespace quorum::integration {

class ThreeMemberClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.size = 3;
    auto c = TestCluster::Start(o);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
  }

  // A client of `endpoints` (default: every member), short dial and
  // command timeouts; null (with a test failure) if it cannot be made.
  std::unique_ptr<client::Client> ClientOf(std::vector<std::string> endpoints = {}) {
    if (endpoints.empty()) {
      for (int i = 0; i < cluster_->size(); ++i) endpoints.push_back(cluster_->ClientAddress(i));
    }
    client::ClientOptions o;
    o.endpoints = std::move(endpoints);
    o.dial_timeout = absl::Milliseconds(500);
    o.command_timeout = absl::Seconds(3);
    auto c = client::Client::Create(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::unique_ptr<TestCluster> cluster_;
};

}  // namespace quorum::integration

#endif  // QUORUM_TESTS_INTEGRATION_THREE_MEMBER_FIXTURE_H_
