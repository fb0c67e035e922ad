// LeaseService keep-alive and time-to-live paths, with scripted Proposers
// playing the raft members and, where forwarding matters, two services on
// real gRPC ports (a follower and its leader).
//  - On the leader, a lease not (yet) known: wait for this member's apply to
//    catch up before answering TTL 0; forward when leadership moved meanwhile.
//  - An expired lease not yet revoked: answer once the revoke is applied or
//    once this member is demoted (etcd's Renew), within the deadline.
//  - The keep-alive header is taken before the renewal (etcd).
//  - Forwarding tries every advertised client URL of the leader.
//  - Retries wait on a timer, not on the threads that serve other requests.
#include "server/api/lease_service.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mvcc/temp_store_for_test.h"
#include "server/errors.h"
#include "util/black_hole_for_test.h"

namespace quorum::server {
namespace {

using internalpb::InternalRequest;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// WaitApplied runs `on_wait_applied` (the apply catching up) before
// answering; Propose is not used by these paths.
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
  uint64_t LeaderId() const override { return leader.load(); }

  std::function<void()> on_wait_applied;
  std::atomic<int> waits{0};
  std::atomic<uint64_t> leader{0};  // 0: no leader known
};

// A TCP port nothing listens on (connections are refused).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

using util::BlackHole;

// One member: a store, a lessor on a manual clock, a LeaseService served on
// a loopback gRPC port, and a scripted raft member.
class Node {
 public:
  explicit Node(uint64_t id, LeaseServiceOptions opts = {}) {
    dir_ = mvcc::test_util::MakeTempDir("lease-service-test");
    EXPECT_FALSE(dir_.empty());
    EXPECT_TRUE(mvcc::test_util::OpenStore(dir_, &backend_, &store_).ok());
    mvcc::LessorOptions lo;
    lo.min_ttl_s = 2;
    lo.clock = &clock;
    auto l = mvcc::Lessor::Open(backend_.get(), lo);
    EXPECT_TRUE(l.ok()) << l.status();
    lessor = std::move(*l);
    membership_ = std::make_unique<Membership>(backend_.get());
    deps_.config = &config_;
    deps_.proposer = &proposer;
    deps_.store = store_.get();
    deps_.backend = backend_.get();
    deps_.membership = membership_.get();
    deps_.self_id = id;
    service = std::make_unique<LeaseService>(&deps_, lessor.get(), opts);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(service.get());
    server_ = b.BuildAndStart();
  }
  ~Node() {
    service->Stop();  // answers whatever is still pending
    server_->Shutdown(std::chrono::system_clock::now() + seconds(2));
    server_.reset();
    service.reset();
    lessor.reset();
    store_.reset();
    backend_.reset();
    mvcc::test_util::RemoveTempDir(dir_);
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  void BecomeLeader() {
    lessor->Promote(seconds(0));
    proposer.leader = deps_.self_id;
  }
  // Knows `leader` as the leader, reachable at `client_urls`.
  void FollowLeader(uint64_t leader, std::vector<std::string> client_urls) {
    MemberInfo m;
    m.id = leader;
    m.name = "leader";
    m.client_urls = std::move(client_urls);
    membership_->Add(m, store_->PendingBatch());
    Commit();
    proposer.leader = leader;
  }

  // What applying LeaseGrant / LeaseRevoke / Put does on this member.
  void ApplyGrant(mvcc::LeaseId id, int64_t ttl) {
    ASSERT_TRUE(lessor->Grant(id, ttl, store_->PendingBatch()).ok());
    Commit();
  }
  void ApplyRevoke(mvcc::LeaseId id) {
    ASSERT_TRUE(lessor->Revoke(id, store_->PendingBatch()).ok());
    Commit();
  }
  void ApplyPut(const std::string& key) {
    auto txn = store_->Write();
    txn->Put(key, "v", mvcc::kNoLease);
    lessor->ApplyChanges(txn->End());
    Commit();
  }
  int64_t Rev() const { return store_->Rev(); }

  // KeepAliveOnce's answer, waited for in the background.
  std::future<absl::StatusOr<int64_t>> StartKeepAlive(int64_t id) {
    auto p = std::make_shared<std::promise<absl::StatusOr<int64_t>>>();
    auto f = p->get_future();
    service->KeepAliveOnce(id, [p](absl::StatusOr<int64_t> ttl) { p->set_value(std::move(ttl)); });
    return f;
  }
  absl::StatusOr<int64_t> KeepAlive(int64_t id) {
    auto f = StartKeepAlive(id);
    if (f.wait_for(seconds(10)) != std::future_status::ready) {
      return absl::DeadlineExceededError("no answer within 10 s");
    }
    return f.get();
  }

  std::unique_ptr<etcdserverpb::Lease::Stub> Client() const {
    return etcdserverpb::Lease::NewStub(
        grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials()));
  }

