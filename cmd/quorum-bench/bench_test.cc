// quorum-bench's own pieces: key encoding, statistics, rate limiting, and the
// closed-loop runtime against an in-process fake KV server (no etcd needed).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "cmd/quorum-bench/bench.h"
#include "cmd/quorum-bench/report.h"
#include "cmd/quorum-bench/workloads.h"

namespace qbench {
namespace {

TEST(VarintKey, MatchesGoPutVarint) {
  EXPECT_EQ(VarintKey(0, 8), std::string(8, '\0'));
  EXPECT_EQ(VarintKey(1, 3), std::string("\x02\0\0", 3));
  EXPECT_EQ(VarintKey(-1, 2), std::string("\x01\0", 2));
  EXPECT_EQ(VarintKey(64, 4), std::string("\x80\x01\0\0", 4));
  EXPECT_EQ(VarintKey(300, 2), std::string("\xd8\x04", 2));
  EXPECT_EQ(VarintKey(300, 1), std::string("\xd8", 1));  // truncated, never overflows
  std::set<std::string> keys;
  for (int i = 0; i < 100000; ++i) keys.insert(VarintKey(i, 8));
  EXPECT_EQ(keys.size(), 100000u);
}

TEST(Report, Statistics) {
  Report r("x", 2);
  auto t0 = Clock::now();
  r.SetStart(t0);
  for (int i = 1; i <= 100; ++i) r.Add(i % 2, i / 1000.0, t0 + std::chrono::seconds(2));
  r.AddError(0, "boom", t0 + std::chrono::seconds(1));
  r.AddError(1, "boom", t0 + std::chrono::seconds(1));
  r.Finalize();
  EXPECT_EQ(r.count(), 100);
  EXPECT_EQ(r.errors(), 2);
  EXPECT_NEAR(r.total_secs(), 2.0, 1e-6);
  EXPECT_NEAR(r.rps(), 50.0, 1e-6);
  EXPECT_DOUBLE_EQ(r.Percentile(10), 0.010);
  EXPECT_DOUBLE_EQ(r.Percentile(50), 0.050);
  EXPECT_DOUBLE_EQ(r.Percentile(99), 0.099);
  EXPECT_DOUBLE_EQ(r.Percentile(99.9), 0.100);
  std::string text = r.Text(false);
  EXPECT_NE(text.find("Requests/sec:\t50.0000"), std::string::npos) << text;
  EXPECT_NE(text.find("Slowest:\t0.1000 secs."), std::string::npos) << text;
  EXPECT_NE(text.find("50% in 0.0500 secs."), std::string::npos) << text;
  EXPECT_NE(text.find("[2]\tboom"), std::string::npos) << text;
  // The histogram accounts for every result.
  int64_t sum = 0;
  size_t pos = text.find("Response time histogram:");
  ASSERT_NE(pos, std::string::npos);
  for (int line = 0; line < 11; ++line) {
    size_t open = text.find('[', pos), close = text.find(']', open);
    sum += std::stoll(text.substr(open + 1, close - open - 1));
    pos = close;
  }
  EXPECT_EQ(sum, 100);
  std::string json = r.Json();
  EXPECT_NE(json.find("\"count\":100"), std::string::npos) << json;
  EXPECT_NE(json.find("\"99.9\":0.1"), std::string::npos) << json;
}

TEST(Report, EmptyIsHarmless) {
  Report r("x", 1);
  r.SetStart(Clock::now());
  r.Finalize();
  EXPECT_EQ(r.count(), 0);
  EXPECT_EQ(r.Percentile(50), 0);
  EXPECT_NE(r.Text(false).find("no results"), std::string::npos);
}

TEST(RateLimiter, SpacesTakes) {
  RateLimiter lim(1000);
  auto a = lim.Take();
  auto b = lim.Take();
  auto c = lim.Take();
  EXPECT_GE(b - a, std::chrono::microseconds(999));
  EXPECT_GE(c - b, std::chrono::microseconds(999));
  RateLimiter none(0);
  EXPECT_FALSE(none.limited());
}

// A KV server that answers Put/Range/Txn at once (and counts them).
class FakeKv final : public etcdserverpb::KV::Service {
 public:
  std::atomic<int64_t> puts{0}, ranges{0}, txns{0};
  grpc::Status Put(grpc::ServerContext*, const etcdserverpb::PutRequest* req,
                   etcdserverpb::PutResponse* resp) override {
    resp->mutable_header()->set_revision(++puts + 1);
    if (req->key().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no key");
    return grpc::Status::OK;
  }
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest*,
                     etcdserverpb::RangeResponse*) override {
    ++ranges;
    return grpc::Status::OK;
  }
  grpc::Status Txn(grpc::ServerContext*, const etcdserverpb::TxnRequest* req,
                   etcdserverpb::TxnResponse* resp) override {
    ++txns;
    resp->set_succeeded(true);
    return grpc::Status::OK;
  }
};

class FakeServer : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&kv_);
    server_ = b.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  Options Opts(int conns, int clients, int64_t total) {
    Options o;
    o.endpoints = {"http://127.0.0.1:" + std::to_string(port_)};
    o.conns = conns;
    o.clients = clients;
    o.total = total;
    o.threads = 2;
    o.max_seconds = 30;
    o.progress = false;
    return o;
  }

