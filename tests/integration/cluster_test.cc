// In-process cluster tests (issue #4): 3- and 5-member clusters of real
// Servers over gRPC on 127.0.0.1, partitions through PeerFaults.
//
// Speed: heartbeat 30 ms, election 300 ms, and fsync off (unsafe_no_fsync)
// except in RestartedMemberCatchesUpByLog, which keeps production
// durability. A "crash" stop cuts the member's peer traffic before
// Shutdown, so a leader cannot hand leadership over (see TestCluster::Stop).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "status_assertions.h"
#include "test_cluster.h"

namespace quorum::integration {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::unique_ptr<TestCluster> StartOrDie(ClusterOptions o) {
  auto c = TestCluster::Start(o);
  if (!c.ok()) {
    ADD_FAILURE() << "cluster did not start: " << c.status();
    return nullptr;
  }
  return std::move(*c);
}

std::vector<int> Others(const TestCluster& c, const std::vector<int>& not_these) {
  std::vector<int> out;
  for (int i = 0; i < c.size(); ++i) {
    if (std::find(not_these.begin(), not_these.end(), i) == not_these.end()) out.push_back(i);
  }
  return out;
}

// Puts key<prefix><n> = v<n> for n in [0, count) through `member`, each acked.
// A put that fails (e.g. an election on a starved machine) is retried with
// the same value until a deadline: callers check values, not revisions.
void PutMany(TestCluster& c, int member, const std::string& prefix, int count) {
  for (int n = 0; n < count; ++n) {
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    auto r = c.Put(member, absl::StrCat(prefix, n), absl::StrCat("v", n));
    while (!r.ok() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = c.Put(member, absl::StrCat(prefix, n), absl::StrCat("v", n));
    }
    ASSERT_TRUE(r.ok()) << "put " << prefix << n << " via " << c.Name(member) << ": " << r.status()
                        << "\n" << c.Describe();
  }
}

void ExpectAll(TestCluster& c, int member, const std::string& prefix, int count, bool serializable) {
  for (int n = 0; n < count; ++n) {
    auto r = c.Get(member, absl::StrCat(prefix, n), serializable);
    ASSERT_TRUE(r.ok()) << c.Name(member) << " get " << prefix << n << ": " << r.status();
    ASSERT_EQ(r->value, std::optional<std::string>(absl::StrCat("v", n)))
        << c.Name(member) << (serializable ? " serializable" : " linearizable") << " get " << prefix << n;
  }
}

TEST(ClusterTest, WritesOnAnyMemberAreReadLinearizablyEverywhere) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  int64_t last_rev = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < c->size(); ++i) {
      const std::string value = absl::StrCat("from-", c->Name(i), "-", round);
      ASSERT_OK_AND_ASSIGN(rev, c->Put(i, "k", value));
      EXPECT_GT(rev, last_rev);
      last_rev = rev;
      // The very next linearizable read on every member sees the acked write.
      for (int j = 0; j < c->size(); ++j) {
        ASSERT_OK_AND_ASSIGN(got, c->Get(j, "k"));
        EXPECT_EQ(got.value, value) << "linearizable read on " << c->Name(j) << " after put on "
                                    << c->Name(i);
        EXPECT_GE(got.revision, rev);
      }
    }
  }
  // Serializable reads are local: each member gets there by itself.
  for (int j = 0; j < c->size(); ++j) {
    ASSERT_OK(c->WaitForValue(j, "k", absl::StrCat("from-", c->Name(c->size() - 1), "-2")));
  }
  ASSERT_OK(c->WaitConverged());
}

class ElectionTest : public ::testing::TestWithParam<int> {};

TEST_P(ElectionTest, LeaderCrashElectsNewLeaderAndLosesNoAckedWrite) {
  ClusterOptions o;
  o.size = GetParam();
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  // A 5-member cluster survives two crashed leaders, a 3-member one.
  const int crashes = (o.size - 1) / 2;
  std::vector<int> down;
  for (int round = 0; round < crashes; ++round) {
    const std::string prefix = absl::StrCat("r", round, "-");
    ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
    PutMany(*c, c->RunningMembers()[round % c->RunningMembers().size()], prefix, 30);
    ASSERT_OK_AND_ASSIGN(before, c->Status(leader));
    down.push_back(leader);
    const auto survivors = Others(*c, down);
    // The leader vanishes for the others the moment its traffic is cut;
    // Stop() then shuts it down (a crash: no leadership handover). Timing
    // from the cut measures the election, not Server::Shutdown.
    const auto t0 = Clock::now();
    c->Isolate(leader);
    ASSERT_OK_AND_ASSIGN(next, c->WaitForLeader(survivors));
    const double took = MsSince(t0);
    ASSERT_OK(c->Stop(leader));
    c->HealAll();  // the stopped member stays cut off until it restarts
    std::printf("round %d: %s crashed, %s leads after %.0f ms (election timeout %d ms)\n", round,
                c->Name(leader).c_str(), c->Name(next).c_str(), took, o.election_ms);
    EXPECT_NE(next, leader);
    // "A few election timeouts": randomized timeout in [1, 2) x election,
    // plus pre-vote and vote rounds; 10x leaves room for a loaded machine.
    EXPECT_LT(took, 10.0 * o.election_ms) << c->Describe();
    ASSERT_OK_AND_ASSIGN(after, c->Status(next));
    EXPECT_GT(after.raftterm(), before.raftterm());
    // Every acked write, of this round and the earlier ones, on every survivor.
    for (int s : survivors) {
      for (int r = 0; r <= round; ++r) ExpectAll(*c, s, absl::StrCat("r", r, "-"), 30, false);
    }
    ASSERT_OK(c->Put(survivors.back(), "after-crash", prefix).status());
  }
  // The crashed members come back on their data dirs and catch up.
  for (int d : down) ASSERT_OK(c->Restart(d));
  ASSERT_OK(c->WaitForLeader().status());
  ASSERT_OK(c->WaitConverged());
  for (int d : down) {
    for (int r = 0; r < crashes; ++r) ExpectAll(*c, d, absl::StrCat("r", r, "-"), 30, true);
  }
}