  util::ManualClock clock;
  ScriptedProposer proposer;
  std::unique_ptr<mvcc::Lessor> lessor;
  std::unique_ptr<LeaseService> service;

 private:
  void Commit() { ASSERT_TRUE(store_->Commit(++index_, /*term=*/2, /*sync=*/false).ok()); }

  std::string dir_;
  uint64_t index_ = 0;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<mvcc::KvStore> store_;
  std::unique_ptr<Membership> membership_;
  ServerConfig config_;
  ServiceDeps deps_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

bool AnsweredWithin(std::future<absl::StatusOr<int64_t>>& f, SteadyClock::duration d) {
  return f.wait_for(d) == std::future_status::ready;
}

TEST(LeaseServiceTest, KnownLeaseIsRenewedWithoutWaiting) {
  Node n(1);
  n.BecomeLeader();
  n.ApplyGrant(7, 30);
  auto ttl = n.KeepAlive(7);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 30);
  EXPECT_EQ(n.proposer.waits, 0);
}

// The grant was applied by the follower that answered the client before
// this leader applied it: renewing at once must not be told "gone".
TEST(LeaseServiceTest, GrantNotYetAppliedHereIsRenewedOnceApplied) {
  Node n(1);
  n.BecomeLeader();
  n.proposer.on_wait_applied = [&n] { n.ApplyGrant(8, 30); };
  auto ttl = n.KeepAlive(8);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 30);
  EXPECT_EQ(n.proposer.waits, 1);
}

TEST(LeaseServiceTest, UnknownLeaseGetsTtlZeroAfterTheWait) {
  Node n(1);
  n.BecomeLeader();
  auto ttl = n.KeepAlive(9);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 0);
  EXPECT_EQ(n.proposer.waits, 1);
}

// Leadership moved while waiting: the renewal goes to the leader's lessor
// (here: this member again, once re-elected) instead of failing the stream
// with "not primary lessor".
TEST(LeaseServiceTest, LeadershipLostDuringTheWaitIsForwarded) {
  Node n(1);
  n.BecomeLeader();
  std::thread reelect;
  n.proposer.on_wait_applied = [&n, &reelect] {
    n.ApplyGrant(10, 30);
    n.lessor->Demote();
    n.proposer.leader = 0;
    reelect = std::thread([&n] {
      std::this_thread::sleep_for(milliseconds(200));
      n.BecomeLeader();
    });
  };
  auto ttl = n.KeepAlive(10);
  if (reelect.joinable()) reelect.join();
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 30);
}

// etcd fills the keep-alive header before renewing: the answer never shows
// a revision written after the renewal (e.g. the lease's own revoke).
TEST(LeaseServiceTest, KeepAliveHeaderIsTakenBeforeTheRenewal) {
  Node n(1);
  n.BecomeLeader();
  const int64_t before = n.Rev();
  // Applied while the renewal waits for the apply to catch up.
  n.proposer.on_wait_applied = [&n] {
    n.ApplyGrant(12, 30);
    n.ApplyPut("written-after-the-request");
  };
  auto client = n.Client();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  auto stream = client->LeaseKeepAlive(&ctx);
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(12);
  ASSERT_TRUE(stream->Write(req));
  etcdserverpb::LeaseKeepAliveResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.ttl(), 30);
  EXPECT_GT(n.Rev(), before);
  EXPECT_EQ(resp.header().revision(), before);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// etcd's Renew of an expired lease waits for its revoke to be applied: a
