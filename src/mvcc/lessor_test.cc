#include "mvcc/lessor.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace quorum::mvcc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Keys = std::vector<std::string>;

// A lessor over a KvStore on a fresh RocksDB directory; writes go through the
// same path the applier uses (one WriteTxn, then ApplyChanges, then Commit).
class LessorTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/quorum-lessor-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_NO_FATAL_FAILURE(Open());
  }
  void TearDown() override {
    lessor_.reset();
    store_.reset();
    backend_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Open() {
    BackendOptions opts;
    opts.unsafe_no_fsync = true;
    opts.block_cache_bytes = 1 << 20;
    opts.write_buffer_bytes = 1 << 20;
    auto b = Backend::Open(dir_, opts);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
    auto s = KvStore::Open(backend_.get());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    LessorOptions lo;
    lo.min_ttl_s = 2;
    lo.clock = &clock_;
    auto l = Lessor::Open(backend_.get(), lo);
    ASSERT_TRUE(l.ok()) << l.status();
    lessor_ = std::move(*l);
  }
  void Reopen() {
    lessor_.reset();
    store_.reset();
    backend_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }
  void Commit() {
    ASSERT_TRUE(store_->Commit(++index_, /*term=*/2, /*sync=*/false).ok());
  }
  absl::StatusOr<int64_t> Grant(LeaseId id, int64_t ttl) {
    auto r = lessor_->Grant(id, ttl, store_->PendingBatch());
    Commit();
    return r;
  }
  void Put(const std::string& key, LeaseId lease) {
    auto txn = store_->Write();
    txn->Put(key, "v", lease);
    lessor_->ApplyChanges(txn->End());
    Commit();
  }
  void Del(const std::string& key, const std::string& end = "") {
    auto txn = store_->Write();
    txn->DeleteRange(key, end);
    lessor_->ApplyChanges(txn->End());
    Commit();
  }
  // What the applier does for a LeaseRevoke: delete the keys, drop the lease.
  absl::Status Revoke(LeaseId id) {
    auto keys = lessor_->Keys(id);
    if (!keys.ok()) return keys.status();
    auto txn = store_->Write();
    for (const auto& k : *keys) txn->DeleteRange(k, "");
    lessor_->ApplyChanges(txn->End());
    auto st = lessor_->Revoke(id, store_->PendingBatch());
    Commit();
    return st;
  }
  // What the applier does for a LeaseCheckpoint request.
  void ApplyCheckpoints(const std::vector<std::pair<LeaseId, int64_t>>& cps) {
    if (cps.empty()) return;
    for (const auto& [id, remaining] : cps) lessor_->Checkpoint(id, remaining, store_->PendingBatch());
    Commit();
  }
  Keys KeysOf(LeaseId id) {
    auto k = lessor_->Keys(id);
    return k.ok() ? *k : Keys{"<" + std::string(k.status().message()) + ">"};
  }

  std::string dir_;
  util::ManualClock clock_;
  uint64_t index_ = 0;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvStore> store_;
  std::unique_ptr<Lessor> lessor_;
};

TEST(MinLeaseTtl, MatchesEtcd) {
  // etcd defaults: 100 ms heartbeat, 1000 ms election -> 15 ticks * 100 ms -> 2 s.
  EXPECT_EQ(MinLeaseTtlSeconds(1000, 100), 2);
  EXPECT_EQ(MinLeaseTtlSeconds(5000, 100), 8);   // 75 * 100 ms = 7.5 s -> 8
  EXPECT_EQ(MinLeaseTtlSeconds(2000, 1000), 3);  // (3*2)/2 = 3 ticks
}

TEST_F(LessorTest, GrantClampsAndRejects) {
  EXPECT_EQ(*Grant(1, 10), 10);
  EXPECT_EQ(*Grant(2, 1), 2);  // raised to the minimum
  EXPECT_EQ(*Grant(3, -5), 2);
  auto dup = Grant(1, 10);
  EXPECT_TRUE(absl::IsFailedPrecondition(dup.status()));
  EXPECT_EQ(dup.status().message(), "etcdserver: lease already exists");
  auto big = Grant(4, kMaxLeaseTtl + 1);
  EXPECT_TRUE(absl::IsOutOfRange(big.status()));
  EXPECT_EQ(big.status().message(), "etcdserver: too large lease TTL");
  EXPECT_EQ(*Grant(5, kMaxLeaseTtl), kMaxLeaseTtl);
  EXPECT_TRUE(lessor_->Lookup(1));
  EXPECT_FALSE(lessor_->Lookup(4));
  EXPECT_EQ(lessor_->Leases(), (std::vector<LeaseId>{1, 2, 3, 5}));
  lessor_->Promote(seconds(0));  // the primary lists them by expiry
  EXPECT_EQ(lessor_->Leases(), (std::vector<LeaseId>{2, 3, 1, 5}));
}

