// RunStm against a fake KV server whose first Range fails.
#include "client/concurrency/stm.h"

#include <gtest/gtest.h>

#include <atomic>

#include "client/test_server.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client::concurrency {
namespace {

// Range: the first one is never answered (the client's deadline ends it; an
// Unavailable answer the client itself would ask again), then k=1 (mod 5);
// Txn: succeeds.
class FlakyKv final : public etcdserverpb::KV::Service {
 public:
  grpc::Status Range(grpc::ServerContext* ctx, const etcdserverpb::RangeRequest* req,
                     etcdserverpb::RangeResponse* resp) override {
    if (ranges_++ == 0) {
      while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
      return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
    }
    resp->mutable_header()->set_revision(10);
    mvccpb::KeyValue* kv = resp->add_kvs();
    kv->set_key(req->key());
    kv->set_value("1");
    kv->set_mod_revision(5);
    kv->set_create_revision(5);
    resp->set_count(1);
    return grpc::Status::OK;
  }
  grpc::Status Txn(grpc::ServerContext*, const etcdserverpb::TxnRequest*,
                   etcdserverpb::TxnResponse* resp) override {
    ++txns_;
    resp->mutable_header()->set_revision(11);
    resp->set_succeeded(true);
    return grpc::Status::OK;
  }
  std::atomic<int> ranges_{0};
  std::atomic<int> txns_{0};
};

std::unique_ptr<Client> NewClient(const TestServer& server) {
  ClientOptions o;
  o.endpoints = {server.address()};
  o.dial_timeout = absl::Seconds(2);
  o.command_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

// apply fails because its read came back empty; the read's deadline error, not
// apply's error, decides: apply runs again and the second attempt commits.
TEST(RunStm, FailedReadRerunsApplyInsteadOfReturningApplysError) {
  FlakyKv kv;
  TestServer server({&kv});
  ASSERT_TRUE(server.ok());
  std::unique_ptr<Client> c = NewClient(server);
  ASSERT_NE(c, nullptr);
  int runs = 0;
  absl::StatusOr<etcdserverpb::TxnResponse> r = RunStm(
      *c,
      [&](Stm& stm) {
        ++runs;
        const std::string v = stm.Get("k");
        if (v.empty()) return absl::InvalidArgumentError("k is missing");
        stm.Put("k", v + "1");
        return absl::OkStatus();
      },
      StmOptions{.wait = Wait::For(absl::Seconds(20))});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->succeeded());
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(kv.txns_.load(), 1);
}

// A read error that cannot pass is returned, even though apply failed too.
TEST(RunStm, FinalReadErrorIsReturnedOverApplysError) {
  class DeniedKv final : public etcdserverpb::KV::Service {
    grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest*,
                       etcdserverpb::RangeResponse*) override {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "etcdserver: permission denied");
    }
  } kv;
  TestServer server({&kv});
  ASSERT_TRUE(server.ok());
  std::unique_ptr<Client> c = NewClient(server);
  ASSERT_NE(c, nullptr);
  absl::StatusOr<etcdserverpb::TxnResponse> r = RunStm(*c, [&](Stm& stm) {
    if (stm.Get("k").empty()) return absl::InvalidArgumentError("k is missing");
    return absl::OkStatus();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
}

}  // namespace
}  // namespace quorum::client::concurrency