// client told TTL 0 must find the lease (and its keys) gone.
TEST(LeaseServiceTest, ExpiredLeaseIsAnsweredOnceTheRevokeIsApplied) {
  Node n(1);
  n.BecomeLeader();
  n.ApplyGrant(13, 2);
  n.clock.Advance(seconds(3));  // expired; the revoke is not applied yet
  auto f = n.StartKeepAlive(13);
  EXPECT_FALSE(AnsweredWithin(f, milliseconds(300)));
  n.ApplyRevoke(13);
  ASSERT_TRUE(AnsweredWithin(f, seconds(2)));
  auto ttl = f.get();
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 0);
}

// ... or until the lessor is demoted: the new leader (here this member,
// re-elected, which extends every lease) answers.
TEST(LeaseServiceTest, ExpiredLeaseGoesToTheNextLeaderOnDemotion) {
  Node n(1);
  n.BecomeLeader();
  n.ApplyGrant(14, 2);
  n.clock.Advance(seconds(3));
  auto f = n.StartKeepAlive(14);
  EXPECT_FALSE(AnsweredWithin(f, milliseconds(300)));
  n.lessor->Demote();
  n.proposer.leader = 0;
  std::this_thread::sleep_for(milliseconds(200));
  n.BecomeLeader();
  ASSERT_TRUE(AnsweredWithin(f, seconds(2)));
  auto ttl = f.get();
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 2);
}

// ... bounded by the request deadline: etcd's request timeout error.
TEST(LeaseServiceTest, ExpiredLeaseNeverRevokedTimesOut) {
  LeaseServiceOptions opts;
  opts.forward_timeout = milliseconds(400);
  Node n(1, opts);
  n.BecomeLeader();
  n.ApplyGrant(15, 2);
  n.clock.Advance(seconds(3));
  auto f = n.StartKeepAlive(15);
  ASSERT_TRUE(AnsweredWithin(f, seconds(3)));
  auto ttl = f.get();
  EXPECT_EQ(ttl.status(), ErrTimeout());
}

