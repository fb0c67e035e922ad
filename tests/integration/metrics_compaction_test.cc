// One in-process member with --listen-metrics-urls and revision-mode
// auto-compaction: the compactor compacts through raft to current - N, and
// the metrics listener answers /health, /metrics and unknown paths as
// etcd's does. (The same endpoints are compared with etcd's in
// tests/e2e/test_flags.py.)
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/http/metrics_server.h"
#include "server/tls.h"
#include "test_cluster.h"

namespace quorum::integration {
namespace {

class MetricsCompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            absl::StrCat("quorum-metrics-test-", getpid(), "-", PickFreePort());
    const std::string client = absl::StrCat("http://127.0.0.1:", PickFreePort());
    const std::string peer = absl::StrCat("http://127.0.0.1:", PickFreePort());
    metrics_port_ = PickFreePort();
    server::ServerConfig c;
    c.name = "m1";
    c.data_dir = (root_ / "m1").string();
    c.listen_client_urls = c.advertise_client_urls = {client};
    c.listen_peer_urls = c.initial_advertise_peer_urls = {peer};
    c.listen_metrics_urls = {absl::StrCat("http://127.0.0.1:", metrics_port_)};
    c.heartbeat_interval_ms = 30;
    c.election_timeout_ms = 300;
    c.unsafe_no_fsync = true;
    c.auto_compaction_mode = "revision";
    c.auto_compaction_retention = "5";
    c.auto_compaction_interval_for_testing = Millis(100);
    auto s = server::Server::Create(c);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->Start().ok());
    kv_ = etcdserverpb::KV::NewStub(
        grpc::CreateChannel(client.substr(7), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(root_);
  }

  httplib::Result HttpGet(const std::string& path) {
    httplib::Client cli("127.0.0.1", metrics_port_);
    cli.set_read_timeout(5, 0);
    return cli.Get(path.c_str());
  }
  // The value of one unlabelled metric, or -2 when absent.
  double Metric(const std::string& name) {
    auto r = HttpGet("/metrics");
    if (!r || r->status != 200) return -2;
    std::smatch m;
    if (!std::regex_search(r->body, m, std::regex("\n" + name + " (-?[0-9.e+]+)\n"))) return -2;
    return std::stod(m[1]);
  }
  // Polls until the metric has the value; false after `timeout`.
  bool WaitMetric(const std::string& name, double want, Millis timeout = Millis(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Metric(name) == want) return true;
      std::this_thread::sleep_for(Millis(50));
    }
    return false;
  }

  std::filesystem::path root_;
  int metrics_port_ = 0;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
};

TEST_F(MetricsCompactionTest, RevisionModeCompactsToCurrentMinusRetention) {
  ASSERT_TRUE(WaitMetric("etcd_server_is_leader", 1));
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(KvPut(kv_.get(), "k", std::to_string(i), Millis(2000)).ok());
  ASSERT_EQ(Metric("etcd_debugging_mvcc_current_revision"), 21);
  EXPECT_TRUE(WaitMetric("etcd_debugging_mvcc_compact_revision", 16));
  // Reads below the compaction get etcd's error.
  grpc::ClientContext ctx;
  etcdserverpb::RangeRequest req;
  req.set_key("k");
  req.set_revision(10);
  etcdserverpb::RangeResponse resp;
  grpc::Status st = kv_->Range(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(st.error_message(), "etcdserver: mvcc: required revision has been compacted");
}

TEST_F(MetricsCompactionTest, HealthAndUnknownPathsAsEtcd) {
  ASSERT_TRUE(WaitMetric("etcd_server_has_leader", 1));
  auto r = HttpGet("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"health":"true"})");
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  r = HttpGet("/version");  // etcd serves only /health and /metrics here
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "404 page not found\n");
  httplib::Client cli("127.0.0.1", metrics_port_);
  auto p = cli.Post("/health", "", "text/plain");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 405);
  EXPECT_EQ(p->get_header_value("Allow"), "GET");
  EXPECT_EQ(Metric("etcd_server_health_success"), 1);
  r = HttpGet("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r->body.find("# TYPE etcd_mvcc_db_total_size_in_bytes gauge\n"), std::string::npos);
}

// The metrics port is this member's alone: a second listener on it fails,
// as etcd's does, instead of sharing it through SO_REUSEPORT.
TEST_F(MetricsCompactionTest, SecondListenerOnTheMetricsPortFails) {
  auto again = server::http::MetricsServer::Start(
      {"http://127.0.0.1:" + std::to_string(metrics_port_)}, server::TlsFiles{}, nullptr);
  EXPECT_FALSE(again.ok());
}

}  // namespace
}  // namespace quorum::integration
