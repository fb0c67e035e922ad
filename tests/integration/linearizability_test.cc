// Unit tests of the linearizability checker on hand-made histories, and on
// random histories that are linearizable by construction (and must fail once
// one read is made stale).
#include "linearizability.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace quorum::integration {
namespace {

using std::chrono::milliseconds;
const OpClock::time_point kT0 = OpClock::time_point() + std::chrono::hours(1);

OpClock::time_point At(int ms) { return kT0 + milliseconds(ms); }

Operation Put(int client, std::string key, std::string value, int call, int ret) {
  Operation o;
  o.client = client;
  o.kind = OpKind::kPut;
  o.key = std::move(key);
  o.value = std::move(value);
  o.call = At(call);
  o.ret = At(ret);
  return o;
}

Operation Get(int client, std::string key, std::optional<std::string> read, int call, int ret) {
  Operation o;
  o.client = client;
  o.kind = OpKind::kGet;
  o.key = std::move(key);
  o.read = std::move(read);
  o.call = At(call);
  o.ret = At(ret);
  return o;
}

Operation Cas(int client, std::string key, std::optional<std::string> expected, std::string value,
              bool succeeded, int call, int ret) {
  Operation o;
  o.client = client;
  o.kind = OpKind::kCas;
  o.key = std::move(key);
  o.expected = std::move(expected);
  o.value = std::move(value);
  o.succeeded = succeeded;
  o.call = At(call);
  o.ret = At(ret);
  return o;
}

Operation CasSaw(int client, std::string key, std::optional<std::string> expected,
                 std::string value, std::optional<std::string> saw, int call, int ret) {
  Operation o = Cas(client, std::move(key), std::move(expected), std::move(value), false, call, ret);
  o.has_failure_read = true;
  o.read = std::move(saw);
  return o;
}

Operation Unknown(Operation o) {
  o.indeterminate = true;
  o.ret = o.call + std::chrono::seconds(1);  // ignored
  return o;
}

CheckResult Check(const std::vector<Operation>& h) {
  CheckResult r = CheckLinearizable(h, CheckOptions{milliseconds(10000)});
  EXPECT_NE(r.outcome, CheckResult::Outcome::kUndecided) << r.report;
  return r;
}

TEST(LinearizabilityTest, EmptyHistoryIsLinearizable) { EXPECT_TRUE(Check({}).ok()); }

TEST(LinearizabilityTest, SequentialPutsAndGets) {
  EXPECT_TRUE(Check({Get(0, "a", std::nullopt, 0, 1), Put(0, "a", "1", 2, 3), Get(1, "a", "1", 4, 5),
                     Put(1, "a", "2", 6, 7), Get(0, "a", "2", 8, 9)})
                  .ok());
}

TEST(LinearizabilityTest, StaleReadIsAViolation) {
  CheckResult r = Check({Put(0, "a", "1", 0, 10), Put(0, "a", "2", 20, 30), Get(1, "a", "1", 40, 50)});
  EXPECT_EQ(r.outcome, CheckResult::Outcome::kViolation);
  EXPECT_EQ(r.key, "a");
  EXPECT_NE(r.report.find("get(a) -> \"1\""), std::string::npos) << r.report;
}

TEST(LinearizabilityTest, ReadConcurrentWithPutMaySeeEitherValue) {
  EXPECT_TRUE(Check({Put(0, "a", "1", 0, 10), Put(0, "a", "2", 20, 60), Get(1, "a", "1", 30, 40)}).ok());
  EXPECT_TRUE(Check({Put(0, "a", "1", 0, 10), Put(0, "a", "2", 20, 60), Get(1, "a", "2", 30, 40)}).ok());
}

TEST(LinearizabilityTest, TouchingIntervalsAreConcurrent) {
  EXPECT_TRUE(Check({Put(0, "a", "1", 0, 10), Get(1, "a", std::nullopt, 10, 20)}).ok());
}

TEST(LinearizabilityTest, ReadsMustNotFlipBackWhilePutIsPending) {
  // Once one reader saw "2", a later reader cannot see "1" again.
  CheckResult r = Check({Put(0, "a", "1", 0, 10), Put(0, "a", "2", 20, 100), Get(1, "a", "2", 30, 40),
                         Get(2, "a", "1", 50, 60)});
  EXPECT_EQ(r.outcome, CheckResult::Outcome::kViolation) << r.report;
}

TEST(LinearizabilityTest, ReadersDisagreeingOnOrderOfConcurrentPuts) {
  // Two concurrent puts; reader 2 sees 1 then 2, reader 3 sees 2 then 1.
  CheckResult r = Check({Put(0, "a", "1", 0, 100), Put(1, "a", "2", 0, 100), Get(2, "a", "1", 10, 20),
                         Get(2, "a", "2", 30, 40), Get(3, "a", "2", 10, 20), Get(3, "a", "1", 30, 40)});
  EXPECT_EQ(r.outcome, CheckResult::Outcome::kViolation) << r.report;
}

TEST(LinearizabilityTest, LostAcknowledgedWriteIsAViolation) {
  CheckResult r = Check({Put(0, "a", "1", 0, 10), Get(1, "a", std::nullopt, 20, 30)});
  EXPECT_EQ(r.outcome, CheckResult::Outcome::kViolation) << r.report;
}

TEST(LinearizabilityTest, IndeterminatePutMayTakeEffectLaterOrNever) {
  // Observed long after its call: fine (it "returns" at infinity).
  EXPECT_TRUE(Check({Unknown(Put(0, "a", "1", 0, 10)), Get(1, "a", std::nullopt, 20, 30),
                     Get(1, "a", "1", 500, 510)})
                  .ok());
  // Never observed: fine, and dropped before the search.
  CheckResult r = Check({Put(0, "a", "0", 0, 5), Unknown(Put(0, "a", "1", 10, 20)), Get(1, "a", "0", 30, 40)});
  EXPECT_TRUE(r.ok()) << r.report;
  EXPECT_EQ(r.operations_dropped, 1u);
}

TEST(LinearizabilityTest, IndeterminatePutObservedThenUndoneIsAViolation) {
  CheckResult r = Check({Put(0, "a", "0", 0, 5), Unknown(Put(0, "a", "1", 10, 20)),
                         Get(1, "a", "1", 30, 40), Get(1, "a", "0", 50, 60)});
  EXPECT_EQ(r.outcome, CheckResult::Outcome::kViolation) << r.report;
}

TEST(LinearizabilityTest, IndeterminatePutObservedBeforeItsCallIsAViolation) {
  CheckResult r = Check({Get(1, "a", "1", 0, 10), Unknown(Put(0, "a", "1", 20, 30))});
  EXPECT_EQ(r.outcome, CheckResult::Outcome::kViolation) << r.report;
}

TEST(LinearizabilityTest, FailedGetsAreIgnored) {
  EXPECT_TRUE(Check({Put(0, "a", "1", 0, 10), Unknown(Get(1, "a", "garbage", 20, 30))}).ok());
}

TEST(LinearizabilityTest, CasSucceedsOnlyOnMatchingValue) {
  EXPECT_TRUE(Check({Put(0, "a", "1", 0, 10), Cas(1, "a", "1", "2", true, 20, 30), Get(0, "a", "2", 40, 50),
                     Cas(1, "a", "1", "3", false, 60, 70), Get(0, "a", "2", 80, 90)})
                  .ok());
}

TEST(LinearizabilityTest, TwoCasFromTheSameValueBothSucceedingIsAViolation) {
  // Sequential and concurrent: only one cas can win the race from "1".
  EXPECT_EQ(Check({Put(0, "a", "1", 0, 10), Cas(1, "a", "1", "2", true, 20, 30),
                   Cas(2, "a", "1", "3", true, 40, 50)})
                .outcome,
            CheckResult::Outcome::kViolation);
  EXPECT_EQ(Check({Put(0, "a", "1", 0, 10), Cas(1, "a", "1", "2", true, 20, 50),
                   Cas(2, "a", "1", "3", true, 20, 50)})
                .outcome,
            CheckResult::Outcome::kViolation);
}

TEST(LinearizabilityTest, CasThatShouldHaveSucceededIsAViolation) {
  EXPECT_EQ(Check({Put(0, "a", "1", 0, 10), Cas(1, "a", "1", "2", false, 20, 30)}).outcome,
            CheckResult::Outcome::kViolation);
  EXPECT_EQ(Check({Put(0, "a", "1", 0, 10), CasSaw(1, "a", "0", "2", "0", 20, 30)}).outcome,
            CheckResult::Outcome::kViolation);  // saw a value that had been overwritten
  EXPECT_TRUE(Check({Put(0, "a", "1", 0, 10), CasSaw(1, "a", "0", "2", "1", 20, 30)}).ok());
}

TEST(LinearizabilityTest, CasOnAbsentKey) {
  EXPECT_TRUE(Check({Cas(0, "a", std::nullopt, "1", true, 0, 10), Get(1, "a", "1", 20, 30)}).ok());
  EXPECT_EQ(Check({Cas(0, "a", std::nullopt, "1", true, 0, 10), Cas(1, "a", std::nullopt, "2", true, 20, 30)})
                .outcome,
            CheckResult::Outcome::kViolation);
}

TEST(LinearizabilityTest, IndeterminateCas) {
  // Took effect: a later read sees its value.
  EXPECT_TRUE(Check({Put(0, "a", "1", 0, 10), Unknown(Cas(1, "a", "1", "2", false, 20, 30)),
                     Get(0, "a", "2", 40, 50)})
                  .ok());
  // Its value seen, then the old one again: a violation.
  EXPECT_EQ(Check({Put(0, "a", "1", 0, 10), Unknown(Cas(1, "a", "1", "2", false, 20, 30)),
                   Get(0, "a", "2", 40, 50), Get(0, "a", "1", 60, 70)})
                .outcome,
            CheckResult::Outcome::kViolation);
  // Its comparison could never hold, yet its value is seen.
  EXPECT_EQ(Check({Put(0, "a", "1", 0, 10), Unknown(Cas(1, "a", "9", "2", false, 20, 30)),
                   Get(0, "a", "2", 40, 50)})
                .outcome,
            CheckResult::Outcome::kViolation);
}

TEST(LinearizabilityTest, UnobservedIndeterminatePutIsKeptWhenABlindFailedCasNeedsIt) {
  // Only the indeterminate put of "2" explains why cas(1 -> 3) failed.
  CheckResult r = Check({Put(0, "a", "1", 0, 10), Unknown(Put(1, "a", "2", 20, 30)),
                         Cas(2, "a", "1", "3", false, 40, 50)});
  EXPECT_TRUE(r.ok()) << r.report;
  EXPECT_EQ(r.operations_dropped, 0u);
}

TEST(LinearizabilityTest, KeysAreIndependentAndTheReportNamesTheBadKey) {
  CheckResult r = Check({Put(0, "a", "1", 0, 10), Put(0, "b", "x", 0, 10), Get(1, "a", "1", 20, 30),
                         Put(0, "b", "y", 20, 30), Get(1, "b", "x", 40, 50)});
  ASSERT_EQ(r.outcome, CheckResult::Outcome::kViolation);
  EXPECT_EQ(r.key, "b");
  EXPECT_NE(r.report.find("NOT LINEARIZABLE: key \"b\""), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("history of key \"b\""), std::string::npos) << r.report;
  EXPECT_EQ(r.report.find("put(a"), std::string::npos) << r.report;
}

// Random histories, linearizable by construction: each client runs its ops
// back to back; each op takes effect at a random instant of its interval;
// indeterminate writes take effect (anywhere after their call) or not.
struct Generated {
  std::vector<Operation> ops;
  std::vector<OpClock::time_point> effect;  // time_point::max(): never took effect
};

Generated RandomHistory(uint64_t seed, int clients, int ops_per_client, int keys) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Generated g;
  for (int c = 0; c < clients; ++c) {
    int t = uni(0, 20);
    for (int i = 0; i < ops_per_client; ++i) {
      Operation o;
      o.client = c;
      o.key = std::string(1, static_cast<char>('a' + uni(0, keys - 1)));
      const int kind = uni(0, 9);
      o.kind = kind < 4 ? OpKind::kGet : kind < 7 ? OpKind::kPut : OpKind::kCas;
      o.value = "c" + std::to_string(c) + "-" + std::to_string(i);
      o.call = At(t);
      const int len = uni(1, 60);
      o.ret = At(t + len);
      OpClock::time_point eff = At(t + uni(0, len));
      if (o.kind != OpKind::kGet && uni(0, 19) == 0) {
        o.indeterminate = true;
        eff = uni(0, 1) ? At(t + uni(0, 400)) : OpClock::time_point::max();
      }
      g.ops.push_back(o);
      g.effect.push_back(eff);
      t += len + uni(0, 10);
    }
  }
  // Apply in effect order to compute results.
  std::vector<size_t> order(g.ops.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return g.effect[a] < g.effect[b]; });
  std::map<std::string, std::optional<std::string>> state;
  std::map<std::string, std::vector<std::string>> written;
  for (size_t i : order) {
    Operation& o = g.ops[i];
    if (g.effect[i] == OpClock::time_point::max()) continue;
    auto& s = state[o.key];
    switch (o.kind) {
      case OpKind::kGet:
        o.read = s;
        break;
      case OpKind::kPut:
        s = o.value;
        written[o.key].push_back(o.value);
        break;
      case OpKind::kCas: {
        // Mostly compare against the current value, sometimes a stale one.
        auto& w = written[o.key];
        o.expected = uni(0, 2) > 0 || w.empty() ? s : std::optional<std::string>(w[uni(0, w.size() - 1)]);
        o.succeeded = o.expected == s;
        if (o.succeeded) {
          s = o.value;
          w.push_back(o.value);
        } else if (uni(0, 1)) {
          o.has_failure_read = true;
          o.read = s;
        }
        break;
      }
    }
  }
  // A cas that never took effect still needs an expected value.
  for (size_t i = 0; i < g.ops.size(); ++i) {
    if (g.ops[i].kind == OpKind::kCas && g.effect[i] == OpClock::time_point::max()) g.ops[i].expected = "zz";
  }
  return g;
}

