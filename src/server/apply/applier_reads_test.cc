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
#include "server/apply/applier.h"
#include "server/apply/temp_applier_for_test.h"

namespace quorum::server {
namespace {

using internalpb::InternalRequest;

using ApplierReadsTest = test_util::TempApplierTest;

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
