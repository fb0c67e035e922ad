// Two properties of the client recipes (src/client/concurrency) checked
// against an in-process 3-member cluster instead of by reading the code:
//
//  * Mutex: a waiter watches only its predecessor (the key with the largest
//    create revision below its own), so a release wakes the next waiter
//    alone -- no thundering herd. Each waiter's Mutex talks to the cluster
//    through its own CountingRelay, a gRPC relay that counts the Range and
//    watch-create requests passing through it.
//  * RunStm's four isolation levels (clientv3's SerializableSnapshot,
//    Serializable, RepeatableReads, ReadCommitted): a second client writes
//    from inside apply's first run, between the STM's reads and its commit,
//    and each level must re-run apply (or not) and read what clientv3 would.
//
// Every wait is bounded; a hung recipe fails the test instead of hanging it.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "client/concurrency/key.h"
#include "client/concurrency/mutex.h"
#include "client/concurrency/session.h"
#include "client/concurrency/stm.h"
#include "client/kv.h"
#include "client/lease.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "counting_relay.h"
#include "status_assertions.h"
#include "test_cluster.h"
#include "three_member_fixture.h"

namespace quorum::integration {
namespace {

namespace cc = client::concurrency;
using cc::Wait;

class RecipesIsolationTest : public ThreeMemberClusterTest {
 protected:
  std::unique_ptr<client::Client> NewClient(std::vector<std::string> endpoints = {}) {
    return ClientOf(std::move(endpoints));
  }
};

// --- Mutex: no thundering herd ---------------------------------------------

// A holder and four waiters W0..W3 queued on one lock, in create-revision
// order; each Wi watches only W(i-1) (W0 the holder). Then:
//  (a) W1's session is revoked: only W2 (whose predecessor W1 was) wakes,
//      re-reads once and watches W0 instead; W0, W1 and W3 send nothing and
//      nobody acquires;
//  (b) the holder unlocks: W0 acquires with O(1) requests (re-read + own-key
//      check, no new watch) while W1, W2, W3 send nothing at all;
//  (c) W0 unlocks: W2 acquires (W1, watching W0 too, finds its key gone and
//      fails with "session is expired"), W3 sends nothing;
//  (d) W2 unlocks: W3 acquires. The lock went W0, W2, W3: create order.
// A Mutex watching the first key of the prefix instead (every waiter on the
// holder) fails at (a): W2 does not wake; one watching the whole prefix
// fails at (a) and (b): everybody wakes.
TEST_F(RecipesIsolationTest, MutexWaiterWatchesOnlyItsPredecessor) {
  constexpr int kWaiters = 4;
  const std::string kLock = "herd";
  auto direct = NewClient();
  ASSERT_NE(direct, nullptr);
  // Sessions keep their leases alive straight to the cluster; each waiter's
  // Mutex goes through its own relay (to member 0), so its own requests are
  // counted apart from everyone else's.
  ASSERT_OK_AND_ASSIGN(holder_session, cc::Session::Create(*direct, {.ttl_s = 30}));
  cc::Mutex holder(*holder_session, kLock);
  ASSERT_OK(holder.Lock(Wait::For(absl::Seconds(5))));

  std::vector<std::unique_ptr<CountingRelay>> relays;
  std::vector<std::unique_ptr<client::Client>> clients;
  std::vector<std::unique_ptr<cc::Session>> sessions;
  std::vector<std::unique_ptr<cc::Mutex>> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    relays.push_back(std::make_unique<CountingRelay>(cluster_->ClientAddress(0)));
    ASSERT_TRUE(relays.back()->ok());
    clients.push_back(NewClient({relays.back()->address()}));
    ASSERT_NE(clients.back(), nullptr);
    ASSERT_OK_AND_ASSIGN(s, cc::Session::Create(*direct, {.ttl_s = 30}));
    waiters.push_back(std::make_unique<cc::Mutex>(*clients.back(), s->Lease(), kLock));
    sessions.push_back(std::move(s));
  }