TEST_F(LessorTest, AttachDetachFollowPutsAndDeletes) {
  ASSERT_TRUE(Grant(1, 10).ok());
  ASSERT_TRUE(Grant(2, 10).ok());
  Put("a", 1);
  Put("b", 1);
  Put("c", 2);
  EXPECT_EQ(KeysOf(1), (Keys{"a", "b"}));
  Put("b", 2);  // moves to lease 2
  EXPECT_EQ(KeysOf(1), (Keys{"a"}));
  EXPECT_EQ(KeysOf(2), (Keys{"b", "c"}));
  Put("c", 0);  // a put without a lease detaches
  EXPECT_EQ(KeysOf(2), (Keys{"b"}));
  Del("a", "c");  // range delete detaches a and b
  EXPECT_EQ(KeysOf(1), Keys{});
  EXPECT_EQ(KeysOf(2), Keys{});
  auto info = lessor_->Get(2, true);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->ttl, 10);
  EXPECT_FALSE(info->remaining.has_value());  // not primary: expiry unknown
}

TEST_F(LessorTest, RevokeDeletesKeysInOneRevision) {
  ASSERT_TRUE(Grant(7, 10).ok());
  Put("x", 7);
  Put("y", 7);
  Put("z", 0);
  const int64_t before = store_->Rev();
  ASSERT_TRUE(Revoke(7).ok());
  EXPECT_EQ(store_->Rev(), before + 1);
  auto r = store_->Range("x", "zz", RangeOptions{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key(), "z");
  EXPECT_FALSE(lessor_->Lookup(7));
  auto again = Revoke(7);
  EXPECT_TRUE(absl::IsNotFound(again));
  EXPECT_EQ(again.message(), "etcdserver: requested lease not found");
}

TEST_F(LessorTest, ExpiryOnlyOnPrimary) {
  ASSERT_TRUE(Grant(1, 5).ok());
  clock_.Advance(seconds(60));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());  // followers never expire leases
  EXPECT_TRUE(IsNotPrimary(lessor_->Renew(1).status()));

  lessor_->Promote(seconds(1));
  EXPECT_TRUE(lessor_->IsPrimary());
  clock_.Advance(milliseconds(5500));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());  // 5 s TTL + 1 s extension
  clock_.Advance(milliseconds(600));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
  // Reported once; again only after the retry interval (the revoke may be lost).
  EXPECT_TRUE(lessor_->FindExpired(10).empty());
  clock_.Advance(Lessor::kExpiredRetry);
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
  // An expired lease cannot be renewed; it is not gone until revoked.
  EXPECT_TRUE(IsLeaseExpired(lessor_->Renew(1).status()));
  EXPECT_TRUE(lessor_->Lookup(1));
  ASSERT_TRUE(Revoke(1).ok());
  EXPECT_TRUE(absl::IsNotFound(lessor_->Renew(1).status()));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());

  lessor_->Demote();
  ASSERT_TRUE(Grant(2, 5).ok());
  clock_.Advance(seconds(60));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());
}

TEST_F(LessorTest, RenewRestartsTtl) {
  lessor_->Promote(seconds(0));
  ASSERT_TRUE(Grant(1, 10).ok());  // granted on the primary: expiry starts now
  clock_.Advance(seconds(8));
  auto info = lessor_->Get(1, false);
  ASSERT_TRUE(info->remaining.has_value());
  EXPECT_EQ(std::chrono::duration_cast<seconds>(*info->remaining).count(), 2);
  EXPECT_EQ(*lessor_->Renew(1), 10);
  clock_.Advance(seconds(9));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());
  clock_.Advance(seconds(2));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
  EXPECT_TRUE(absl::IsNotFound(lessor_->Renew(99).status()));
}