  FakeKv kv_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(FakeServer, PutRunsExactlyTotal) {
  Bench b(Opts(4, 50, 2000));
  std::string err;
  ASSERT_TRUE(b.Connect(&err)) << err;
  Outcome out;
  PutOptions p;
  p.key_space = 100;
  p.sequential = true;
  RunPut(b, p, &out);
  ASSERT_TRUE(b.Shutdown());
  out.reports[0]->Finalize();
  EXPECT_EQ(out.reports[0]->count(), 2000);
  EXPECT_EQ(out.reports[0]->errors(), 0);
  EXPECT_EQ(kv_.puts.load(), 2000);
  EXPECT_FALSE(b.unimplemented());
  EXPECT_FALSE(b.timed_out());
}

TEST_F(FakeServer, RateLimitedRange) {
  Options o = Opts(1, 4, 50);
  o.rate = 100;
  Bench b(o);
  std::string err;
  ASSERT_TRUE(b.Connect(&err)) << err;
  Outcome out;
  RangeOptions r;
  r.key = "k";
  auto t0 = Clock::now();
  RunRange(b, r, &out);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(b.Shutdown());
  out.reports[0]->Finalize();
  EXPECT_EQ(out.reports[0]->count(), 50);
  EXPECT_GE(secs, 0.45);  // 50 requests at 100/s
}

TEST_F(FakeServer, StmCommitsEveryTxn) {
  Bench b(Opts(2, 8, 200));
  std::string err;
  ASSERT_TRUE(b.Connect(&err)) << err;
  Outcome out;
  StmOptions s;
  s.keys = 10;
  s.keys_per_txn = 3;
  s.isolation = "s";
  RunStm(b, s, &out);
  ASSERT_TRUE(b.Shutdown());
  out.reports[0]->Finalize();
  EXPECT_EQ(out.reports[0]->count(), 200);
  EXPECT_EQ(kv_.txns.load(), 200);
  EXPECT_EQ(kv_.ranges.load(), 600);
}

TEST_F(FakeServer, MissingServiceIsUnimplemented) {
  Bench b(Opts(2, 10, 1000));
  std::string err;
  ASSERT_TRUE(b.Connect(&err)) << err;
  Outcome out;
  RunLeaseKeepAlive(b, &out);  // no Lease service registered
  ASSERT_TRUE(b.Shutdown());
  out.reports[0]->Finalize();
  EXPECT_TRUE(b.unimplemented());
  EXPECT_EQ(out.reports[0]->count(), 0);
}

TEST_F(FakeServer, MaxSecondsBoundsTheRun) {
  Options o = Opts(1, 2, 1000000000);
  o.max_seconds = 1;
  o.rate = 1000;
  Bench b(o);
  std::string err;
  ASSERT_TRUE(b.Connect(&err)) << err;
  Outcome out;
  auto t0 = Clock::now();
  RunPut(b, PutOptions{}, &out);
  ASSERT_TRUE(b.Shutdown());
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_TRUE(b.timed_out());
  EXPECT_LT(secs, 5);
  out.reports[0]->Finalize();
  EXPECT_GT(out.reports[0]->count(), 100);
}

}  // namespace
}  // namespace qbench