TEST_P(ElectionTest, IsolatedLeaderWithMinorityCannotCommit) {
  ClusterOptions o;
  o.size = GetParam();
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  ASSERT_OK(c->Put(0, "k", "before").status());
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  // Minority: the leader alone (3) or the leader and one follower (5).
  std::vector<int> minority = {leader};
  if (o.size == 5) minority.push_back((leader + 1) % o.size);
  const std::vector<int> majority = Others(*c, minority);
  c->Partition(minority);

  // A put sent to the isolated leader right away: it may append it, but can
  // never commit it.
  auto lost = c->Put(leader, "lost", "x", Millis(1500));
  EXPECT_FALSE(lost.ok()) << "isolated leader acknowledged a put at revision " << *lost << "\n"
                          << c->Describe();
  if (o.size == 5) {
    auto lost2 = c->Put(minority[1], "lost2", "y", Millis(1000));
    EXPECT_FALSE(lost2.ok()) << "minority follower acknowledged a put\n" << c->Describe();
  }

  // The majority elects one of its own and commits.
  ASSERT_OK_AND_ASSIGN(next, c->WaitForLeader(majority));
  EXPECT_TRUE(std::find(majority.begin(), majority.end(), next) != majority.end());
  PutMany(*c, next, "maj-", 20);
  ASSERT_OK(c->Put(majority[0], "k", "after").status());

  // The old leader must not serve a stale linearizable read.
  auto stale = c->Get(leader, "k", /*serializable=*/false, Millis(1000));
  if (stale.ok()) {
    EXPECT_EQ(stale->value, "after") << "stale linearizable read from the isolated old leader";
  }

  const auto healed = Clock::now();
  c->HealAll();
  ASSERT_OK(c->WaitForLeader().status());
  ASSERT_OK(c->WaitConverged());
  std::printf("converged %.0f ms after heal\n", MsSince(healed));
  for (int i = 0; i < c->size(); ++i) {
    ExpectAll(*c, i, "maj-", 20, /*serializable=*/true);
    ASSERT_OK_AND_ASSIGN(got, c->Get(i, "lost", /*serializable=*/true));
    EXPECT_EQ(got.value, std::nullopt) << "uncommitted put on the isolated leader became visible on "
                                       << c->Name(i);
    ASSERT_OK_AND_ASSIGN(k, c->Get(i, "k"));
    EXPECT_EQ(k.value, "after");
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ElectionTest, ::testing::Values(3, 5),
                         [](const auto& info) { return absl::StrCat(info.param, "Members"); });

TEST(ClusterTest, IsolatedFollowerCannotCommitAndCatchesUpAfterHeal) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK(c->Put(0, "k", "before").status());
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = (leader + 1) % c->size();
  // An acked put may not be applied on every follower yet: wait for it.
  ASSERT_OK(c->WaitForValue(follower, "k", "before"));
  ASSERT_OK_AND_ASSIGN(term_before, c->Status(leader));
  c->Isolate(follower);

  // Through the isolated follower nothing commits and no linearizable read
  // completes (the outcome of the put is unknown: it may commit after heal).
  EXPECT_FALSE(c->Put(follower, "via-isolated", "x", Millis(1000)).ok());
  auto read = c->Get(follower, "k", /*serializable=*/false, Millis(1000));
  EXPECT_FALSE(read.ok()) << "isolated follower answered a linearizable read";

  // The majority keeps its leader and commits.
  PutMany(*c, leader, "maj-", 30);
  ASSERT_OK(c->Put(leader, "k", "after").status());
  // Local reads on the follower are allowed to be stale, but never invented.
  ASSERT_OK_AND_ASSIGN(local, c->Get(follower, "k", /*serializable=*/true));
  EXPECT_EQ(local.value, "before");

  // Pre-vote: the isolated follower's failed elections never raised its term,
  // so after the heal it cannot depose the leader. (Checked here rather than
  // as "same leader after the heal", which an unrelated election on a starved
  // machine would break.)
  ASSERT_OK_AND_ASSIGN(isolated_status, c->Status(follower));
  EXPECT_EQ(isolated_status.raftterm(), term_before.raftterm()) << c->Describe();

  const auto healed = Clock::now();
  c->HealAll();
  ASSERT_OK(c->WaitForValue(follower, "k", "after"));
  std::printf("isolated follower caught up %.0f ms after heal\n", MsSince(healed));
  ASSERT_OK(c->WaitConverged());
  std::printf("converged %.0f ms after heal\n", MsSince(healed));
  ExpectAll(*c, follower, "maj-", 30, /*serializable=*/true);
}