TEST_F(LessorTest, PromoteExtendsByElectionTimeout) {
  ASSERT_TRUE(Grant(1, 10).ok());
  lessor_->Promote(seconds(0));
  clock_.Advance(seconds(9));
  // Leadership moves away and back (a new election): the remaining TTL is
  // granted again plus the election timeout.
  lessor_->Demote();
  lessor_->Promote(seconds(2));
  clock_.Advance(seconds(11));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());
  clock_.Advance(seconds(1) + milliseconds(1));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
}

TEST_F(LessorTest, PromoteSpreadsMassExpiry) {
  const int n = 3000;
  for (int i = 1; i <= n; ++i) ASSERT_TRUE(lessor_->Grant(i, 10, store_->PendingBatch()).ok());
  Commit();
  lessor_->Promote(seconds(1));
  clock_.Advance(seconds(11) + milliseconds(1));
  auto first = lessor_->FindExpired(n);
  EXPECT_LE(first.size(), static_cast<size_t>(Lessor::kTargetExpiresPerSecond) + 1);
  std::set<LeaseId> all(first.begin(), first.end());
  clock_.Advance(seconds(5));
  for (LeaseId id : lessor_->FindExpired(n)) all.insert(id);
  EXPECT_EQ(all.size(), static_cast<size_t>(n));
}

TEST_F(LessorTest, RestartRebuildsLeasesAndAttachments) {
  ASSERT_TRUE(Grant(1, 30).ok());
  ASSERT_TRUE(Grant(2, 40).ok());
  ASSERT_TRUE(Grant(3, 50).ok());
  for (int i = 0; i < 2500; ++i) Put(absl::StrCat("k", 10000 + i), i % 2 ? 1 : 2);
  Put("k10000", 0);  // detached before the restart
  Del("k10001");
  ASSERT_TRUE(Revoke(3).ok());
  Reopen();
  EXPECT_EQ(lessor_->Leases(), (std::vector<LeaseId>{1, 2}));
  EXPECT_EQ(lessor_->Get(1, false)->ttl, 30);
  EXPECT_EQ(KeysOf(1).size(), 1249u);
  EXPECT_EQ(KeysOf(2).size(), 1249u);
  EXPECT_EQ(KeysOf(2).front(), "k10002");
  // Expiry restarts from the full TTL when a primary takes over.
  lessor_->Promote(seconds(1));
  clock_.Advance(seconds(30));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());
  clock_.Advance(seconds(1) + milliseconds(1));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
}

TEST_F(LessorTest, ReloadKeepsPrimaryAndRestartsExpiry) {
  ASSERT_TRUE(Grant(1, 10).ok());
  Put("a", 1);
  lessor_->Promote(seconds(0));
  clock_.Advance(seconds(8));
  // A state snapshot replaced the column families (here: the same content).
  ASSERT_TRUE(lessor_->Reload().ok());
  EXPECT_TRUE(lessor_->IsPrimary());
  EXPECT_EQ(KeysOf(1), Keys{"a"});
  clock_.Advance(seconds(9));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());  // full TTL again from the reload
  clock_.Advance(seconds(2));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
}

TEST_F(LessorTest, CheckpointsCarryRemainingTtlAcrossLeaderChangeAndRestart) {
  // Checkpoint interval 5 min (default): only leases longer than that.
  ASSERT_TRUE(Grant(1, 3600).ok());
  ASSERT_TRUE(Grant(2, 60).ok());
  lessor_->Promote(seconds(0));
  clock_.Advance(std::chrono::minutes(4));
  EXPECT_TRUE(lessor_->CollectCheckpoints(10).empty());
  clock_.Advance(std::chrono::minutes(1));
  auto cps = lessor_->CollectCheckpoints(10);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0], (std::pair<LeaseId, int64_t>{1, 3300}));
  EXPECT_TRUE(lessor_->CollectCheckpoints(10).empty());  // next one in 5 min
  // Applied on every member (here: this one), persisted.
  lessor_->Checkpoint(1, cps[0].second, store_->PendingBatch());
  lessor_->Checkpoint(99, 5, store_->PendingBatch());  // revoked meanwhile: ignored
  Commit();
  ASSERT_TRUE(Revoke(2).ok());  // (short lease: never checkpointed; out of the way)
  // A new leader resumes from the checkpoint, not from the full TTL.
  lessor_->Demote();
  lessor_->Promote(seconds(1));
  clock_.Advance(seconds(3300));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());
  clock_.Advance(seconds(1) + milliseconds(1));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
  // So does a restart.
  Reopen();
  lessor_->Promote(seconds(0));
  clock_.Advance(seconds(3300) + milliseconds(1));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
}

