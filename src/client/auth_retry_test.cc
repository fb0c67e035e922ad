// What Invoke sends again on its own: a call refused for a stale auth token
// (after one re-authentication), and an idempotent call answered Unavailable
// by the only endpoint (as clientv3 retries repeatable calls). Against fake
// Auth/KV services.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/kv.h"
#include "client/test_server.h"
#include "client/watch.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {
namespace {

std::string TokenOf(const grpc::ServerContext* ctx) {
  auto it = ctx->client_metadata().find("token");
  if (it == ctx->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Hands out tokens t1, t2, ...; remembers whether an Authenticate carried one.
class FakeAuth final : public etcdserverpb::Auth::Service {
 public:
  grpc::Status Authenticate(grpc::ServerContext* ctx, const etcdserverpb::AuthenticateRequest* req,
                            etcdserverpb::AuthenticateResponse* resp) override {
    absl::MutexLock l(&mu_);
    if (req->name() != "root" || req->password() != "pw") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "etcdserver: authentication failed, invalid user ID or password");
    }
    if (!TokenOf(ctx).empty()) token_sent_ = true;
    resp->set_token(absl::StrCat("t", ++issued_));
    return grpc::Status::OK;
  }
  int issued() { absl::MutexLock l(&mu_); return issued_; }
  bool token_sent() { absl::MutexLock l(&mu_); return token_sent_; }

 private:
  absl::Mutex mu_;
  int issued_ = 0;
  bool token_sent_ = false;
};

// Accepts only `valid_token` (when set); the first `unavailable` calls of
// each method answer Unavailable. Records the token of every call.
class FakeKv final : public etcdserverpb::KV::Service {
 public:
  FakeKv(std::string valid_token, int unavailable)
      : valid_(std::move(valid_token)), unavailable_(unavailable) {}

  grpc::Status Range(grpc::ServerContext* ctx, const etcdserverpb::RangeRequest* req,
                     etcdserverpb::RangeResponse* resp) override {
    if (grpc::Status s = Admit(ctx, &range_calls_); !s.ok()) return s;
    resp->add_kvs()->set_key(req->key());
    return grpc::Status::OK;
  }
  grpc::Status Put(grpc::ServerContext* ctx, const etcdserverpb::PutRequest*,
                   etcdserverpb::PutResponse*) override {
    return Admit(ctx, &put_calls_);
  }
  std::vector<std::string> tokens() { absl::MutexLock l(&mu_); return tokens_; }
  int range_calls() { absl::MutexLock l(&mu_); return range_calls_; }
  int put_calls() { absl::MutexLock l(&mu_); return put_calls_; }

 private:
  grpc::Status Admit(grpc::ServerContext* ctx, int* calls) {
    absl::MutexLock l(&mu_);
    tokens_.push_back(TokenOf(ctx));
    if (++*calls <= unavailable_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: leader changed");
    }
    if (!valid_.empty() && tokens_.back() != valid_) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "etcdserver: invalid auth token");
    }
    return grpc::Status::OK;
  }

  const std::string valid_;
  const int unavailable_;
  absl::Mutex mu_;
  std::vector<std::string> tokens_;
  int range_calls_ = 0;
  int put_calls_ = 0;
};

ClientOptions OptionsFor(const TestServer& server) {
  ClientOptions o;
  o.endpoints = {server.address()};
  o.dial_timeout = absl::Seconds(2);
  o.command_timeout = absl::Seconds(5);
  return o;
}