  struct Outcome {
    std::atomic<bool> done{false};
    absl::Status status;   // written before done
    int order = 0;         // 1 + how many Locks returned before this one
    int64_t revision = 0;  // the fencing revision of the tenure it got
  };
  std::vector<Outcome> out(kWaiters);
  std::atomic<int> returned{0};
  std::atomic<bool> stop{false};
  // Declared before `join`: the threads use it until joined.
  const Wait wait{absl::Now() + absl::Seconds(60), [&] { return stop.load(); }};
  std::vector<std::thread> threads;
  // Runs before the objects the threads use go away, also after a failed
  // ASSERT: a Lock still waiting ends within Wait::kPollInterval.
  absl::Cleanup join = [&] {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  };
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      absl::Status s = waiters[i]->Lock(wait);
      out[i].status = s;
      out[i].revision = waiters[i]->Revision();
      out[i].order = ++returned;
      out[i].done = true;
    });
    // Queued (its key written) and watching before the next one starts, so
    // the create revisions follow i.
    ASSERT_TRUE(PollUntil([&] { return relays[i]->counts().watches_created == 1; }, Millis(10000)))
        << "waiter " << i << " never started watching";
  }
  {
    client::GetOptions o;
    o.prefix = true;
    o.sort_target = client::SortTarget::kCreate;
    o.sort_order = client::SortOrder::kAscend;
    ASSERT_OK_AND_ASSIGN(keys, client::KvClient(*direct).Get(kLock + "/", o));
    ASSERT_EQ(keys.kvs_size(), kWaiters + 1);
    EXPECT_EQ(keys.kvs(0).key(), cc::LeaseKey(kLock + "/", holder_session->Lease()));
    for (int i = 0; i < kWaiters; ++i) {
      EXPECT_EQ(keys.kvs(i + 1).key(), cc::LeaseKey(kLock + "/", sessions[i]->Lease()));
    }
  }
  std::vector<CountingRelay::Counts> before;
  auto snapshot = [&] {
    before.clear();
    for (const auto& r : relays) before.push_back(r->counts());
  };
  auto ranges_since = [&](int i) { return relays[i]->counts().ranges - before[i].ranges; };
  auto creates_since = [&](int i) {
    return relays[i]->counts().watch_creates - before[i].watch_creates;
  };
  // Long enough for a woken waiter's re-read and watch to reach its relay
  // (they take a few ms in process), after the one we wait for arrived.
  const absl::Duration kSettle = absl::Milliseconds(500);

  // (a) A key in the middle of the queue goes away.
  snapshot();
  ASSERT_OK(client::LeaseClient(*direct).Revoke(sessions[1]->Lease()).status());
  EXPECT_TRUE(PollUntil([&] { return relays[2]->counts().watches_created == 2; }, Millis(10000)))
      << "W2 did not move on when its predecessor W1 went away";
  absl::SleepFor(kSettle);
  EXPECT_EQ(ranges_since(2), 1);
  EXPECT_EQ(creates_since(2), 1);
  for (int i : {0, 1, 3}) {
    EXPECT_EQ(ranges_since(i), 0) << "W" << i << " re-read after W1's key went away";
    EXPECT_EQ(creates_since(i), 0) << "W" << i << " re-watched after W1's key went away";
  }
  for (int i = 0; i < kWaiters; ++i) EXPECT_FALSE(out[i].done.load()) << "W" << i;

  // (b) The holder releases: W0 alone wakes.
  snapshot();
  ASSERT_OK(holder.Unlock());
  ASSERT_TRUE(PollUntil([&] { return out[0].done.load(); }, Millis(10000)));
  absl::SleepFor(kSettle);
  ASSERT_OK(out[0].status);
  EXPECT_EQ(out[0].order, 1);
  EXPECT_GE(ranges_since(0), 1);
  EXPECT_LE(ranges_since(0), 2) << "the next waiter's re-read is O(1)";
  EXPECT_EQ(creates_since(0), 0);
  for (int i = 1; i < kWaiters; ++i) {
    EXPECT_EQ(ranges_since(i), 0) << "W" << i << " woke for the holder's release";
    EXPECT_EQ(creates_since(i), 0) << "W" << i << " woke for the holder's release";
    EXPECT_FALSE(out[i].done.load()) << "W" << i;
  }

  // (c) W0 releases: W2 acquires; W1 (predecessor W0 as well) finds its own
  // key gone; W3 keeps waiting on W2 without a request.
  threads[0].join();
  snapshot();
  ASSERT_OK(waiters[0]->Unlock());
  ASSERT_TRUE(PollUntil([&] { return out[1].done.load() && out[2].done.load(); }, Millis(10000)));
  absl::SleepFor(kSettle);
  EXPECT_EQ(out[1].status.code(), absl::StatusCode::kFailedPrecondition) << out[1].status;
  EXPECT_EQ(out[1].status.message(), cc::kSessionExpiredMessage);
  ASSERT_OK(out[2].status);
  EXPECT_EQ(ranges_since(3), 0);
  EXPECT_EQ(creates_since(3), 0);
  EXPECT_FALSE(out[3].done.load());

  // (d) W2 releases: W3 acquires last.
  threads[2].join();
  ASSERT_OK(waiters[2]->Unlock());
  ASSERT_TRUE(PollUntil([&] { return out[3].done.load(); }, Millis(10000)));
  ASSERT_OK(out[3].status);
  EXPECT_GT(out[2].order, out[0].order);
  EXPECT_GT(out[3].order, out[2].order);
  EXPECT_GT(out[2].revision, out[0].revision);
  EXPECT_GT(out[3].revision, out[2].revision);
  ASSERT_OK(waiters[3]->Unlock());
}