TEST_F(LessorTest, RenewAfterCheckpointClearsIt) {
  ASSERT_TRUE(Grant(1, 3600).ok());
  lessor_->Checkpoint(1, 100, store_->PendingBatch());
  Commit();
  lessor_->Promote(seconds(0));
  clock_.Advance(seconds(50));
  EXPECT_TRUE(lessor_->CollectCheckpoints(10).empty());
  EXPECT_EQ(*lessor_->Renew(1), 3600);
  // The persisted 100 s would shorten the lease after a leader change: it is
  // cleared (etcd: Remaining_TTL 0), so a new leader grants the full TTL.
  auto cps = lessor_->CollectCheckpoints(10);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0], (std::pair<LeaseId, int64_t>{1, 0}));
  ApplyCheckpoints(cps);
  lessor_->Demote();
  lessor_->Promote(seconds(0));
  clock_.Advance(seconds(3599));
  EXPECT_TRUE(lessor_->FindExpired(10).empty());
  clock_.Advance(seconds(1) + milliseconds(1));
  EXPECT_EQ(lessor_->FindExpired(10), std::vector<LeaseId>{1});
}

// A lease renewed every few seconds must not write a checkpoint per renewal:
// the periodic checkpoint, then one clear, per interval (etcd's bound of two
// raft entries per lease per checkpoint interval).
TEST_F(LessorTest, FrequentRenewalsWriteAtMostTwoCheckpointsPerInterval) {
  ASSERT_TRUE(Grant(1, 3600).ok());
  lessor_->Promote(seconds(0));
  int entries = 0, clears = 0;
  // Keep-alives every 10 s for three checkpoint intervals (5 min) and one
  // more, each followed by the expiry loop's pass (CollectCheckpoints,
  // applied at once).
  for (int tick = 1; tick <= 3 * 30 + 1; ++tick) {
    clock_.Advance(seconds(10));
    ASSERT_EQ(*lessor_->Renew(1), 3600);
    auto cps = lessor_->CollectCheckpoints(10);
    entries += cps.empty() ? 0 : 1;
    for (const auto& [id, remaining] : cps) clears += remaining == 0 ? 1 : 0;
    ApplyCheckpoints(cps);
  }
  // Every interval: the periodic checkpoint (remaining > 0), then the clear
  // after the next renewal.
  EXPECT_EQ(entries, 6);
  EXPECT_EQ(clears, 3);
  EXPECT_EQ(lessor_->Get(1, false)->ttl, 3600);
}

// Without checkpointing (the default flag), renewals never write one.
TEST_F(LessorTest, RenewWithoutCheckpointingWritesNothing) {
  lessor_.reset();
  LessorOptions lo;
  lo.min_ttl_s = 2;
  lo.clock = &clock_;
  lo.checkpoint_interval = util::Clock::Duration::zero();
  auto l = Lessor::Open(backend_.get(), lo);
  ASSERT_TRUE(l.ok()) << l.status();
  lessor_ = std::move(*l);
  ASSERT_TRUE(Grant(1, 3600).ok());
  lessor_->Checkpoint(1, 100, store_->PendingBatch());  // from a leader that had it on
  Commit();
  lessor_->Promote(seconds(0));
  for (int i = 0; i < 40; ++i) {
    clock_.Advance(seconds(10));
    ASSERT_EQ(*lessor_->Renew(1), 3600);
    EXPECT_TRUE(lessor_->CollectCheckpoints(10).empty());
  }
}

TEST_F(LessorTest, UncommittedGrantIsNotDurable) {
  ASSERT_TRUE(lessor_->Grant(1, 10, store_->PendingBatch()).ok());
  Reopen();  // the group never committed: the grant is replayed from the log
  EXPECT_FALSE(lessor_->Lookup(1));
}

}  // namespace
}  // namespace quorum::mvcc