// The token the client got at start (t1) has expired on the server, which
// now accepts only t2: the call re-authenticates once and goes through.
TEST(AuthToken, StaleTokenIsRefreshedOnceAndTheCallSentAgain) {
  FakeAuth auth;
  FakeKv kv("t2", /*unavailable=*/0);
  TestServer server({&auth, &kv});
  ASSERT_TRUE(server.ok());
  ClientOptions o = OptionsFor(server);
  o.username = "root";
  o.password = "pw";
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  auto r = KvClient(**c).Get("k");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(kv.tokens(), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(auth.issued(), 2);
  EXPECT_FALSE(auth.token_sent()) << "Authenticate must not carry the old token";
}

// A token the server keeps refusing is reported after one refresh, not
// retried until the deadline.
TEST(AuthToken, RefusedAfterARefreshTheErrorIsReturned) {
  FakeAuth auth;
  FakeKv kv("never", /*unavailable=*/0);
  TestServer server({&auth, &kv});
  ASSERT_TRUE(server.ok());
  ClientOptions o = OptionsFor(server);
  o.username = "root";
  o.password = "pw";
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  auto r = KvClient(**c).Get("k");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  EXPECT_EQ(r.status().message(), "etcdserver: invalid auth token");
  EXPECT_EQ(kv.range_calls(), 2);
}

// Without a user nothing is refreshed (and no token is sent).
TEST(AuthToken, NoUserNoToken) {
  FakeAuth auth;
  FakeKv kv("", /*unavailable=*/0);
  TestServer server({&auth, &kv});
  ASSERT_TRUE(server.ok());
  auto c = Client::Create(OptionsFor(server));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(KvClient(**c).Get("k").ok());
  EXPECT_EQ(kv.tokens(), (std::vector<std::string>{""}));
  EXPECT_EQ(auth.issued(), 0);
}

// A wrong password fails Create with the server's error.
TEST(AuthToken, WrongPasswordFailsCreate) {
  FakeAuth auth;
  FakeKv kv("", 0);
  TestServer server({&auth, &kv});
  ASSERT_TRUE(server.ok());
  ClientOptions o = OptionsFor(server);
  o.username = "root";
  o.password = "nope";
  auto c = Client::Create(o);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_EQ(c.status().message(), "etcdserver: authentication failed, invalid user ID or password");
}

// One endpoint answering Unavailable (a leader change): a Range is asked
// again until it succeeds; a Put (not idempotent) is not.
TEST(SingleEndpoint, IdempotentCallIsRetriedOnTheSameEndpoint) {
  FakeKv kv("", /*unavailable=*/3);
  TestServer server({&kv});
  ASSERT_TRUE(server.ok());
  auto c = Client::Create(OptionsFor(server));
  ASSERT_TRUE(c.ok()) << c.status();
  KvClient client(**c);
  auto r = client.Get("k");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(kv.range_calls(), 4);
  auto p = client.Put("k", "v");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnavailable) << p.status();
  EXPECT_EQ(kv.put_calls(), 1);
}

// A watch stream carries the token too.
class TokenRecordingWatch final : public etcdserverpb::Watch::Service {
 public:
  grpc::Status Watch(grpc::ServerContext* ctx,
                     grpc::ServerReaderWriter<etcdserverpb::WatchResponse,
                                              etcdserverpb::WatchRequest>* stream) override {
    {
      absl::MutexLock l(&mu_);
      token_ = TokenOf(ctx);
    }
    etcdserverpb::WatchRequest req;
    if (!stream->Read(&req)) return grpc::Status::OK;
    etcdserverpb::WatchResponse resp;
    resp.set_created(true);
    stream->Write(resp);
    while (!ctx->IsCancelled() && stream->Read(&req)) {
    }
    return grpc::Status::OK;
  }
  std::string token() { absl::MutexLock l(&mu_); return token_; }

 private:
  absl::Mutex mu_;
  std::string token_ = "<none>";
};

TEST(AuthToken, WatchStreamCarriesTheToken) {
  FakeAuth auth;
  TokenRecordingWatch watch;
  TestServer server({&auth, &watch});
  ASSERT_TRUE(server.ok());
  ClientOptions o = OptionsFor(server);
  o.username = "root";
  o.password = "pw";
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  auto w = Watcher::Open(**c, "k");
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (watch.token() == "<none>" && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(watch.token(), "t1");
  w->Close();
}

}  // namespace
}  // namespace quorum::client
