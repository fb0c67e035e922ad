// LeaseService::KeepAliveOnce on the leader when the lease is not (yet)
// known: the service must wait for this member's apply to catch up before
// answering TTL 0, and forward when leadership moved during that wait.
// A scripted Proposer plays the raft member.
#include "server/api/lease_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "mvcc/temp_store_for_test.h"

namespace quorum::server {
namespace {

using internalpb::InternalRequest;

// WaitApplied runs `on_wait_applied` (the apply catching up) before
// answering; nothing else is used by KeepAliveOnce.
class ScriptedProposer final : public Proposer {
 public:
  void Propose(InternalRequest, ProposeDone done) override {
    std::move(done)(absl::UnimplementedError("not in this test"));
  }
  void ReadBarrier(ReadReady ready) override { std::move(ready)(absl::OkStatus()); }
  void WaitApplied(ReadReady ready) override {
    ++waits;
    if (on_wait_applied) on_wait_applied();
    std::move(ready)(absl::OkStatus());
  }
  uint64_t Term() const override { return 2; }
  uint64_t AppliedIndex() const override { return 0; }
  uint64_t CommittedIndex() const override { return 0; }
  uint64_t LeaderId() const override { return 0; }  // forwarding finds no other leader

  std::function<void()> on_wait_applied;
  int waits = 0;
};

class LeaseServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::test_util::MakeTempDir("lease-service-test");
    ASSERT_FALSE(dir_.empty());
    ASSERT_TRUE(mvcc::test_util::OpenStore(dir_, &backend_, &store_).ok());
    mvcc::LessorOptions lo;
    lo.min_ttl_s = 2;
    auto l = mvcc::Lessor::Open(backend_.get(), lo);
    ASSERT_TRUE(l.ok()) << l.status();
    lessor_ = std::move(*l);
    lessor_->Promote(std::chrono::seconds(0));
    deps_.proposer = &proposer_;
    deps_.store = store_.get();
    deps_.backend = backend_.get();
    deps_.self_id = 1;
    service_ = std::make_unique<LeaseService>(&deps_, lessor_.get());
  }
  void TearDown() override {
    service_.reset();
    lessor_.reset();
    store_.reset();
    backend_.reset();
    mvcc::test_util::RemoveTempDir(dir_);
  }
  // What applying a LeaseGrant does on this member.
  void ApplyGrant(mvcc::LeaseId id, int64_t ttl) {
    ASSERT_TRUE(lessor_->Grant(id, ttl, store_->PendingBatch()).ok());
    ASSERT_TRUE(store_->Commit(++index_, /*term=*/2, /*sync=*/false).ok());
  }
  absl::StatusOr<int64_t> KeepAlive(int64_t id) {
    std::promise<absl::StatusOr<int64_t>> p;
    auto f = p.get_future();
    service_->KeepAliveOnce(id, [&p](absl::StatusOr<int64_t> ttl) { p.set_value(std::move(ttl)); });
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return absl::DeadlineExceededError("no answer within 10 s");
    }
    return f.get();
  }

  std::string dir_;
  uint64_t index_ = 0;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<mvcc::KvStore> store_;
  std::unique_ptr<mvcc::Lessor> lessor_;
  ScriptedProposer proposer_;
  ServiceDeps deps_;
  std::unique_ptr<LeaseService> service_;
};

TEST_F(LeaseServiceTest, KnownLeaseIsRenewedWithoutWaiting) {
  ApplyGrant(7, 30);
  auto ttl = KeepAlive(7);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 30);
  EXPECT_EQ(proposer_.waits, 0);
}

// The grant was applied by the follower that answered the client before
// this leader applied it: renewing at once must not be told "gone".
TEST_F(LeaseServiceTest, GrantNotYetAppliedHereIsRenewedOnceApplied) {
  proposer_.on_wait_applied = [this] { ApplyGrant(8, 30); };
  auto ttl = KeepAlive(8);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 30);
  EXPECT_EQ(proposer_.waits, 1);
}

TEST_F(LeaseServiceTest, UnknownLeaseGetsTtlZeroAfterTheWait) {
  auto ttl = KeepAlive(9);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 0);
  EXPECT_EQ(proposer_.waits, 1);
}

// Leadership moved while waiting: the renewal goes to the leader's lessor
// (here: this member again, once re-elected) instead of failing the stream
// with "not primary lessor".
TEST_F(LeaseServiceTest, LeadershipLostDuringTheWaitIsForwarded) {
  std::thread reelect;
  proposer_.on_wait_applied = [this, &reelect] {
    ApplyGrant(10, 30);
    lessor_->Demote();
    reelect = std::thread([this] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      lessor_->Promote(std::chrono::seconds(0));
    });
  };
  auto ttl = KeepAlive(10);
  if (reelect.joinable()) reelect.join();
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 30);
}

}  // namespace
}  // namespace quorum::server