TEST(LinearizabilityTest, RandomLinearizableHistoriesPassAndStaleCopiesFail) {
  int corrupted = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    Generated g = RandomHistory(seed, 5, 40, 3);
    CheckResult r = Check(g.ops);
    ASSERT_TRUE(r.ok()) << "seed " << seed << "\n" << r.report;
    // Corrupt one determinate get: make it return a value that a completed
    // put had already overwritten (by another completed put) before the get
    // was called.
    bool done = false;
    for (size_t gi = 0; gi < g.ops.size() && !done; ++gi) {
      const Operation& get = g.ops[gi];
      if (get.kind != OpKind::kGet) continue;
      for (size_t pi = 0; pi < g.ops.size() && !done; ++pi) {
        const Operation& p = g.ops[pi];
        if (p.kind != OpKind::kPut || p.indeterminate || p.key != get.key || !(p.ret < get.call)) continue;
        for (size_t qi = 0; qi < g.ops.size() && !done; ++qi) {
          const Operation& q = g.ops[qi];
          if (q.kind != OpKind::kPut || q.indeterminate || q.key != get.key || !(q.call > p.ret) ||
              !(q.ret < get.call) || get.read == p.value) {
            continue;
          }
          std::vector<Operation> bad = g.ops;
          bad[gi].read = p.value;
          CheckResult br = Check(bad);
          EXPECT_EQ(br.outcome, CheckResult::Outcome::kViolation) << "seed " << seed;
          done = true;
          ++corrupted;
        }
      }
    }
  }
  EXPECT_GE(corrupted, 30);
}

TEST(LinearizabilityTest, LargeHistoryIsDecidedQuickly) {
  Generated g = RandomHistory(99, 8, 500, 4);
  const auto start = OpClock::now();
  CheckResult r = CheckLinearizable(g.ops, CheckOptions{milliseconds(10000)});
  const auto took = OpClock::now() - start;
  EXPECT_TRUE(r.ok()) << r.report;
  EXPECT_LT(took, std::chrono::seconds(10));
  std::printf("4000 ops checked in %.1f ms (%zu kept, %zu dropped)\n",
              std::chrono::duration<double, std::milli>(took).count(), r.operations_checked,
              r.operations_dropped);
}

}  // namespace
}  // namespace quorum::integration