// Shutdown of a member must not wait for requests it cannot complete. It
// used to take the request timeout (5 s + 2 election timeouts, ~5.3 s here):
// the client gRPC server was shut down (and waited for the pending put)
// before raft, which fails pending requests, was stopped. Fixed in 55557fb.
TEST(ClusterTest, ShutdownIsPromptWithARequestPendingOnAnIsolatedMember) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = (leader + 1) % c->size();
  c->Isolate(follower);
  EXPECT_FALSE(c->Put(follower, "k", "v", Millis(300)).ok());
  const auto t0 = Clock::now();
  ASSERT_OK(c->Stop(follower, /*crash=*/false));
  const double took = MsSince(t0);
  std::printf("shutdown took %.0f ms\n", took);
  // 2 s grace for client RPCs + 1 s for the peer server, + slack.
  EXPECT_LT(took, 3500.0) << "Shutdown waited for the pending request's raft timeout";
}

TEST(ClusterTest, RestartedMemberCatchesUpByLogWithFsync) {
  ClusterOptions o;
  o.unsafe_no_fsync = false;  // production durability in this test
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  PutMany(*c, 0, "a-", 20);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = (leader + 2) % c->size();
  ASSERT_OK(c->WaitConverged());
  ASSERT_OK(c->Stop(follower));
  PutMany(*c, leader, "b-", 100);
  ASSERT_OK(c->Restart(follower));
  // Its own data survived the restart, and the log brings the rest.
  ExpectAll(*c, follower, "a-", 20, /*serializable=*/true);
  ASSERT_OK(c->WaitForValue(follower, "b-99", "v99"));
  ASSERT_OK(c->WaitConverged());
  ExpectAll(*c, follower, "b-", 100, /*serializable=*/true);
  ASSERT_OK(c->Put(follower, "via-restarted", "ok").status());
}

// Writing a snapshot's state file (seconds with a big store) must not hold up
// apply: with every member's file writer held, writes are still acknowledged
// and read back everywhere; released, the snapshots complete.
TEST(ClusterTest, WritesProceedWhileSnapshotFilesAreWritten) {
  absl::Notification release;
  std::atomic<int> held{0};
  ClusterOptions o;
  o.snapshot_count = 50;
  o.before_snapshot_write = [&](const std::string&) {
    ++held;
    release.WaitForNotification();
  };
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  // Declared after the cluster, so it runs first: members join their writer
  // when they stop.
  auto unblock = absl::MakeCleanup([&] {
    if (!release.HasBeenNotified()) release.Notify();
  });
  PutMany(*c, 0, "a-", 60);  // past index 50 on every member
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (held.load() < c->size() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(held.load(), c->size()) << "not every member started a snapshot\n" << c->Describe();
  PutMany(*c, 1, "b-", 100);
  for (int i = 0; i < c->size(); ++i) {
    ExpectAll(*c, i, "b-", 100, /*serializable=*/false);
  }
  release.Notify();
  // The next snapshot (at 100 entries after the first) goes through as well.
  PutMany(*c, 2, "c-", 60);
  ASSERT_OK(c->WaitConverged());
  ExpectAll(*c, 0, "c-", 60, /*serializable=*/true);
}

// A follower that still hears its leader but cannot reach it: its linearizable
// reads must fail with etcd's "request timed out" once the request timeout
// passes — also the reads that arrive while a ReadIndex round is in flight,
// and although the unanswered round keeps being retried — never hang.
TEST(ClusterTest, ReadsOnAFollowerThatCannotReachItsLeaderTimeOut) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK(c->Put(0, "k", "v").status());
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = (leader + 1) % c->size();
  c->CutOneWay(follower, leader);
  constexpr int kReads = 4;
  std::atomic<int> timed_out{0};
  std::vector<std::string> others(kReads);
  std::vector<std::thread> readers;
  const auto t0 = Clock::now();
  for (int i = 0; i < kReads; ++i) {
    readers.emplace_back([&, i] {
      // Staggered: the later ones arrive while the first round is in flight.
      std::this_thread::sleep_for(std::chrono::milliseconds(40 * i));
      auto r = c->Get(follower, "k", /*serializable=*/false, Millis(20000));
      if (!r.ok() && absl::StrContains(r.status().message(), "request timed out")) {
        ++timed_out;
      } else {
        others[i] = r.ok() ? "ok" : r.status().ToString();
      }
    });
  }
  for (auto& t : readers) t.join();
  std::printf("%d reads answered after %.0f ms\n", kReads, MsSince(t0));
  EXPECT_EQ(timed_out.load(), kReads) << absl::StrJoin(others, " | ");
  c->HealAll();
  ASSERT_OK_AND_ASSIGN(r, c->Get(follower, "k", /*serializable=*/false, Millis(5000)));
  EXPECT_EQ(r.value, std::optional<std::string>("v"));
}

