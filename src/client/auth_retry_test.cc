// What the client sends again on its own: a call or watch refused for a
// stale auth token (after one re-authentication), and an idempotent call
// answered Unavailable by the only endpoint (as clientv3 retries repeatable
// calls, within its budget). Against fake Auth/KV/Watch services.
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
  // `refusal_code`: how a wrong token is refused (etcd's KV: Unauthenticated;
  // its Lock/Election services pass it on as Unknown).
  FakeKv(std::string valid_token, int unavailable,
         grpc::StatusCode refusal_code = grpc::StatusCode::UNAUTHENTICATED)
      : valid_(std::move(valid_token)), unavailable_(unavailable), refusal_code_(refusal_code) {}

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
      return grpc::Status(refusal_code_, "etcdserver: invalid auth token");
    }
    return grpc::Status::OK;
  }

  const std::string valid_;
  const int unavailable_;
  const grpc::StatusCode refusal_code_;
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

// Logged in as the user FakeAuth knows.
ClientOptions AsRoot(const TestServer& server) {
  ClientOptions o = OptionsFor(server);
  o.username = "root";
  o.password = "pw";
  return o;
}

// The token the client got at start (t1) has expired on the server, which
// now accepts only t2: the call re-authenticates once and goes through --
// also when the refusal comes as Unknown (etcd 3.4's Lock and Election
// services pass it on so): it is recognised by its text.
TEST(AuthToken, StaleTokenIsRefreshedOnceAndTheCallSentAgain) {
  for (grpc::StatusCode code : {grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::UNKNOWN}) {
    SCOPED_TRACE(code);
    FakeAuth auth;
    FakeKv kv("t2", /*unavailable=*/0, code);
    TestServer server({&auth, &kv});
    ASSERT_TRUE(server.ok());
    auto c = Client::Create(AsRoot(server));
    ASSERT_TRUE(c.ok()) << c.status();
    auto r = KvClient(**c).Get("k");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(kv.tokens(), (std::vector<std::string>{"t1", "t2"}));
    EXPECT_EQ(auth.issued(), 2);
    EXPECT_FALSE(auth.token_sent()) << "Authenticate must not carry the old token";
  }
}

// A token the server keeps refusing is reported after one refresh, not
// retried until the deadline.
TEST(AuthToken, RefusedAfterARefreshTheErrorIsReturned) {
  FakeAuth auth;
  FakeKv kv("never", /*unavailable=*/0);
  TestServer server({&auth, &kv});
  ASSERT_TRUE(server.ok());
  auto c = Client::Create(AsRoot(server));
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
  ClientOptions o = AsRoot(server);
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

// A member that keeps answering Unavailable (a learner: "rpc not supported
// for learner"): clientv3's budget of 100 retries 25 ms apart, then the
// server's own error -- not a wait for the deadline.
TEST(SingleEndpoint, UnavailableRetriesAreBoundedAndEndWithTheServersError) {
  FakeKv kv("", /*unavailable=*/1000);
  TestServer server({&kv});
  ASSERT_TRUE(server.ok());
  ClientOptions o = OptionsFor(server);
  o.command_timeout = absl::Seconds(30);
  auto c = Client::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  const absl::Time start = absl::Now();
  auto r = KvClient(**c).Get("k");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(r.status().message(), "etcdserver: leader changed");
  EXPECT_EQ(kv.range_calls(), 101);
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

// A server that forgot the watcher's token (a restart; simple tokens live in
// memory) cancels the watch with the refusal in its reason: the watcher logs
// in again and resumes from where it was, as etcdctl does.
class ForgetfulWatch final : public etcdserverpb::Watch::Service {
 public:
  grpc::Status Watch(grpc::ServerContext* ctx,
                     grpc::ServerReaderWriter<etcdserverpb::WatchResponse,
                                              etcdserverpb::WatchRequest>* stream) override {
    etcdserverpb::WatchRequest req;
    if (!stream->Read(&req)) return grpc::Status::OK;
    {
      absl::MutexLock l(&mu_);
      tokens_.push_back(TokenOf(ctx));
      start_revisions_.push_back(req.create_request().start_revision());
    }
    etcdserverpb::WatchResponse resp;
    resp.set_created(true);
    if (TokenOf(ctx) != "t2") {
      resp.set_canceled(true);
      resp.set_cancel_reason(
          "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token");
      stream->Write(resp);
      return grpc::Status::OK;
    }
    resp.mutable_header()->set_revision(7);
    stream->Write(resp);
    etcdserverpb::WatchResponse ev;
    ev.mutable_header()->set_revision(8);
    mvccpb::Event* e = ev.add_events();
    e->mutable_kv()->set_key("k");
    e->mutable_kv()->set_mod_revision(8);
    stream->Write(ev);
    while (!ctx->IsCancelled() && stream->Read(&req)) {
    }
    return grpc::Status::OK;
  }
  std::vector<std::string> tokens() { absl::MutexLock l(&mu_); return tokens_; }
  std::vector<int64_t> start_revisions() { absl::MutexLock l(&mu_); return start_revisions_; }

 private:
  absl::Mutex mu_;
  std::vector<std::string> tokens_;
  std::vector<int64_t> start_revisions_;
};

TEST(AuthToken, WatchCancelledForAStaleTokenLogsInAgainAndResumes) {
  FakeAuth auth;
  ForgetfulWatch watch;
  TestServer server({&auth, &watch});
  ASSERT_TRUE(server.ok());
  auto c = Client::Create(AsRoot(server));
  ASSERT_TRUE(c.ok()) << c.status();
  WatchOptions wo;
  wo.start_revision = 5;
  auto w = Watcher::Open(**c, "k", wo);
  auto r = w->Next(absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  ASSERT_EQ((*r)->events_size(), 1);
  EXPECT_EQ((*r)->events(0).kv().mod_revision(), 8);
  EXPECT_EQ(watch.tokens(), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(watch.start_revisions(), (std::vector<int64_t>{5, 5}));
  w->Close();
}

// A token refused again right after a fresh login ends the watch with the
// server's reason instead of logging in forever.
TEST(AuthToken, WatchRefusedAfterAFreshLoginEnds) {
  FakeAuth auth;
  class AlwaysRefused final : public etcdserverpb::Watch::Service {
    grpc::Status Watch(grpc::ServerContext*,
                       grpc::ServerReaderWriter<etcdserverpb::WatchResponse,
                                                etcdserverpb::WatchRequest>* stream) override {
      etcdserverpb::WatchRequest req;
      if (!stream->Read(&req)) return grpc::Status::OK;
      etcdserverpb::WatchResponse resp;
      resp.set_created(true);
      resp.set_canceled(true);
      resp.set_cancel_reason("etcdserver: invalid auth token");
      stream->Write(resp);
      return grpc::Status::OK;
    }
  } watch;
  TestServer server({&auth, &watch});
  ASSERT_TRUE(server.ok());
  auto c = Client::Create(AsRoot(server));
  ASSERT_TRUE(c.ok()) << c.status();
  auto w = Watcher::Open(**c, "k");
  absl::StatusOr<std::optional<etcdserverpb::WatchResponse>> r;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    r = w->Next(absl::Milliseconds(200));
  } while (r.ok() && absl::Now() < deadline);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  EXPECT_EQ(r.status().message(), "etcdserver: invalid auth token");
  EXPECT_EQ(auth.issued(), 2);
}

}  // namespace
}  // namespace quorum::client
