// Applier read path (Range, read-only Txn) racing the apply thread: a read of
// the latest revision never fails with ErrCompacted, even when a commit
// compacts past the revision the read started at; an explicit compacted
// revision still gets etcd's error.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mvcc/errors.h"
#include "mvcc/temp_store_for_test.h"
#include "server/apply/applier.h"

namespace quorum::server {
namespace {

using internalpb::InternalRequest;

class ApplierReadsTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::test_util::MakeTempDir("applier-reads-test");
    ASSERT_FALSE(dir_.empty());
    const absl::Status st = mvcc::test_util::OpenStore(dir_, &backend_, &store_);
    ASSERT_TRUE(st.ok()) << st;
    applier_ = std::make_unique<Applier>(store_.get(), nullptr, nullptr);
  }
  void TearDown() override {
    applier_.reset();
    store_.reset();
    backend_.reset();
    mvcc::test_util::RemoveTempDir(dir_);
  }
  void Put(const std::string& k, const std::string& v) {
    InternalRequest r;
    r.mutable_put()->set_key(k);
    r.mutable_put()->set_value(v);
    ASSERT_TRUE(applier_->Apply(r).ok());
  }
  void Commit() { ASSERT_TRUE(store_->Commit(++index_, 1, false).ok()); }

  std::string dir_;
  uint64_t index_ = 0;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<mvcc::KvStore> store_;
  std::unique_ptr<Applier> applier_;
};

TEST_F(ApplierReadsTest, LatestReadsNeverSeeErrCompactedWhileCompactionsCommit) {
  constexpr int kKeys = 8;
  for (int i = 0; i < kKeys; ++i) Put(absl::StrCat("k", i), "0");
  Commit();

  std::atomic<bool> stop{false};
  std::atomic<int64_t> ranges{0}, txns{0};
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex mu;
  auto fail = [&](const absl::Status& s, const char* what) {
    std::lock_guard<std::mutex> l(mu);
    if (failures++ == 0) first_failure = absl::StrCat(what, ": ", s.ToString());
  };
  auto reader = [&](bool txn) {
    etcdserverpb::RangeRequest rr;
    rr.set_key("k");
    rr.set_range_end("l");
    etcdserverpb::TxnRequest tr;
    *tr.add_success()->mutable_request_range() = rr;
    *tr.add_success()->mutable_request_range() = rr;
    while (!stop.load()) {
      if (txn) {
        auto r = applier_->ReadOnlyTxn(tr);
        if (!r.ok()) fail(r.status(), "read-only txn");
        else if (r->responses(0).response_range().count() != kKeys) fail(absl::OkStatus(), "count");
        txns++;
      } else {
        auto r = applier_->Range(rr);
        if (!r.ok()) fail(r.status(), "range");
        else if (r->count() != kKeys) fail(absl::OkStatus(), "count");
        ranges++;
      }
    }
  };
  std::thread t1(reader, false), t2(reader, true);

  // Groups of several writes, each group compacting past the revision that
  // is still published to readers until the group commits.
  std::mt19937_64 rng(7);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int step = 0; step < 4000 && std::chrono::steady_clock::now() < deadline; ++step) {
    Put(absl::StrCat("k", rng() % kKeys), absl::StrCat(step));
    if (step % 10 == 9) {
      InternalRequest c;
      c.mutable_compaction()->set_revision(store_->CurrentRevForApply() - 1);
      ASSERT_TRUE(applier_->Apply(c).ok());
    }
    if (rng() % 5 == 0) Commit();
  }
  Commit();
  stop = true;
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(ranges.load(), 0);
  EXPECT_GT(txns.load(), 0);

  // An explicit revision below the compaction is still refused as etcd does.
  etcdserverpb::RangeRequest old;
  old.set_key("k0");
  old.set_revision(2);
  auto r = applier_->Range(old);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(mvcc::IsCompacted(r.status())) << r.status();
}

}  // namespace
}  // namespace quorum::server
