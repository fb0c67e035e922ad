// Linearizability under faults: client threads run random put / get / cas
// on a few keys against random members of a 3-member cluster while a nemesis
// isolates members (a random one or the leader), cuts single links, heals,
// and crash-stops and restarts members. The recorded history must be linearizable
// (linearizability.h); on a violation the offending key's history is printed.
//
// Bounds: QUORUM_SOAK_SECONDS (default 20) of load, at most kMaxOps
// operations in CI mode (kMaxSoakOps, a memory bound, in soak mode), 1.5 s per operation,
// 30 s (CI) for the search. QUORUM_NEMESIS_SEED replays a nemesis schedule
// (client timing still varies from run to run).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "linearizability.h"
#include "test_cluster.h"

namespace quorum::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kClients = 6;
constexpr int kKeys = 4;
constexpr size_t kMaxOps = 30000;       // CI mode
constexpr size_t kMaxSoakOps = 1000000;  // soak mode: bounds memory only
constexpr Millis kOpTimeout{1500};

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

struct Counters {
  std::atomic<int> ok{0}, indeterminate{0}, faults{0};
};

void RunClient(TestCluster& c, int client, uint64_t seed, size_t max_ops,
               const std::atomic<bool>& stop, History& history, Counters& counters) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<std::optional<std::string>> last_seen(kKeys);
  std::vector<Clock::time_point> avoid_until(c.size(), Clock::time_point::min());
  int seq = 0;
  while (!stop.load() && history.size() < max_ops) {
    int member = pick(c.size());
    // After an error, leave that member alone for a moment, as a client
    // failing over would (keeps a stopped member from flooding the history
    // with indeterminate ops).
    for (int tries = 0; tries < c.size() && Clock::now() < avoid_until[member]; ++tries) {
      member = (member + 1) % c.size();
    }
    const int k = pick(kKeys);
    Operation op;
    op.client = client;
    op.key = absl::StrCat("nk", k);
    op.note = c.Name(member);
    const int dice = pick(100);
    absl::Status err;
    op.call = OpClock::now();
    if (dice < 40) {
      op.kind = OpKind::kGet;
      auto r = KvGet(c.Kv(member), op.key, /*serializable=*/false, kOpTimeout);
      op.ret = OpClock::now();
      if (r.ok()) {
        op.read = r->value;
        last_seen[k] = r->value;
      } else {
        err = r.status();
      }
    } else if (dice < 75) {
      op.kind = OpKind::kPut;
      op.value = absl::StrCat("c", client, "-", seq++);
      auto r = KvPut(c.Kv(member), op.key, op.value, kOpTimeout);
      op.ret = OpClock::now();
      if (r.ok()) {
        last_seen[k] = op.value;
      } else {
        err = r.status();
      }
    } else {
      op.kind = OpKind::kCas;
      op.value = absl::StrCat("c", client, "-", seq++);
      op.expected = last_seen[k];
      auto r = KvCas(c.Kv(member), op.key, op.expected, op.value, kOpTimeout);
      op.ret = OpClock::now();
      if (r.ok()) {
        op.succeeded = r->succeeded;
        if (r->succeeded) {
          last_seen[k] = op.value;
        } else {
          op.has_failure_read = true;
          op.read = r->current;
          last_seen[k] = r->current;
        }
      } else {
        err = r.status();
      }
    }
    if (!err.ok()) {
      op.indeterminate = true;
      op.note = absl::StrCat(op.note, ": ", err.ToString());
      ++counters.indeterminate;
      avoid_until[member] = Clock::now() + Millis(300);
      std::this_thread::sleep_for(Millis(10));
    } else {
      ++counters.ok;
    }
    history.Add(std::move(op));
  }
}

// One fault at a time, each followed by a heal and a quiet spell.
void RunNemesis(TestCluster& c, uint64_t seed, Clock::time_point until, std::string* log,
                Counters& counters) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const auto t0 = Clock::now();
  auto stamp = [&] {
    return absl::StrCat("[", std::chrono::duration_cast<Millis>(Clock::now() - t0).count(), " ms] ");
  };
  while (Clock::now() + Millis(2500) < until) {
    // 0: isolate a random member, 1: isolate the leader, 2: crash-stop and
    // restart a member, 3: cut one link only (leader <-> a follower, or
    // between followers: a non-transitive partition).
    const int action = pick(4);
    const Millis hold(800 + pick(1200));
    int target = pick(c.size());
    if (action == 1 || (action == 3 && pick(2) == 0)) {
      auto l = c.WaitForLeader(std::nullopt, Millis(3000));
      if (l.ok()) target = *l;
    }
    ++counters.faults;
    if (action == 3) {
      const int other = (target + 1 + pick(c.size() - 1)) % c.size();
      absl::StrAppend(log, stamp(), "cut ", c.Name(target), " <-> ", c.Name(other), " for ",
                      hold.count(), " ms\n");
      c.Cut(target, other);
      std::this_thread::sleep_for(hold);
      c.HealAll();
      absl::StrAppend(log, stamp(), "heal\n");
    } else if (action < 2) {
      absl::StrAppend(log, stamp(), "isolate ", c.Name(target), action == 1 ? " (leader)" : "",
                      " for ", hold.count(), " ms\n");
      c.Isolate(target);
      std::this_thread::sleep_for(hold);
      c.HealAll();
      absl::StrAppend(log, stamp(), "heal\n");
    } else {
      absl::StrAppend(log, stamp(), "crash-stop ", c.Name(target), " for ", hold.count(), " ms\n");
      if (auto st = c.Stop(target); !st.ok()) absl::StrAppend(log, "  stop: ", st.ToString(), "\n");
      absl::StrAppend(log, stamp(), "stopped ", c.Name(target), "\n");
      std::this_thread::sleep_for(hold);
      if (auto st = c.Restart(target); !st.ok()) {
        absl::StrAppend(log, "  restart: ", st.ToString(), "\n");
      }
      absl::StrAppend(log, stamp(), "restarted ", c.Name(target), "\n");
    }
    std::this_thread::sleep_for(Millis(500 + pick(700)));
  }
}