// A follower that missed an entry gets a ReadIndex answer above what it has
// applied; the read must be served as soon as the entry arrives and is
// applied, also when that apply is a small one done on the loop's thread (it
// used to wait for the next write or the request timeout).
TEST(ClusterTest, ALinearizableReadOnALaggingFollowerIsServedOnceItCatchesUp) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK(c->Put(0, "k", "v0").status());
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = (leader + 1) % c->size();
  ASSERT_OK(c->WaitForValue(follower, "k", "v0"));
  double slowest = 0;
  for (int round = 1; round <= 10; ++round) {
    const std::string want = absl::StrCat("v", round);
    c->CutOneWay(leader, follower);  // shorter than an election timeout
    ASSERT_OK(c->Put(leader, "k", want).status());
    c->HealAll();
    const auto t0 = Clock::now();
    auto r = c->Get(follower, "k", /*serializable=*/false, Millis(3000));
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.status();
    EXPECT_EQ(r->value, std::optional<std::string>(want)) << "round " << round;
    slowest = std::max(slowest, MsSince(t0));
  }
  std::printf("slowest read on the lagging follower: %.0f ms\n", slowest);
}

// Index of the newest <term>-<index>.snap file in `dir` (0: none).
uint64_t NewestSnapshotIndex(const std::filesystem::path& dir) {
  uint64_t newest = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    const size_t dash = name.find('-');
    if (f.path().extension() != ".snap" || dash == std::string::npos) continue;
    newest = std::max<uint64_t>(newest, std::stoull(name.substr(dash + 1), nullptr, 16));
  }
  return newest;
}

