#include "server/bootstrap_checks.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

std::string Verify(const InitialCluster& c, std::vector<std::string> ap, bool joining = false) {
  absl::Status st = VerifyInitialCluster("default", c, ap, joining);
  return st.ok() ? "ok" : std::string(st.message());
}

const char kA[] = "http://127.0.0.1:47380";
const char kB[] = "http://127.0.0.1:47381";

// Texts as Debian's etcd 3.4.23 prints them.
TEST(BootstrapChecksTest, EtcdTexts) {
  EXPECT_EQ(Verify({{"default", {kA}}}, {kA}), "ok");
  EXPECT_EQ(Verify({{"default", {"http://localhost:47380"}}}, {kA}), "ok");  // resolved
  EXPECT_EQ(Verify({{"default", {kB}}}, {kA}),
            "--initial-cluster has default=http://127.0.0.1:47381 but missing from "
            "--initial-advertise-peer-urls=http://127.0.0.1:47380 (resolved urls: "
            "\"http://127.0.0.1:47380\" != \"http://127.0.0.1:47381\")");
  EXPECT_EQ(Verify({{"default", {kA, kB}}}, {kA}),
            "--initial-cluster has default=http://127.0.0.1:47381 but missing from "
            "--initial-advertise-peer-urls=http://127.0.0.1:47380 "
            "(len([\"http://127.0.0.1:47380\"]) != len([\"http://127.0.0.1:47380\" "
            "\"http://127.0.0.1:47381\"]))");
  EXPECT_EQ(Verify({{"default", {kA}}}, {kA, kB}),
            "--initial-advertise-peer-urls has http://127.0.0.1:47381 but missing from "
            "--initial-cluster=default=http://127.0.0.1:47380,default=http://127.0.0.1:47381");
  EXPECT_EQ(Verify({{"default", {kA, kA}}}, {kA}),
            "failed to resolve http://127.0.0.1:47380 to match "
            "--initial-cluster=default=http://127.0.0.1:47380 "
            "(len([\"http://127.0.0.1:47380\"]) != len([\"http://127.0.0.1:47380\" "
            "\"http://127.0.0.1:47380\"]))");
  EXPECT_EQ(Verify({{"default", {kA}}, {"other", {kA}}}, {kA}),
            "initial cluster default=http://127.0.0.1:47380,other=http://127.0.0.1:47380 has "
            "duplicate url");
  EXPECT_EQ(Verify({{"other", {kA}}}, {kA}),
            "couldn't find local name \"default\" in the initial cluster configuration");
}

TEST(BootstrapChecksTest, JoiningSkipsTheAdvertiseMatch) {
  EXPECT_EQ(Verify({{"default", {kB}}, {"other", {kA}}}, {kA}, /*joining=*/true), "ok");
}

}  // namespace
}  // namespace quorum::server
