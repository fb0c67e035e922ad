// Alarms and the space quota in the Applier, on a KvStore over a temporary
// RocksDB: persistence of the alarm list, the capped / corrupt gates, etcd's
// quota costs, and the over-quota put that still applies but answers NOSPACE.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "mvcc/temp_store_for_test.h"
#include "server/apply/alarm_store.h"
#include "server/apply/applier.h"
#include "server/apply/backend_quota.h"

namespace quorum::server {
namespace {

using internalpb::InternalRequest;

class ApplierAlarmsTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::test_util::MakeTempDir("alarms-test");
    ASSERT_FALSE(dir_.empty());
    Open();
  }
  void Open() {
    const absl::Status st = mvcc::test_util::OpenStore(dir_, &backend_, &store_);
    ASSERT_TRUE(st.ok()) << st;
    alarms_ = std::make_unique<AlarmStore>(backend_.get());
    ASSERT_TRUE(alarms_->Load().ok());
    applier_ = std::make_unique<Applier>(store_.get(), [](int64_t) { return true; });
    applier_->SetAlarms(alarms_.get(), quota_.get(), [this] { ++raised_; });
  }
  void Close() {
    applier_.reset();
    alarms_.reset();
    store_.reset();
    backend_.reset();
  }
  void TearDown() override {
    Close();
    mvcc::test_util::RemoveTempDir(dir_);
  }
  absl::StatusOr<internalpb::InternalResponse> Apply(const InternalRequest& r) {
    auto out = applier_->Apply(r);
    EXPECT_TRUE(store_->Commit(++index_, 1, false).ok());
    return out;
  }
  absl::StatusOr<internalpb::InternalResponse> Alarm(etcdserverpb::AlarmRequest::AlarmAction a,
                                                     uint64_t member, etcdserverpb::AlarmType t) {
    InternalRequest r;
    r.mutable_alarm()->set_action(a);
    r.mutable_alarm()->set_memberid(member);
    r.mutable_alarm()->set_alarm(t);
    return Apply(r);
  }
  absl::Status Put(const std::string& k, const std::string& v) {
    InternalRequest r;
    r.mutable_put()->set_key(k);
    r.mutable_put()->set_value(v);
    return Apply(r).status();
  }

  std::string dir_;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<mvcc::KvStore> store_;
  std::unique_ptr<AlarmStore> alarms_;
  std::unique_ptr<BackendQuota> quota_;
  std::unique_ptr<Applier> applier_;
  uint64_t index_ = 0;
  int raised_ = 0;
};

TEST_F(ApplierAlarmsTest, ActivateIsIdempotentListedAndPersisted) {
  auto r = Alarm(etcdserverpb::AlarmRequest::ACTIVATE, 7, etcdserverpb::NOSPACE);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->alarm().alarms_size(), 1);
  EXPECT_EQ(r->alarm().alarms(0).memberid(), 7u);
  r = Alarm(etcdserverpb::AlarmRequest::ACTIVATE, 7, etcdserverpb::NOSPACE);
  ASSERT_EQ(r->alarm().alarms_size(), 1) << "the existing alarm is answered again";
  ASSERT_TRUE(Alarm(etcdserverpb::AlarmRequest::ACTIVATE, 3, etcdserverpb::CORRUPT).ok());
  r = Alarm(etcdserverpb::AlarmRequest::ACTIVATE, 3, etcdserverpb::NONE);
  EXPECT_EQ(r->alarm().alarms_size(), 0) << "activating NONE does nothing";

  Close();
  Open();
  r = Alarm(etcdserverpb::AlarmRequest::GET, 0, etcdserverpb::NONE);
  ASSERT_EQ(r->alarm().alarms_size(), 2);
  EXPECT_EQ(r->alarm().alarms(0).alarm(), etcdserverpb::NOSPACE);
  EXPECT_EQ(r->alarm().alarms(1).alarm(), etcdserverpb::CORRUPT);
  r = Alarm(etcdserverpb::AlarmRequest::GET, 0, etcdserverpb::CORRUPT);
  ASSERT_EQ(r->alarm().alarms_size(), 1);
  EXPECT_EQ(r->alarm().alarms(0).memberid(), 3u);

  r = Alarm(etcdserverpb::AlarmRequest::DEACTIVATE, 3, etcdserverpb::CORRUPT);
  EXPECT_EQ(r->alarm().alarms_size(), 1);
  r = Alarm(etcdserverpb::AlarmRequest::DEACTIVATE, 3, etcdserverpb::CORRUPT);
  EXPECT_EQ(r->alarm().alarms_size(), 0) << "nothing left to deactivate";
  Close();
  Open();
  EXPECT_TRUE(alarms_->Has(etcdserverpb::NOSPACE));
  EXPECT_FALSE(alarms_->Has(etcdserverpb::CORRUPT));
}