// The member's raft log keeps 5000 entries after a snapshot
// (RaftMemberOptions::snapshot_catchup_entries, not a ServerConfig field), so
// a member must miss more than that to need a snapshot.
// A snapshot that falls due while the previous file is still being written
// is taken once that write ends, even if no write follows: the applies that
// made it due skipped their check (one file at a time), and nothing else
// would check again, so the log stayed uncompacted until the next write.
TEST(ClusterTest, SnapshotDueDuringAFileWriteIsTakenWithoutFurtherWrites) {
  absl::Notification release;
  std::atomic<int> held{0};
  ClusterOptions o;
  o.snapshot_count = 50;
  o.before_snapshot_write = [&](const std::string&) {
    if (held.fetch_add(1) < 3) release.WaitForNotification();  // the first file of each member
  };
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  auto unblock = absl::MakeCleanup([&] {
    if (!release.HasBeenNotified()) release.Notify();
  });
  PutMany(*c, 0, "a-", 60);
  const auto held_deadline = Clock::now() + std::chrono::seconds(10);
  while (held.load() < c->size() && Clock::now() < held_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(held.load(), c->size()) << c->Describe();
  PutMany(*c, 0, "b-", 120);  // another snapshot due on every member, none taken
  ASSERT_OK(c->WaitConverged());
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const auto snap_dir = std::filesystem::path(c->DataDir(leader)) / "member" / "snap";
  const uint64_t first = NewestSnapshotIndex(snap_dir);
  release.Notify();
  // No more writes: the second snapshot must still come, past the b- keys.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (NewestSnapshotIndex(snap_dir) < first + 120 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(NewestSnapshotIndex(snap_dir), first + 120) << "first " << first << "\n"
                                                         << c->Describe();
}

TEST(ClusterTest, LaggingMemberCatchesUpBySnapshot) {
  ClusterOptions o;
  o.snapshot_count = 50;
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  PutMany(*c, 0, "early-", 10);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = (leader + 1) % c->size();
  ASSERT_OK(c->Stop(follower));

  constexpr int kWriters = 8, kPerWriter = 680;  // 5440 entries
  std::atomic<int> failures{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int n = 0; n < kPerWriter; ++n) {
        auto r = c->Put(leader, absl::StrCat("w", w, "-", n % 100), absl::StrCat("v", n), Millis(5000));
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  std::printf("%d puts in %.0f ms while %s was down\n", kWriters * kPerWriter, MsSince(t0),
              c->Name(follower).c_str());
  ASSERT_EQ(failures.load(), 0) << c->Describe();
  PutMany(*c, leader, "late-", 10);
  // Snapshot files are written in the background (at low priority), so on a
  // busy machine the leader's log may not be compacted yet: wait until it
  // has a snapshot far enough ahead that the follower's next entry is gone.
  const uint64_t want = kWriters * kPerWriter - 340;  // > follower's index + 5000
  const auto snap_dir = std::filesystem::path(c->DataDir(leader)) / "member" / "snap";
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (NewestSnapshotIndex(snap_dir) < want && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(NewestSnapshotIndex(snap_dir), want) << "the leader took no late enough snapshot";

  // It gets there by a snapshot, received into member/snap/recv. Watched
  // from the restart on: applying the rest of the leader's log (up to ~350
  // entries past its snapshot, with --snapshot-count 50) can make the
  // follower write its own snapshot and prune the received file before a
  // look afterwards.
  const auto recv = std::filesystem::path(c->DataDir(follower)) / "member" / "snap" / "recv";
  auto received_files = [&] {
    int n = 0;
    std::error_code dir_ec;
    for (const auto& f : std::filesystem::directory_iterator(recv, dir_ec)) {
      if (f.path().extension() == ".snap") ++n;
    }
    return n;
  };
  std::atomic<bool> caught_up{false}, saw_received{false};
  std::thread watcher([&] {
    while (!caught_up.load() && !saw_received.load()) {
      if (received_files() > 0) saw_received = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  absl::Cleanup stop_watcher = [&] {
    caught_up = true;
    watcher.join();
  };
  ASSERT_OK(c->Restart(follower));
  ASSERT_OK(c->WaitForValue(follower, "late-9", "v9"));
  ASSERT_OK(c->WaitConverged());
  std::move(stop_watcher).Invoke();
  ExpectAll(*c, follower, "early-", 10, /*serializable=*/true);
  ExpectAll(*c, follower, "late-", 10, /*serializable=*/true);
  ASSERT_OK_AND_ASSIGN(r, c->Get(follower, absl::StrCat("w", kWriters - 1, "-", 79), true));
  EXPECT_EQ(r.value, absl::StrCat("v", kPerWriter - 1));
  EXPECT_TRUE(saw_received.load()) << "no snapshot file appeared in " << recv;
  // Once the follower writes a snapshot of its own past that index, the
  // received file is covered and deleted (before, they piled up forever).
  PutMany(*c, leader, "after-", 150);
  const auto prune_deadline = Clock::now() + std::chrono::seconds(30);
  while (received_files() > 0 && Clock::now() < prune_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(received_files(), 0) << "received snapshot files left in " << recv;
  ExpectAll(*c, follower, "after-", 150, /*serializable=*/false);
}

TEST(ClusterTest, MemberAddJoinsCatchesUpAndRemoveStopsIt) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  PutMany(*c, 0, "pre-", 100);
  ASSERT_OK_AND_ASSIGN(added, c->AddMember());
  ASSERT_OK(c->WaitForValue(added, "pre-99", "v99"));
  ASSERT_OK(c->WaitForLeader().status());
  ASSERT_OK(c->WaitConverged());
  ExpectAll(*c, added, "pre-", 100, /*serializable=*/true);
  ASSERT_OK(c->Put(added, "via-new", "ok").status());
  for (int i = 0; i < c->size(); ++i) {
    ASSERT_OK_AND_ASSIGN(got, c->Get(i, "via-new"));
    EXPECT_EQ(got.value, "ok") << c->Name(i);
  }
  {
    grpc::ClientContext ctx;
    etcdserverpb::MemberListResponse list;
    ASSERT_OK(FromGrpc(c->Cluster(added)->MemberList(&ctx, {}, &list)));
    EXPECT_EQ(list.members_size(), 4);
  }
  // A 4-member cluster needs 3 for a quorum: stopping one still commits.
  ASSERT_OK(c->Stop(0));
  ASSERT_OK(c->Put(added, "three-of-four", "ok", Millis(5000)).status());
  ASSERT_OK(c->Restart(0));

  ASSERT_OK(c->RemoveMember(added));
  ASSERT_OK(c->WaitRemovedMemberStopped(added));
  std::vector<int> rest = {0, 1, 2};
  ASSERT_OK(c->WaitForLeader(rest).status());
  ASSERT_OK(c->Put(0, "after-remove", "ok").status());
  ASSERT_OK(c->WaitConverged(rest));
  grpc::ClientContext ctx;
  etcdserverpb::MemberListResponse list;
  ASSERT_OK(FromGrpc(c->Cluster(1)->MemberList(&ctx, {}, &list)));
  EXPECT_EQ(list.members_size(), 3);
}

// etcd's --strict-reconfig-check (on by default): with one of three members
// down, removing another live voter would leave no quorum, so it is refused,
// on the leader with etcd's error and through a follower by the leader's
// admission check; the member that is down may be removed. Then the learner
// limit and peer URL uniqueness.
TEST(ClusterTest, StrictReconfigRefusesChangesThatWouldLoseTheQuorum) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const auto followers = Others(*c, {leader});
  const int down = followers[0], live = followers[1];
  ASSERT_OK(c->Stop(down));
  std::this_thread::sleep_for(Millis(1500));  // past the leader's activity window
  ASSERT_OK_AND_ASSIGN(still_leader, c->WaitForLeader(std::vector<int>{leader, live}));
  ASSERT_EQ(still_leader, leader);
  auto remove = [&](int via, int who, Millis deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    etcdserverpb::MemberRemoveRequest req;
    req.set_id(c->Id(who));
    etcdserverpb::MemberRemoveResponse resp;
    return c->Cluster(via)->MemberRemove(&ctx, req, &resp);
  };
  grpc::Status st = remove(leader, live, Millis(5000));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "etcdserver: unhealthy cluster");
  // Through a follower: the leader's admission check refuses it, and its
  // reason reaches the follower's caller at once (a refusal record in the
  // log), not a timeout.
  auto t0 = Clock::now();
  st = remove(live, live, Millis(5000));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "etcdserver: unhealthy cluster");
  EXPECT_LT(MsSince(t0), 2000);
  auto add = [&](int via, const std::string& url, bool learner) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + Millis(5000));
    etcdserverpb::MemberAddRequest req;
    req.add_peerurls(url);
    req.set_islearner(learner);
    etcdserverpb::MemberAddResponse resp;
    return c->Cluster(via)->MemberAdd(&ctx, req, &resp);
  };
  st = add(leader, "http://127.0.0.1:1", /*learner=*/false);
  EXPECT_EQ(st.error_message(), "etcdserver: unhealthy cluster");
  t0 = Clock::now();
  st = add(live, "http://127.0.0.1:1", /*learner=*/false);
  EXPECT_EQ(st.error_message(), "etcdserver: unhealthy cluster");
  EXPECT_LT(MsSince(t0), 2000);
  {
    grpc::ClientContext ctx;
    etcdserverpb::MemberListResponse list;
    ASSERT_OK(FromGrpc(c->Cluster(leader)->MemberList(&ctx, {}, &list)));
    EXPECT_EQ(list.members_size(), 3);
  }
  // The member that is down is no part of the active quorum: it may go.
  ASSERT_OK(FromGrpc(remove(leader, down, Millis(5000))));
  ASSERT_OK(c->Put(leader, "after", "ok").status());
  // One learner at a time.
  ASSERT_OK(FromGrpc(add(live, "http://127.0.0.1:2", /*learner=*/true)));
  st = add(live, "http://127.0.0.1:3", /*learner=*/true);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "etcdserver: too many learner members in cluster");
  // No two members with one peer URL.
  {
    grpc::ClientContext ctx;
    etcdserverpb::MemberListResponse list;
    ASSERT_OK(FromGrpc(c->Cluster(leader)->MemberList(&ctx, {}, &list)));
    std::string leader_url;
    for (const auto& m : list.members()) {
      if (m.id() == c->Id(leader)) leader_url = m.peerurls(0);
    }
    grpc::ClientContext uctx;
    etcdserverpb::MemberUpdateRequest req;
    req.set_id(c->Id(live));
    req.add_peerurls(leader_url);
    etcdserverpb::MemberUpdateResponse resp;
    st = c->Cluster(live)->MemberUpdate(&uctx, req, &resp);
    EXPECT_EQ(st.error_message(), "etcdserver: Peer URLs already exists");
  }
}

