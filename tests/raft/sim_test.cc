// Seeded simulation runs of 3- and 5-node clusters (see sim_cluster.h).
//
// Environment (for local soak and replay):
//   QUORUM_SIM_SEEDS=<n>   number of seeds per test (default: the CI budget)
//   QUORUM_SIM_STEPS=<n>   steps per seed (default per test)
//   QUORUM_SIM_SEED=<s>    run only seed s, printing a full event trace
//   QUORUM_SIM_FIRST=<s>   first seed (default 0), to soak new ranges
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim_cluster.h"

namespace quorum::raft::sim {
namespace {

uint64_t EnvOr(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : def;
}

void RunSeeds(const char* test, SimOptions opts, uint64_t default_seeds) {
  const char* one = std::getenv("QUORUM_SIM_SEED");
  opts.steps = static_cast<int>(EnvOr("QUORUM_SIM_STEPS", opts.steps));
  uint64_t first = EnvOr("QUORUM_SIM_FIRST", 0);
  uint64_t count = EnvOr("QUORUM_SIM_SEEDS", default_seeds);
  if (one != nullptr) {
    first = std::strtoull(one, nullptr, 10);
    count = 1;
    opts.verbose = true;
  }
  const auto start = std::chrono::steady_clock::now();
  uint64_t max_commit = 0, snaps = 0, confs = 0, elections = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    Simulation sim(seed, opts);
    const std::string failure = sim.Run();
    ASSERT_TRUE(failure.empty())
        << failure << "\nreplay: QUORUM_SIM_SEED=" << seed
        << " build/tests/raft_sim_test --gtest_filter=*" << test << "*";
    max_commit = std::max(max_commit, sim.max_commit());
    snaps += sim.snapshots_installed();
    confs += sim.conf_changes_applied();
    elections += sim.elections();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %llu seeds x %d steps in %.1fs; elections=%llu snapshots=%llu "
              "conf_changes_applied=%llu max_commit=%llu\n",
              test, static_cast<unsigned long long>(count), opts.steps, secs,
              static_cast<unsigned long long>(elections), static_cast<unsigned long long>(snaps),
              static_cast<unsigned long long>(confs),
              static_cast<unsigned long long>(max_commit));
}

TEST(RaftSimulation, ThreeNodesFaultyNetworkAndCrashes) {
  SimOptions o;
  o.nodes = 3;
  o.steps = 2000;
  RunSeeds("ThreeNodesFaultyNetworkAndCrashes", o, 500);
}

TEST(RaftSimulation, FiveNodesFaultyNetworkAndCrashes) {
  SimOptions o;
  o.nodes = 5;
  o.steps = 2000;
  o.crash = 0.006;
  RunSeeds("FiveNodesFaultyNetworkAndCrashes", o, 300);
}

TEST(RaftSimulation, MembershipChangesAndSnapshots) {
  SimOptions o;
  o.nodes = 3;
  o.steps = 2000;
  o.membership = 0.01;
  o.compact_every = 15;
  RunSeeds("MembershipChangesAndSnapshots", o, 500);
}

TEST(RaftSimulation, HeavyLossAndReordering) {
  SimOptions o;
  o.nodes = 5;
  o.steps = 1500;
  o.drop = 0.2;
  o.duplicate = 0.1;
  o.max_delay = 8;
  o.membership = 0.005;
  RunSeeds("HeavyLossAndReordering", o, 200);
}

}  // namespace
}  // namespace quorum::raft::sim