// The negative control: a copy of the history with one read made stale (it
// returns a value that an acked put had overwritten, by another acked put,
// before the read began) must be rejected.
bool CorruptOneRead(std::vector<Operation>& ops) {
  for (size_t gi = ops.size(); gi-- > 0;) {
    Operation& g = ops[gi];
    if (g.kind != OpKind::kGet || g.indeterminate) continue;
    for (const Operation& p : ops) {
      if (p.kind != OpKind::kPut || p.indeterminate || p.key != g.key || !(p.ret < g.call)) continue;
      for (const Operation& q : ops) {
        if (q.kind == OpKind::kGet || q.indeterminate || q.key != g.key || !(q.call > p.ret) ||
            !(q.ret < g.call) || (q.kind == OpKind::kCas && !q.succeeded) || g.read == p.value) {
          continue;
        }
        g.read = p.value;
        return true;
      }
    }
  }
  return false;
}

TEST(NemesisTest, HistoryUnderPartitionsAndCrashesIsLinearizable) {
  const int seconds = EnvInt("QUORUM_SOAK_SECONDS", 20);
  const bool soak = std::getenv("QUORUM_SOAK_SECONDS") != nullptr;
  const size_t max_ops = soak ? kMaxSoakOps : kMaxOps;
  const uint64_t seed = std::getenv("QUORUM_NEMESIS_SEED")
                            ? std::strtoull(std::getenv("QUORUM_NEMESIS_SEED"), nullptr, 10)
                            : static_cast<uint64_t>(Clock::now().time_since_epoch().count()) % 1000000;
  std::printf("nemesis seed %llu (QUORUM_NEMESIS_SEED to replay), %d s\n",
              static_cast<unsigned long long>(seed), seconds);

  ClusterOptions o;
  // Snapshots every 100 applied entries (several per second under this
  // load), so restarts and catch-up run across snapshot boundaries.
  o.snapshot_count = 100;
  auto started = TestCluster::Start(o);
  ASSERT_TRUE(started.ok()) << started.status();
  TestCluster& c = **started;

  History history;
  Counters counters;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { RunClient(c, i, seed * 100 + i, max_ops, stop, history, counters); });
  }
  std::string nemesis_log;
  const auto t0 = Clock::now();
  RunNemesis(c, seed, t0 + std::chrono::seconds(seconds), &nemesis_log, counters);
  while (Clock::now() < t0 + std::chrono::seconds(seconds) && history.size() < max_ops) {
    std::this_thread::sleep_for(Millis(100));
  }
  stop = true;
  for (auto& t : clients) t.join();
  const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();

  // Everything back, then one final linearizable read of each key.
  c.HealAll();
  for (int i = 0; i < c.size(); ++i) {
    if (!c.Running(i)) {
      ASSERT_TRUE(c.Restart(i).ok());
    }
  }
  ASSERT_TRUE(c.WaitForLeader().ok()) << c.Describe();
  auto converged = c.WaitConverged();
  EXPECT_TRUE(converged.ok()) << converged;
  for (int k = 0; k < kKeys; ++k) {
    Operation op;
    op.client = kClients;
    op.kind = OpKind::kGet;
    op.key = absl::StrCat("nk", k);
    op.note = "final read";
    op.call = OpClock::now();
    auto r = c.Get(k % c.size(), op.key);
    op.ret = OpClock::now();
    ASSERT_TRUE(r.ok()) << r.status();
    op.read = r->value;
    history.Add(op);
  }

  const std::vector<Operation> ops = history.Snapshot();
  const auto check_start = Clock::now();
  CheckResult result = CheckLinearizable(ops, CheckOptions{Millis(soak ? 600000 : 30000)});
  const double check_ms = std::chrono::duration<double, std::milli>(Clock::now() - check_start).count();
  std::printf(
      "%zu ops in %.1f s (%d ok, %d indeterminate), %d faults; checked %zu ops (%zu dropped) in %.0f "
      "ms\nnemesis:\n%s",
      ops.size(), load_s, counters.ok.load(), counters.indeterminate.load(), counters.faults.load(),
      result.operations_checked, result.operations_dropped, check_ms, nemesis_log.c_str());
  ASSERT_TRUE(result.ok()) << "seed " << seed << "\n" << result.report << "\nnemesis:\n" << nemesis_log;
  EXPECT_GE(counters.faults.load(), 3);
  EXPECT_GE(counters.ok.load(), 200) << "too little load got through";

  // Negative control: the checker must reject the same history with one
  // read made stale (shows the pass above is not vacuous).
  std::vector<Operation> bad = ops;
  if (CorruptOneRead(bad)) {
    CheckResult br = CheckLinearizable(bad, CheckOptions{Millis(30000)});
    EXPECT_EQ(br.outcome, CheckResult::Outcome::kViolation) << "negative control not rejected";
  } else {
    ADD_FAILURE() << "no read to corrupt for the negative control";
  }
}

}  // namespace
}  // namespace quorum::integration