// A learner that never started is not in sync: promoting it is refused
// with etcd's error through the leader and, as fast, through a follower
// (whose own check cannot see the learner's progress: the leader's refusal
// comes back through the log).
TEST(ClusterTest, PromotingALearnerNotInSyncIsRefusedThroughAnyMember) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = Others(*c, {leader})[0];
  uint64_t learner = 0;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + Millis(5000));
    etcdserverpb::MemberAddRequest req;
    req.add_peerurls("http://127.0.0.1:2");
    req.set_islearner(true);
    etcdserverpb::MemberAddResponse resp;
    ASSERT_OK(FromGrpc(c->Cluster(leader)->MemberAdd(&ctx, req, &resp)));
    learner = resp.member().id();
  }
  for (int via : {leader, follower}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + Millis(5000));
    etcdserverpb::MemberPromoteRequest req;
    req.set_id(learner);
    etcdserverpb::MemberPromoteResponse resp;
    const auto t0 = Clock::now();
    grpc::Status st = c->Cluster(via)->MemberPromote(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << c->Name(via);
    EXPECT_EQ(st.error_message(),
              "etcdserver: can only promote a learner member which is in sync with leader");
    EXPECT_LT(MsSince(t0), 2000) << c->Name(via);
  }
}

// Two MemberUpdate calls giving one peer URL to two members, through two
// members at once: updates are raft conf changes (one in flight, checked by
// the leader against its applied list), so at most one takes the URL; the
// other is refused (etcd's error) or, if it came while the first was in
// flight, dropped by raft and timed out. Every member agrees.
TEST(ClusterTest, ConcurrentUpdatesCannotGiveOnePeerUrlToTwoMembers) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const auto followers = Others(*c, {leader});
  const std::string url = "http://127.0.0.1:3";
  std::vector<grpc::Status> results(2);
  std::vector<std::thread> calls;
  for (int k = 0; k < 2; ++k) {
    calls.emplace_back([&, k] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + Millis(20000));
      etcdserverpb::MemberUpdateRequest req;
      req.set_id(c->Id(followers[k]));
      req.add_peerurls(url);
      etcdserverpb::MemberUpdateResponse resp;
      results[k] = c->Cluster(k == 0 ? leader : followers[1])->MemberUpdate(&ctx, req, &resp);
    });
  }
  for (auto& t : calls) t.join();
  const int ok = results[0].ok() + results[1].ok();
  EXPECT_EQ(ok, 1) << results[0].error_message() << " / " << results[1].error_message();
  for (const auto& r : results) {
    if (r.ok()) continue;
    EXPECT_TRUE(r.error_message() == "etcdserver: Peer URLs already exists" ||
                r.error_message() == "etcdserver: request timed out")
        << r.error_message();
  }
  grpc::ClientContext ctx;
  etcdserverpb::MemberListResponse list;
  ASSERT_OK(FromGrpc(c->Cluster(leader)->MemberList(&ctx, {}, &list)));
  int with_url = 0;
  for (const auto& m : list.members()) {
    for (const auto& u : m.peerurls()) with_url += u == url;
  }
  EXPECT_EQ(with_url, 1);
}

