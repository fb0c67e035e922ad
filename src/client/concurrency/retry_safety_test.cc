// Which recipe writes may be re-sent after an ambiguous failure (the txn
// applied, its answer was lost): Proclaim must not be, Mutex::Unlock may be
// but must delete only its own tenure's key. Against an in-memory fake KV.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/concurrency/election.h"
#include "client/concurrency/mutex.h"
#include "client/test_server.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client::concurrency {
namespace {

// Just enough of etcd's KV for the recipes: single keys and ranges (sorted by
// create revision, limit, max_create_revision), txns with create-revision
// compares, puts and deletes. `ambiguous_writes` makes that many next write
// txns apply and then answer Unavailable, as when a member dies after the
// commit.
class FakeKv final : public etcdserverpb::KV::Service {
 public:
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest* req,
                     etcdserverpb::RangeResponse* resp) override {
    absl::MutexLock l(&mu_);
    RangeLocked(*req, resp);
    return grpc::Status::OK;
  }

  grpc::Status Txn(grpc::ServerContext*, const etcdserverpb::TxnRequest* req,
                   etcdserverpb::TxnResponse* resp) override {
    absl::MutexLock l(&mu_);
    bool ok = true;
    for (const auto& c : req->compare()) {
      auto it = kvs_.find(c.key());
      const int64_t create = it == kvs_.end() ? 0 : it->second.create_revision();
      if (c.target() != etcdserverpb::Compare::CREATE ||
          c.result() != etcdserverpb::Compare::EQUAL) {
        return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "fake: compare");
      }
      ok = ok && create == c.create_revision();
    }
    resp->set_succeeded(ok);
    bool wrote = false;
    const int64_t rev = rev_ + 1;
    for (const auto& op : ok ? req->success() : req->failure()) {
      etcdserverpb::ResponseOp* out = resp->add_responses();
      if (op.has_request_range()) {
        RangeLocked(op.request_range(), out->mutable_response_range());
      } else if (op.has_request_put()) {
        mvccpb::KeyValue& kv = kvs_[op.request_put().key()];
        if (kv.create_revision() == 0) kv.set_create_revision(rev);
        kv.set_key(op.request_put().key());
        kv.set_value(op.request_put().value());
        kv.set_mod_revision(rev);
        kv.set_version(kv.version() + 1);
        kv.set_lease(op.request_put().lease());
        out->mutable_response_put();
        ++puts_;
        wrote = true;
      } else if (op.has_request_delete_range()) {
        const bool gone = kvs_.erase(op.request_delete_range().key()) > 0;
        out->mutable_response_delete_range()->set_deleted(gone ? 1 : 0);
        wrote = wrote || gone;
      }
    }
    if (wrote) rev_ = rev;
    resp->mutable_header()->set_revision(rev_);
    if (wrote && ambiguous_writes_ > 0) {
      --ambiguous_writes_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake: applied, answer lost");
    }
    return grpc::Status::OK;
  }

  grpc::Status DeleteRange(grpc::ServerContext*, const etcdserverpb::DeleteRangeRequest* req,
                           etcdserverpb::DeleteRangeResponse* resp) override {
    absl::MutexLock l(&mu_);
    if (kvs_.erase(req->key()) > 0) ++rev_;
    resp->mutable_header()->set_revision(rev_);
    return grpc::Status::OK;
  }

  // Direct edits, as another client's writes.
  void Put(const std::string& key, const std::string& value) {
    absl::MutexLock l(&mu_);
    mvccpb::KeyValue& kv = kvs_[key];
    ++rev_;
    if (kv.create_revision() == 0) kv.set_create_revision(rev_);
    kv.set_key(key);
    kv.set_value(value);
    kv.set_mod_revision(rev_);
    kv.set_version(kv.version() + 1);
  }
  void Delete(const std::string& key) {
    absl::MutexLock l(&mu_);
    if (kvs_.erase(key) > 0) ++rev_;
  }
  std::optional<mvccpb::KeyValue> Get(const std::string& key) {
    absl::MutexLock l(&mu_);
    auto it = kvs_.find(key);
    if (it == kvs_.end()) return std::nullopt;
    return it->second;
  }
  void FailNextWritesAmbiguously(int n) {
    absl::MutexLock l(&mu_);
    ambiguous_writes_ = n;
  }
  int Puts() {
    absl::MutexLock l(&mu_);
    return puts_;
  }

 private:
  void RangeLocked(const etcdserverpb::RangeRequest& req, etcdserverpb::RangeResponse* resp)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<mvccpb::KeyValue> got;
    for (const auto& [k, kv] : kvs_) {
      const bool in = req.range_end().empty()
                          ? k == req.key()
                          : k >= req.key() && (req.range_end() == std::string(1, '\0') ||
                                               k < req.range_end());
      if (!in) continue;
      if (req.max_create_revision() > 0 && kv.create_revision() > req.max_create_revision()) {
        continue;
      }
      got.push_back(kv);
    }
    if (req.sort_target() == etcdserverpb::RangeRequest::CREATE) {
      std::sort(got.begin(), got.end(), [&](const auto& a, const auto& b) {
        return req.sort_order() == etcdserverpb::RangeRequest::DESCEND
                   ? a.create_revision() > b.create_revision()
                   : a.create_revision() < b.create_revision();
      });
    }
    resp->set_count(static_cast<int64_t>(got.size()));
    if (req.limit() > 0 && static_cast<int64_t>(got.size()) > req.limit()) got.resize(req.limit());
    for (auto& kv : got) *resp->add_kvs() = std::move(kv);
    resp->mutable_header()->set_revision(rev_);
  }

  absl::Mutex mu_;
  std::map<std::string, mvccpb::KeyValue> kvs_ ABSL_GUARDED_BY(mu_);
  int64_t rev_ ABSL_GUARDED_BY(mu_) = 1;
  int ambiguous_writes_ ABSL_GUARDED_BY(mu_) = 0;
  int puts_ ABSL_GUARDED_BY(mu_) = 0;
};

class RetrySafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(std::vector<grpc::Service*>{&kv_});
    ASSERT_TRUE(server_->ok());
    ClientOptions o;
    o.endpoints = {server_->address()};
    o.command_timeout = absl::Seconds(3);
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  FakeKv kv_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<Client> client_;
};

// The proclaim's put applied but its answer was lost: the failure is
// returned, and the value is not put a second time.
TEST_F(RetrySafetyTest, ProclaimIsNotResentAfterAnAmbiguousFailure) {
  kv_.Put("el/1", "first");
  const int64_t rev = kv_.Get("el/1")->create_revision();
  Election e = Election::Resume(*client_, 1, "el", "el/1", rev);
  kv_.FailNextWritesAmbiguously(1);
  absl::Status s = e.Proclaim("second", Wait::For(absl::Seconds(5)));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(kv_.Puts(), 1) << "proclaim re-sent its put";
  EXPECT_EQ(kv_.Get("el/1")->version(), 2);
  EXPECT_EQ(kv_.Get("el/1")->value(), "second");
}

// Unlock deletes only the key of its own tenure: a later Lock of the same
// session (a new key generation under the same name) survives it.
TEST_F(RetrySafetyTest, UnlockDoesNotDeleteALaterTenuresKey) {
  Mutex m(*client_, 1, "lk");
  ASSERT_TRUE(m.Lock(Wait::For(absl::Seconds(5))).ok());
  ASSERT_EQ(m.Key(), "lk/1");
  // Our key went (e.g. an earlier unlock attempt applied late) and the same
  // session locked again.
  kv_.Delete("lk/1");
  kv_.Put("lk/1", "");
  const int64_t later = kv_.Get("lk/1")->create_revision();
  ASSERT_NE(later, m.Revision());
  EXPECT_TRUE(m.Unlock().ok());
  ASSERT_TRUE(kv_.Get("lk/1").has_value()) << "unlock deleted a later tenure's key";
  EXPECT_EQ(kv_.Get("lk/1")->create_revision(), later);
}

// Re-sent after an ambiguous failure, Unlock still succeeds (the first
// attempt had deleted the key).
TEST_F(RetrySafetyTest, UnlockIsSafeToRetry) {
  Mutex m(*client_, 1, "lk");
  ASSERT_TRUE(m.Lock(Wait::For(absl::Seconds(5))).ok());
  kv_.FailNextWritesAmbiguously(1);
  EXPECT_TRUE(m.Unlock(Wait::For(absl::Seconds(5))).ok());
  EXPECT_FALSE(kv_.Get("lk/1").has_value());
}

}  // namespace
}  // namespace quorum::client::concurrency