// --- STM isolation levels ----------------------------------------------------
//
// clientv3 (client/v3/concurrency/stm.go), which stm.h follows:
//   SerializableSnapshot: reads at the first read's revision; commit if every
//     read key's mod revision is unchanged AND every written key's mod
//     revision is below first-read-revision + 1.
//   Serializable: reads at the first read's revision; commit if every read
//     key is unchanged (written keys unchecked).
//   RepeatableReads: each key read once, at the newest revision; commit if
//     every read key is unchanged.
//   ReadCommitted: newest revision; no conflict check.
// Each scenario below writes from a second client inside apply's first run;
// the table of expected outcomes differs between every pair of levels, so a
// level mapped to another one fails its test.

// What one level must do in each scenario.
struct LevelExpectation {
  bool retries_on_read_key;     // ReadKeyChanged
  bool retries_on_written_key;  // WrittenKeyChanged
  bool pins_later_reads;        // LaterReadSeesTheSnapshot
  bool repeats_a_read;          // RepeatedRead: a second Get of a key returns the first value
};

class StmIsolationTest : public RecipesIsolationTest {
 protected:
  void SetUp() override {
    RecipesIsolationTest::SetUp();
    if (HasFatalFailure()) return;
    stm_client_ = NewClient();
    other_client_ = NewClient();
    ASSERT_NE(stm_client_, nullptr);
    ASSERT_NE(other_client_, nullptr);
  }