// MemberList with `linearizable` (etcd 3.5) answers only what the cluster
// agrees on: an isolated follower cannot, where a plain list is served from
// its local state at once.
TEST(ClusterTest, LinearizableMemberListNeedsTheQuorum) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int follower = Others(*c, {leader})[0];
  auto list = [&](int i, bool linearizable) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + Millis(1500));
    etcdserverpb::MemberListRequest req;
    req.set_linearizable(linearizable);
    etcdserverpb::MemberListResponse resp;
    grpc::Status st = c->Cluster(i)->MemberList(&ctx, req, &resp);
    return std::make_pair(st, resp.members_size());
  };
  EXPECT_EQ(list(follower, true).second, 3);
  c->Isolate(follower);
  auto plain = list(follower, false);
  EXPECT_TRUE(plain.first.ok()) << plain.first.error_message();
  EXPECT_EQ(plain.second, 3);
  EXPECT_FALSE(list(follower, true).first.ok());
  c->HealAll();
}

// Members that join later replay the earlier membership changes and must end
// with the same raft configuration: a cluster grown from one member to three
// keeps a quorum of the two joiners once the founder is gone.
TEST(ClusterTest, ClusterGrownFromOneMemberSurvivesTheFoundersLoss) {
  ClusterOptions o;
  o.size = 1;
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  ASSERT_OK(c->Put(0, "k", "v").status());
  ASSERT_OK_AND_ASSIGN(second, c->AddMember());
  ASSERT_OK(c->WaitForValue(second, "k", "v"));
  ASSERT_OK(c->WaitConverged());
  std::this_thread::sleep_for(Millis(500));  // the joiner publishes its name
  ASSERT_OK_AND_ASSIGN(third, c->AddMember());
  ASSERT_OK(c->WaitForValue(third, "k", "v"));
  ASSERT_OK(c->WaitConverged());
  ASSERT_OK(c->Stop(0));
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader(std::vector<int>{second, third}));
  ASSERT_OK(c->Put(leader, "after-founder", "ok", Millis(5000)).status());
}

// Without the strict check a removal of the last voter reaches the log;
// raft refuses it where it is applied (etcd's raft panics there). The
// member list and the member must stay as they were.
TEST(ClusterTest, RemovingTheLastVoterIsRefusedAndChangesNothing) {
  ClusterOptions o;
  o.size = 1;
  o.strict_reconfig_check = false;
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + Millis(5000));
  etcdserverpb::MemberRemoveRequest req;
  req.set_id(c->Id(0));
  etcdserverpb::MemberRemoveResponse resp;
  grpc::Status st = c->Cluster(0)->MemberRemove(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "removed all voters");
  grpc::ClientContext lctx;
  etcdserverpb::MemberListResponse list;
  ASSERT_OK(FromGrpc(c->Cluster(0)->MemberList(&lctx, {}, &list)));
  ASSERT_EQ(list.members_size(), 1);
  EXPECT_EQ(list.members(0).id(), c->Id(0));
  ASSERT_OK(c->Put(0, "after", "ok", Millis(5000)).status());
}

// The removal commits while the member is cut off, so it never sees it in
// its log; once healed it must find out from its peers and stop (etcd does).
TEST(ClusterTest, MemberRemovedWhileIsolatedStopsAfterHeal) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  const int victim = (leader + 1) % c->size();
  c->Isolate(victim);
  ASSERT_OK(c->RemoveMember(victim));
  const auto rest = Others(*c, {victim});
  ASSERT_OK(c->Put(rest[0], "after-remove", "ok").status());
  const auto healed = Clock::now();
  c->HealAll();
  ASSERT_OK(c->WaitRemovedMemberStopped(victim));
  std::printf("removed member stopped %.0f ms after heal\n", MsSince(healed));
  ASSERT_OK(c->WaitForLeader(rest).status());
  ASSERT_OK(c->Put(rest[1], "still-serving", "ok").status());
  ASSERT_OK(c->WaitConverged(rest));
}