TEST_F(ApplierAlarmsTest, NoSpaceCapsGrowingRequestsOnly) {
  ASSERT_TRUE(Put("a", "1").ok());
  ASSERT_TRUE(Alarm(etcdserverpb::AlarmRequest::ACTIVATE, 1, etcdserverpb::NOSPACE).ok());
  absl::Status s = Put("b", "2");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "etcdserver: mvcc: database space exceeded");
  InternalRequest txn_put;
  txn_put.mutable_txn()->add_failure()->mutable_request_put()->set_key("c");
  EXPECT_EQ(Apply(txn_put).status().message(), "etcdserver: mvcc: database space exceeded")
      << "a put in either branch costs";
  InternalRequest txn_del;
  txn_del.mutable_txn()->add_success()->mutable_request_delete_range()->set_key("a");
  EXPECT_TRUE(Apply(txn_del).ok());
  InternalRequest grant;
  grant.mutable_lease_grant()->set_id(5);
  grant.mutable_lease_grant()->set_ttl(10);
  EXPECT_EQ(Apply(grant).status().code(), absl::StatusCode::kResourceExhausted);
  InternalRequest del;
  del.mutable_delete_range()->set_key("a");
  EXPECT_TRUE(Apply(del).ok());
  ASSERT_TRUE(Alarm(etcdserverpb::AlarmRequest::DEACTIVATE, 1, etcdserverpb::NOSPACE).ok());
  EXPECT_TRUE(Put("b", "2").ok());
  EXPECT_EQ(raised_, 0);
}

TEST_F(ApplierAlarmsTest, CorruptStopsEveryWrite) {
  ASSERT_TRUE(Alarm(etcdserverpb::AlarmRequest::ACTIVATE, 1, etcdserverpb::CORRUPT).ok());
  absl::Status s = Put("b", "2");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "etcdserver: corrupt cluster");
  InternalRequest del;
  del.mutable_delete_range()->set_key("a");
  EXPECT_EQ(Apply(del).status().message(), "etcdserver: corrupt cluster");
  InternalRequest compact;
  compact.mutable_compaction()->set_revision(1);
  EXPECT_EQ(Apply(compact).status().message(), "etcdserver: corrupt cluster");
}

TEST_F(ApplierAlarmsTest, OverQuotaPutAppliesButAnswersNoSpaceAndRaises) {
  quota_ = std::make_unique<BackendQuota>(backend_.get(), 64 * 1024);
  applier_->SetAlarms(alarms_.get(), quota_.get(), [this] { ++raised_; });
  const std::string big(20 * 1024, 'x');
  int ok = 0;
  absl::Status last;
  for (int i = 0; i < 20 && last.ok(); ++i) {
    last = Put("k", big + std::to_string(i));
    if (last.ok()) ++ok;
    std::this_thread::sleep_for(BackendQuota::kSizeRefresh * 2);
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GE(ok, 1);
  EXPECT_EQ(raised_, 1);
  // Applied all the same: every member stays identical whatever its size.
  auto r = store_->Range("k", "", {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value(), big + std::to_string(ok));
}

TEST(BackendQuotaTest, EtcdCosts) {
  etcdserverpb::PutRequest p;
  p.set_key("abc");
  p.set_value(std::string(100, 'v'));
  EXPECT_EQ(QuotaCost(p), 256 + 3 + 100);
  etcdserverpb::TxnRequest t;
  *t.add_success()->mutable_request_put() = p;
  t.add_success()->mutable_request_delete_range()->set_key("x");
  *t.add_failure()->mutable_request_put() = p;
  *t.add_failure()->mutable_request_put() = p;
  EXPECT_EQ(QuotaCost(t), 2 * (256 + 103)) << "the costlier branch";
  etcdserverpb::TxnRequest nested;
  *nested.add_success()->mutable_request_txn() = t;
  EXPECT_EQ(QuotaCost(nested), 0) << "etcd does not look into nested txns";
  EXPECT_EQ(QuotaCost(etcdserverpb::LeaseGrantRequest()), 64);
  BackendQuota disabled(nullptr, -1);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_TRUE(disabled.Available(1 << 30));
  EXPECT_EQ(BackendQuota(nullptr, 0).limit(), int64_t{2} << 30);
}

}  // namespace
}  // namespace quorum::server