// A follower's forwarder is one stream carrying all its clients: renewals
// waiting for an expired lease's revoke must not stop the stream from
// reading the keep-alives of live leases behind them.
TEST(LeaseServiceTest, WaitingRenewalsDoNotStallTheStream) {
  Node n(1);
  n.BecomeLeader();
  n.ApplyGrant(50, 2);
  n.ApplyGrant(51, 30);
  n.clock.Advance(seconds(3));  // 50 expired, its revoke not applied yet
  auto client = n.Client();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(20));
  auto stream = client->LeaseKeepAlive(&ctx);
  constexpr int kWaiting = 1100;  // past the stream's read-pause limit
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(50);
  for (int i = 0; i < kWaiting; ++i) ASSERT_TRUE(stream->Write(req));
  req.set_id(51);
  ASSERT_TRUE(stream->Write(req));
  const auto t0 = SteadyClock::now();
  etcdserverpb::LeaseKeepAliveResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_LT(SteadyClock::now() - t0, seconds(2));
  EXPECT_EQ(resp.id(), 51);
  EXPECT_EQ(resp.ttl(), 30);
  n.ApplyRevoke(50);  // wakes every waiting renewal: TTL 0
  for (int i = 0; i < kWaiting; ++i) {
    ASSERT_TRUE(stream->Read(&resp)) << i;
    EXPECT_EQ(resp.id(), 50);
    EXPECT_EQ(resp.ttl(), 0);
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// Stop answers renewals still waiting (no callback outlives the service).
TEST(LeaseServiceTest, StopAnswersWaitingRenewals) {
  Node n(1);
  n.BecomeLeader();
  n.ApplyGrant(16, 2);
  n.clock.Advance(seconds(3));
  auto expired = n.StartKeepAlive(16);
  n.lessor->Demote();
  n.proposer.leader = 0;
  auto leaderless = n.StartKeepAlive(17);
  EXPECT_FALSE(AnsweredWithin(leaderless, milliseconds(200)));
  n.service->Stop();
  ASSERT_TRUE(AnsweredWithin(expired, seconds(1)));
  ASSERT_TRUE(AnsweredWithin(leaderless, seconds(1)));
  EXPECT_EQ(leaderless.get().status(), ErrStopped());
}

// The leader advertises several client URLs and the first one is dead: the
// follower's keep-alive and time-to-live reach it over the next one. A fresh
// follower for each: once a URL has answered it is tried first, so a second
// request on the same follower would never try the dead one.
TEST(LeaseServiceTest, FollowerForwardsOverAnyOfTheLeadersClientUrls) {
  Node leader(2);
  leader.BecomeLeader();
  leader.ApplyGrant(20, 30);
  auto follow = [&leader] {
    auto f = std::make_unique<Node>(1);
    f->ApplyGrant(20, 30);
    f->FollowLeader(2, {"http://127.0.0.1:" + std::to_string(ClosedPort()),
                        "http://" + leader.Address()});
    return f;
  };
  {
    auto follower = follow();
    auto ttl = follower->KeepAlive(20);
    ASSERT_TRUE(ttl.ok()) << ttl.status();
    EXPECT_EQ(*ttl, 30);
  }
  auto follower = follow();
  auto client = follower->Client();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  etcdserverpb::LeaseTimeToLiveRequest req;
  req.set_id(20);
  etcdserverpb::LeaseTimeToLiveResponse resp;
  grpc::Status st = client->LeaseTimeToLive(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.grantedttl(), 30);
  EXPECT_EQ(resp.ttl(), 30);
}

// etcd's texts at the deadline: "no leader" when none was known (its
// waitLeader), "request timed out" when the leader did not answer, not the
// last forwarding error.
TEST(LeaseServiceTest, ForwardingAnswersEtcdsErrorsAtTheDeadline) {
  LeaseServiceOptions opts;
  opts.forward_timeout = milliseconds(400);
  Node n(1, opts);
  n.ApplyGrant(21, 30);
  EXPECT_EQ(n.KeepAlive(21).status(), LeaseService::ErrNoLeaderForTesting());
  auto ttl_call = [&n] {
    auto client = n.Client();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    etcdserverpb::LeaseTimeToLiveRequest req;
    req.set_id(21);
    etcdserverpb::LeaseTimeToLiveResponse resp;
    return client->LeaseTimeToLive(&ctx, req, &resp);
  };
  grpc::Status st = ttl_call();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "etcdserver: no leader");

  n.FollowLeader(2, {"http://127.0.0.1:" + std::to_string(ClosedPort())});
  EXPECT_EQ(n.KeepAlive(21).status(), ErrTimeout());
  st = ttl_call();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "etcdserver: request timed out");
}

// Renewals pending on the old leader fail when the leader changes: they go
// to the new leader's URLs, not to the old leader's next URL, whose stream
// would replace (cancel) the new leader's, back and forth.
TEST(LeaseServiceTest, RetriesAfterALeaderChangeGoToTheNewLeader) {
  BlackHole old1, old2;
  Node leader(3);
  leader.BecomeLeader();
  leader.ApplyGrant(22, 30);
  Node n(1);
  n.ApplyGrant(22, 30);
  n.FollowLeader(2, {"http://127.0.0.1:" + std::to_string(old1.port()),
                     "http://127.0.0.1:" + std::to_string(old2.port())});
  std::vector<std::future<absl::StatusOr<int64_t>>> answers;
  for (int i = 0; i < 20; ++i) answers.push_back(n.StartKeepAlive(22));
  std::this_thread::sleep_for(milliseconds(200));  // hanging on the old leader
  n.FollowLeader(3, {"http://" + leader.Address()});
  answers.push_back(n.StartKeepAlive(22));
  for (auto& f : answers) {
    ASSERT_TRUE(AnsweredWithin(f, seconds(3)));
    auto ttl = f.get();
    ASSERT_TRUE(ttl.ok()) << ttl.status();
    EXPECT_EQ(*ttl, 30);
  }
  EXPECT_EQ(n.service->ForwardStreamsOpenedForTesting(), 2u) << "one to each leader";
}