TEST(ClusterTest, LearnerJoinsAndIsPromoted) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  PutMany(*c, 0, "pre-", 50);
  ASSERT_OK_AND_ASSIGN(learner, c->AddMember(/*learner=*/true));
  ASSERT_OK(c->WaitForValue(learner, "pre-49", "v49"));
  ASSERT_OK_AND_ASSIGN(st, c->Status(learner));
  EXPECT_TRUE(st.islearner());
  // Learners refuse writes and linearizable reads (etcd's rule).
  EXPECT_FALSE(c->Put(learner, "via-learner", "x").ok());
  EXPECT_FALSE(c->Get(learner, "pre-1", /*serializable=*/false).ok());
  ASSERT_OK(c->PromoteMember(learner));
  ASSERT_OK(c->WaitForLeader().status());
  ASSERT_TRUE(PollUntil([&] {
    auto s = c->Status(learner);
    return s.ok() && !s->islearner();
  }, Millis(5000))) << c->Describe();
  ASSERT_OK(c->Put(learner, "via-promoted", "ok").status());
  ASSERT_OK_AND_ASSIGN(got, c->Get(learner, "via-promoted"));
  EXPECT_EQ(got.value, "ok");
  ASSERT_OK(c->WaitConverged());
  ASSERT_OK_AND_ASSIGN(list_leader, c->WaitForLeader());
  // The promoted member can lead.
  ASSERT_OK(c->MoveLeader(learner));
  (void)list_leader;
  ASSERT_OK(c->Put(0, "after-move", "ok").status());
}

TEST(ClusterTest, RemovingTheLeaderStopsItAndTheRestElect) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  PutMany(*c, 0, "pre-", 20);
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  ASSERT_OK(c->RemoveMember(leader, leader));
  ASSERT_OK(c->WaitRemovedMemberStopped(leader));
  const auto rest = Others(*c, {leader});
  ASSERT_OK(c->WaitForLeader(rest).status());
  ASSERT_OK(c->Put(rest[0], "after-remove", "ok", Millis(5000)).status());
  ASSERT_OK(c->WaitConverged(rest));
  for (int i : rest) ExpectAll(*c, i, "pre-", 20, /*serializable=*/true);
}

TEST(ClusterTest, MoveLeaderToAChosenMember) {
  auto c = StartOrDie({});
  ASSERT_TRUE(c);
  for (int round = 0; round < 3; ++round) {
    ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
    const int target = (leader + 1 + round % 2) % c->size();
    const auto t0 = Clock::now();
    ASSERT_OK(c->MoveLeader(target));
    std::printf("moved leadership %s -> %s in %.0f ms\n", c->Name(leader).c_str(),
                c->Name(target).c_str(), MsSince(t0));
    // Writes through the old leader still work (forwarded).
    ASSERT_OK(c->Put(leader, "k", absl::StrCat("round-", round)).status());
    ASSERT_OK_AND_ASSIGN(got, c->Get(target, "k"));
    EXPECT_EQ(got.value, absl::StrCat("round-", round));
  }
  // Two calls moving leadership to the same member at once are both
  // answered (the second used to replace the first caller's callback: that
  // call never finished, and the member could not shut down). The target is
  // cut off, so that neither transfer completes before the second arrives:
  // both are answered with the server's timeout, before the callers' own.
  {
    ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
    const int target = (leader + 1) % c->size();
    c->Isolate(target);
    std::vector<grpc::Status> results(2);
    std::vector<std::thread> calls;
    for (int k = 0; k < 2; ++k) {
      calls.emplace_back([&, k] {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + Millis(10000));
        etcdserverpb::MoveLeaderRequest req;
        req.set_targetid(c->Id(target));
        etcdserverpb::MoveLeaderResponse resp;
        results[k] = c->Maintenance(leader)->MoveLeader(&ctx, req, &resp);
      });
    }
    for (auto& t : calls) t.join();
    for (const auto& r : results) {
      EXPECT_NE(r.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << r.error_message();
      EXPECT_EQ(r.error_message(), "etcdserver: request timed out");
    }
    c->HealAll();
  }
  // MoveLeader to a member that is not there is refused.
  ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
  grpc::ClientContext ctx;
  etcdserverpb::MoveLeaderRequest req;
  req.set_targetid(12345);
  etcdserverpb::MoveLeaderResponse resp;
  EXPECT_FALSE(c->Maintenance(leader)->MoveLeader(&ctx, req, &resp).ok());
}

// Members choose their raft link only for what they send (TCP for http://
// peers unless told otherwise); every member receives both. A cluster where
// one member sends over the gRPC stream replicates and elects like any
// other, whichever member leads.
TEST(ClusterTest, MembersSendingOverDifferentLinksFormOneCluster) {
  ClusterOptions o;
  o.grpc_link_members = {"m1"};
  auto c = StartOrDie(o);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->Name(1), "m1");
  for (int round = 0; round < c->size(); ++round) {
    // Leadership visits every member, so each sends appends as leader.
    ASSERT_OK_AND_ASSIGN(leader, c->WaitForLeader());
    if (leader != round) {
      ASSERT_OK(c->MoveLeader(round));
      ASSERT_OK_AND_ASSIGN(now, c->WaitForLeader());
      ASSERT_EQ(now, round);
    }
    for (int k = 0; k < 20; ++k) {
      ASSERT_OK(c->Put((round + k) % c->size(), absl::StrCat("k", k), absl::StrCat("r", round))
                    .status());
    }
    for (int m = 0; m < c->size(); ++m) {
      ASSERT_OK_AND_ASSIGN(got, c->Get(m, "k19"));
      EXPECT_EQ(got.value, absl::StrCat("r", round)) << "member " << c->Name(m);
    }
  }
}

}  // namespace
}  // namespace quorum::integration