  // Runs `apply` under `iso`; `apply` gets the run number (1-based) and the
  // other client's KV, which it uses on run 1 to write concurrently. Returns
  // how often apply ran.
  int Run(cc::Isolation iso,
          const std::function<absl::Status(cc::Stm&, int, client::KvClient&)>& apply) {
    client::KvClient other(*other_client_);
    int runs = 0;
    cc::StmOptions o;
    o.isolation = iso;
    o.max_attempts = 5;  // expected: at most 2
    o.wait = Wait::For(absl::Seconds(20));
    absl::StatusOr<etcdserverpb::TxnResponse> r = cc::RunStm(
        *stm_client_, [&](cc::Stm& stm) { return apply(stm, ++runs, other); }, o);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      EXPECT_TRUE(r->succeeded());
    }
    return runs;
  }

  void Put(const std::string& key, const std::string& value) {
    auto r = client::KvClient(*other_client_).Put(key, value);
    ASSERT_TRUE(r.ok()) << key << ": " << r.status();
  }
  std::string Value(const std::string& key) {
    auto r = client::KvClient(*other_client_).Get(key);
    EXPECT_TRUE(r.ok()) << key << ": " << r.status();
    return r.ok() && r->kvs_size() > 0 ? r->kvs(0).value() : "<absent>";
  }

  void CheckLevel(cc::Isolation iso, const std::string& name, const LevelExpectation& want) {
    const std::string p = name + "/";
    {
      SCOPED_TRACE("ReadKeyChanged: apply reads a and copies it to out; a changes before commit");
      Put(p + "r/a", "1");
      std::vector<std::string> seen;
      const int runs = Run(iso, [&](cc::Stm& stm, int run, client::KvClient& other) {
        seen.push_back(stm.Get(p + "r/a"));
        if (run == 1) {
          if (absl::Status s = other.Put(p + "r/a", "2").status(); !s.ok()) return s;
        }
        stm.Put(p + "r/out", seen.back());
        return absl::OkStatus();
      });
      ASSERT_FALSE(seen.empty());
      EXPECT_EQ(seen[0], "1");
      EXPECT_EQ(runs, want.retries_on_read_key ? 2 : 1);
      // A retry copies the new value; ReadCommitted commits the stale one.
      EXPECT_EQ(Value(p + "r/out"), want.retries_on_read_key ? "2" : "1");
    }
    {
      SCOPED_TRACE(
          "WrittenKeyChanged: apply reads a, writes w (not read); w changes before commit");
      Put(p + "w/a", "1");
      Put(p + "w/w", "0");
      const int runs = Run(iso, [&](cc::Stm& stm, int run, client::KvClient& other) {
        (void)stm.Get(p + "w/a");  // fixes the snapshot revision
        if (run == 1) {
          if (absl::Status s = other.Put(p + "w/w", "other").status(); !s.ok()) return s;
        }
        stm.Put(p + "w/w", absl::StrCat("stm", run));
        return absl::OkStatus();
      });
      EXPECT_EQ(runs, want.retries_on_written_key ? 2 : 1);
      EXPECT_EQ(Value(p + "w/w"), want.retries_on_written_key ? "stm2" : "stm1");
    }
    {
      SCOPED_TRACE("BlindWrite: no read, so no snapshot revision to check a write against");
      Put(p + "b/w", "0");
      const int runs = Run(iso, [&](cc::Stm& stm, int run, client::KvClient& other) {
        if (run == 1) {
          if (absl::Status s = other.Put(p + "b/w", "other").status(); !s.ok()) return s;
        }
        stm.Put(p + "b/w", absl::StrCat("stm", run));
        return absl::OkStatus();
      });
      EXPECT_EQ(runs, 1);  // every level, SerializableSnapshot included
      EXPECT_EQ(Value(p + "b/w"), "stm1");
    }
    {
      SCOPED_TRACE("LaterReadSeesTheSnapshot: apply reads a, then b; b changes in between");
      Put(p + "s/a", "1");
      Put(p + "s/b", "old");
      ASSERT_OK_AND_ASSIGN(b0, client::KvClient(*other_client_).Get(p + "s/b"));
      const int64_t b_old_rev = b0.kvs(0).mod_revision();
      std::vector<std::string> seen;
      std::vector<int64_t> seen_rev;
      const int runs = Run(iso, [&](cc::Stm& stm, int run, client::KvClient& other) {
        (void)stm.Get(p + "s/a");
        if (run == 1) {
          if (absl::Status s = other.Put(p + "s/b", "new").status(); !s.ok()) return s;
        }
        seen.push_back(stm.Get(p + "s/b"));
        seen_rev.push_back(stm.Rev(p + "s/b"));
        stm.Put(p + "s/out", seen.back());
        return absl::OkStatus();
      });
      ASSERT_FALSE(seen.empty());
      if (want.pins_later_reads) {
        // Run 1 read b at a's revision: the old b, which then conflicts.
        EXPECT_EQ(seen[0], "old");
        EXPECT_EQ(seen_rev[0], b_old_rev);
        EXPECT_EQ(runs, 2);
      } else {
        // Run 1 read the newest b: nothing it read changed since.
        EXPECT_EQ(seen[0], "new");
        EXPECT_GT(seen_rev[0], b_old_rev);
        EXPECT_EQ(runs, 1);
      }
      EXPECT_EQ(seen.back(), "new");
      EXPECT_EQ(Value(p + "s/out"), "new");
    }
    {
      SCOPED_TRACE("RepeatedRead: apply reads a twice; a changes in between");
      Put(p + "p/a", "1");
      std::vector<std::string> seen;
      const int runs = Run(iso, [&](cc::Stm& stm, int run, client::KvClient& other) {
        const std::string first = stm.Get(p + "p/a");
        if (run == 1) {
          if (absl::Status s = other.Put(p + "p/a", "2").status(); !s.ok()) return s;
        }
        seen.push_back(first + "," + stm.Get(p + "p/a"));
        stm.Put(p + "p/out", seen.back());
        return absl::OkStatus();
      });
      ASSERT_FALSE(seen.empty());
      EXPECT_EQ(runs, want.retries_on_read_key ? 2 : 1);
      if (want.repeats_a_read) {
        EXPECT_EQ(seen[0], "1,1");
        EXPECT_EQ(Value(p + "p/out"), want.retries_on_read_key ? "2,2" : "1,1");
      }
    }
  }

  std::unique_ptr<client::Client> stm_client_;
  std::unique_ptr<client::Client> other_client_;
};

TEST_F(StmIsolationTest, SerializableSnapshotRetriesOnReadOrWrittenKeyAndPinsReads) {
  CheckLevel(cc::Isolation::kSerializableSnapshot, "ss",
             {.retries_on_read_key = true,
              .retries_on_written_key = true,
              .pins_later_reads = true,
              .repeats_a_read = true});
}

TEST_F(StmIsolationTest, SerializableRetriesOnReadKeyOnlyAndPinsReads) {
  CheckLevel(cc::Isolation::kSerializable, "ser",
             {.retries_on_read_key = true,
              .retries_on_written_key = false,
              .pins_later_reads = true,
              .repeats_a_read = true});
}

TEST_F(StmIsolationTest, RepeatableReadsRetriesOnReadKeyAndReadsTheNewest) {
  CheckLevel(cc::Isolation::kRepeatableReads, "rr",
             {.retries_on_read_key = true,
              .retries_on_written_key = false,
              .pins_later_reads = false,
              .repeats_a_read = true});
}

// As clientv3's (stm.fetch consults rset first), a key's first read is kept
// for the rest of the attempt.
TEST_F(StmIsolationTest, ReadCommittedNeverRetriesAndCommitsStaleReads) {
  CheckLevel(cc::Isolation::kReadCommitted, "rc",
             {.retries_on_read_key = false,
              .retries_on_written_key = false,
              .pins_later_reads = false,
              .repeats_a_read = true});
}

}  // namespace
}  // namespace quorum::integration