// During an election every keep-alive retries until a leader appears. The
// retries wait on a timer: once the leader is back, all of them are answered
// at once, not at the pace of a few threads sleeping between attempts.
TEST(LeaseServiceTest, ManyKeepAlivesRetryingWithoutALeaderAllFinishSoon) {
  Node n(1);
  n.ApplyGrant(30, 30);
  constexpr int kRenewals = 400;
  std::vector<std::future<absl::StatusOr<int64_t>>> answers;
  for (int i = 0; i < kRenewals; ++i) answers.push_back(n.StartKeepAlive(30));
  std::this_thread::sleep_for(milliseconds(300));
  const auto elected = SteadyClock::now();
  n.BecomeLeader();
  int ok = 0;
  for (auto& f : answers) {
    if (f.wait_until(elected + seconds(2)) != std::future_status::ready) break;
    auto ttl = f.get();
    ok += ttl.ok() && *ttl == 30 ? 1 : 0;
  }
  EXPECT_EQ(ok, kRenewals) << "renewals answered within 2 s of the election";
}

// A follower forwarding time-to-live calls to a leader that does not answer
// must not stall keep-alives retrying meanwhile.
TEST(LeaseServiceTest, HungTimeToLiveForwardsDoNotStallKeepAliveRetries) {
  BlackHole hung;
  Node n(1);
  n.ApplyGrant(40, 30);
  n.FollowLeader(2, {"http://127.0.0.1:" + std::to_string(hung.port())});
  auto client = n.Client();
  std::vector<std::thread> calls;
  for (int i = 0; i < 8; ++i) {
    calls.emplace_back([&client] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
      etcdserverpb::LeaseTimeToLiveRequest req;
      req.set_id(40);
      etcdserverpb::LeaseTimeToLiveResponse resp;
      (void)client->LeaseTimeToLive(&ctx, req, &resp);
    });
  }
  std::this_thread::sleep_for(milliseconds(300));  // the forwards are hanging
  n.proposer.leader = 0;                           // an election starts
  auto renewal = n.StartKeepAlive(40);
  std::this_thread::sleep_for(milliseconds(200));
  n.BecomeLeader();
  EXPECT_TRUE(AnsweredWithin(renewal, seconds(1)));
  n.service->Stop();  // cancels the hanging forwards
  for (auto& t : calls) t.join();
  ASSERT_TRUE(AnsweredWithin(renewal, seconds(5)));
  auto ttl = renewal.get();
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 30);
}

// The leader holds a renewal of an expired lease until its revoke, past the
// follower's deadline. The follower answers that one request "timed out"
// and keeps the stream that carries every other client's keep-alives; the
// leader's late answer is dropped, and later renewals of the lease get
// their own answers.
TEST(LeaseServiceTest, ARenewalPastItsDeadlineFailsAloneOnTheForwardingStream) {
  Node leader(2);
  leader.BecomeLeader();
  leader.ApplyGrant(30, 2);
  leader.ApplyGrant(31, 30);
  leader.clock.Advance(seconds(3));  // 30 expired, its revoke not applied yet
  LeaseServiceOptions opts;
  opts.forward_timeout = milliseconds(600);
  Node n(1, opts);
  n.ApplyGrant(30, 30);
  n.ApplyGrant(31, 30);
  n.FollowLeader(2, {"http://" + leader.Address()});
  n.service->Start();  // the expiry loop sweeps the forwarder
  auto live = n.KeepAlive(31);
  ASSERT_TRUE(live.ok()) << live.status();
  auto held = n.StartKeepAlive(30);
  ASSERT_TRUE(AnsweredWithin(held, seconds(3)));
  EXPECT_EQ(held.get().status(), ErrTimeout());
  std::this_thread::sleep_for(milliseconds(600));  // a sweep after the answer
  live = n.KeepAlive(31);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(*live, 30);
  EXPECT_EQ(n.service->ForwardStreamsOpenedForTesting(), 1u) << "the stream was cancelled";
  leader.ApplyRevoke(30);  // the leader answers the held renewal now: dropped
  auto gone = n.KeepAlive(30);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(*gone, 0);
  live = n.KeepAlive(31);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(*live, 30);
  EXPECT_EQ(n.service->ForwardStreamsOpenedForTesting(), 1u);
}

}  // namespace
}  // namespace quorum::server
