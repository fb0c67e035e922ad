#include "server/config_validation.h"

#include <gtest/gtest.h>

#include "server/log_level.h"

namespace quorum::server {
namespace {

std::string Check(const ServerConfig& c) {
  absl::Status st = ValidateConfig(c);
  return st.ok() ? "ok" : std::string(st.message());
}

TEST(ConfigValidationTest, EtcdTimingChecks) {
  ServerConfig c;
  EXPECT_EQ(Check(c), "ok");
  c.election_timeout_ms = 400;
  EXPECT_EQ(
      Check(c),
      "--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]");
  c.heartbeat_interval_ms = 0;
  EXPECT_EQ(Check(c), "--heartbeat-interval must be >0 (set to 0ms)");
  c.heartbeat_interval_ms = 1000;
  c.election_timeout_ms = 60000;
  EXPECT_EQ(Check(c),
            "--election-timeout[60000ms] is too long, and should be set less than 50000ms");
  c.election_timeout_ms = 0;
  EXPECT_EQ(Check(c), "--election-timeout must be >0 (set to 0ms)");
}

TEST(ConfigValidationTest, UrlsAndModes) {
  ServerConfig c;
  c.advertise_client_urls.clear();
  EXPECT_EQ(Check(c), kErrUnsetAdvertiseClientUrls);
  c = ServerConfig();
  c.listen_peer_urls = {"http://example.com:2380"};
  EXPECT_EQ(Check(c), "expected IP in URL for binding (http://example.com:2380)");
  c = ServerConfig();
  c.initial_advertise_peer_urls = {"http://:2380"};
  EXPECT_EQ(
      Check(c),
      "--initial-advertise-peer-urls \"http://:2380\" must be \"host:port\" (unexpected empty "
      "host (http://:2380))");
  c = ServerConfig();
  c.auto_compaction_mode = "foo";
  EXPECT_EQ(Check(c), "unknown auto-compaction-mode \"foo\"");
  c = ServerConfig();
  c.listen_client_urls.clear();
  EXPECT_NE(Check(c), "ok");
}

TEST(LogLevelTest, EtcdLevels) {
  EXPECT_EQ(LogLevelFromFlag("debug").value(), spdlog::level::debug);
  EXPECT_EQ(LogLevelFromFlag("warn").value(), spdlog::level::warn);
  EXPECT_EQ(LogLevelFromFlag("error").value(), spdlog::level::err);
  EXPECT_EQ(LogLevelFromFlag("fatal").value(), spdlog::level::critical);
  EXPECT_EQ(LogLevelFromFlag("panic").value(), spdlog::level::critical);
  EXPECT_EQ(LogLevelFromFlag("foo").status().message(), "unknown level \"foo\"");
  EXPECT_FALSE(LogLevelFromFlag("FATAL").ok());
}

}  // namespace
}  // namespace quorum::server
