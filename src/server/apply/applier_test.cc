// Applier with a Lessor: the lease requests and how KV writes attach and
// detach keys (issue #5), on a KvStore over a temporary RocksDB.
#include "server/apply/applier.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mvcc/lessor.h"
#include "mvcc/temp_store_for_test.h"

namespace quorum::server {
namespace {

using internalpb::InternalRequest;
using Keys = std::vector<std::string>;

class ApplierLeaseTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::test_util::MakeTempDir("applier-test");
    ASSERT_FALSE(dir_.empty());
    const absl::Status st = mvcc::test_util::OpenStore(dir_, &backend_, &store_);
    ASSERT_TRUE(st.ok()) << st;
    mvcc::LessorOptions lo;
    lo.clock = &clock_;
    auto l = mvcc::Lessor::Open(backend_.get(), lo);
    ASSERT_TRUE(l.ok()) << l.status();
    lessor_ = std::move(*l);
    mvcc::Lessor* lp = lessor_.get();
    applier_ = std::make_unique<Applier>(
        store_.get(), [lp](int64_t id) { return lp->Lookup(id); }, lp);
  }
  void TearDown() override {
    applier_.reset();
    lessor_.reset();
    store_.reset();
    backend_.reset();
    mvcc::test_util::RemoveTempDir(dir_);
  }

  absl::StatusOr<internalpb::InternalResponse> Apply(const InternalRequest& r) {
    auto out = applier_->Apply(r);
    EXPECT_TRUE(store_->Commit(++index_, 1, false).ok());
    return out;
  }
  absl::Status Grant(int64_t id, int64_t ttl) {
    InternalRequest r;
    r.mutable_lease_grant()->set_id(id);
    r.mutable_lease_grant()->set_ttl(ttl);
    return Apply(r).status();
  }
  absl::Status Revoke(int64_t id) {
    InternalRequest r;
    r.mutable_lease_revoke()->set_id(id);
    return Apply(r).status();
  }
  absl::Status Put(const std::string& k, int64_t lease, bool ignore_lease = false) {
    InternalRequest r;
    r.mutable_put()->set_key(k);
    r.mutable_put()->set_value("v");
    r.mutable_put()->set_lease(lease);
    r.mutable_put()->set_ignore_lease(ignore_lease);
    return Apply(r).status();
  }
  Keys KeysOf(int64_t id) {
    auto k = lessor_->Keys(id);
    return k.ok() ? *k : Keys{"<none>"};
  }
  Keys Live() {
    auto r = store_->Range(std::string(1, '\0'), std::string(1, '\0'), mvcc::RangeOptions{});
    Keys out;
    for (const auto& kv : r->kvs) out.push_back(kv.key());
    return out;
  }

  std::string dir_;
  util::ManualClock clock_;
  uint64_t index_ = 0;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<mvcc::KvStore> store_;
  std::unique_ptr<mvcc::Lessor> lessor_;
  std::unique_ptr<Applier> applier_;
};

TEST_F(ApplierLeaseTest, GrantResponseAndErrors) {
  InternalRequest r;
  r.mutable_lease_grant()->set_id(7);
  r.mutable_lease_grant()->set_ttl(1);
  auto out = Apply(r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->lease_grant().id(), 7);
  EXPECT_EQ(out->lease_grant().ttl(), 2);  // the minimum
  auto dup = Grant(7, 10);
  EXPECT_EQ(dup.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dup.message(), "etcdserver: lease already exists");
  auto big = Grant(8, mvcc::kMaxLeaseTtl + 1);
  EXPECT_EQ(big.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(big.message(), "etcdserver: too large lease TTL");
}

TEST_F(ApplierLeaseTest, PutsAndTxnsAttachAndDetach) {
  ASSERT_TRUE(Grant(1, 60).ok());
  ASSERT_TRUE(Grant(2, 60).ok());
  ASSERT_TRUE(Put("a", 1).ok());
  ASSERT_TRUE(Put("b", 1).ok());
  EXPECT_EQ(KeysOf(1), (Keys{"a", "b"}));
  auto unknown = Put("c", 99);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "etcdserver: requested lease not found");
  ASSERT_TRUE(Put("a", 0, /*ignore_lease=*/true).ok());  // keeps lease 1
  EXPECT_EQ(KeysOf(1), (Keys{"a", "b"}));
  // Txn: put b under lease 2, delete a.
  InternalRequest t;
  auto* put = t.mutable_txn()->add_success()->mutable_request_put();
  put->set_key("b");
  put->set_value("v2");
  put->set_lease(2);
  t.mutable_txn()->add_success()->mutable_request_delete_range()->set_key("a");
  ASSERT_TRUE(Apply(t).ok());
  EXPECT_EQ(KeysOf(1), Keys{});
  EXPECT_EQ(KeysOf(2), Keys{"b"});
  // A txn with an unknown lease on its path fails and changes nothing.
  InternalRequest bad;
  auto* p2 = bad.mutable_txn()->add_success()->mutable_request_put();
  p2->set_key("z");
  p2->set_lease(99);
  EXPECT_EQ(Apply(bad).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Live(), Keys{"b"});
}

TEST_F(ApplierLeaseTest, RevokeDeletesAttachedKeysInOneRevision) {
  ASSERT_TRUE(Grant(1, 60).ok());
  ASSERT_TRUE(Put("x", 1).ok());
  ASSERT_TRUE(Put("y", 1).ok());
  ASSERT_TRUE(Put("z", 0).ok());
  const int64_t before = store_->Rev();
  InternalRequest r;
  r.mutable_lease_revoke()->set_id(1);
  auto out = Apply(r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(store_->Rev(), before + 1);
  EXPECT_EQ(out->lease_revoke().header().revision(), before + 1);
  EXPECT_EQ(Live(), Keys{"z"});
  EXPECT_FALSE(lessor_->Lookup(1));
  auto again = Revoke(1);
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(again.message(), "etcdserver: requested lease not found");
  // A lease without keys: revoked without a new revision.
  ASSERT_TRUE(Grant(2, 60).ok());
  ASSERT_TRUE(Revoke(2).ok());
  EXPECT_EQ(store_->Rev(), before + 1);
}

TEST_F(ApplierLeaseTest, CheckpointIsPersisted) {
  ASSERT_TRUE(Grant(1, 3600).ok());
  InternalRequest r;
  auto* cp = r.mutable_lease_checkpoint()->add_checkpoints();
  cp->set_id(1);
  cp->set_remaining_ttl(1234);
  r.mutable_lease_checkpoint()->add_checkpoints()->set_id(42);  // unknown: ignored
  ASSERT_TRUE(Apply(r).ok());
  // Reopen the lessor from the backend: a primary resumes from 1234 s.
  mvcc::LessorOptions lo;
  lo.clock = &clock_;
  auto l = mvcc::Lessor::Open(backend_.get(), lo);
  ASSERT_TRUE(l.ok());
  (*l)->Promote(std::chrono::seconds(0));
  auto info = (*l)->Get(1, false);
  ASSERT_TRUE(info && info->remaining);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(*info->remaining).count(), 1234);
}

}  // namespace
}  // namespace quorum::server
