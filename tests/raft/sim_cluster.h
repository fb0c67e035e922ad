// Deterministic simulation of a raft cluster (tests only).
//
// N RawNodes on MemoryStorage exchange messages over a simulated network
// that drops, delays, duplicates and reorders messages and can be
// partitioned and healed; nodes crash (losing all volatile state) and
// restart from their persisted MemoryStorage. Optionally membership changes
// (add voter/learner, promote, remove — including the leader), leadership
// transfers, ReadIndex requests and log compaction (so lagging or new nodes
// catch up by snapshot). Everything is driven by one seeded util::Rng and a
// virtual clock (one step = one tick), so a seed replays exactly.
//
// After every step the invariants of the Raft paper are checked:
//   * election safety: at most one leader per term (over all time);
//   * log matching: (index, term) identifies one entry and one predecessor
//     term, over all persisted logs and all time;
//   * committed entries never change: an index deemed committed anywhere
//     has one term forever; a new leader holds every committed entry
//     (leader completeness);
//   * state machine safety: every node applies the same sequence (checked
//     with a hash chain, also across snapshot installs and restarts);
//   * ReadIndex linearizability: a read's index covers every entry that was
//     committed when the read was issued.
// At the end the network heals, crashed members restart and a leader must
// emerge and commit a new proposal on every member within a bounded number
// of ticks (liveness).
#ifndef QUORUM_TESTS_RAFT_SIM_CLUSTER_H_
#define QUORUM_TESTS_RAFT_SIM_CLUSTER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/raw_node.h"
#include "util/rng.h"

namespace quorum::raft::sim {

struct SimOptions {
  int nodes = 3;
  int steps = 2000;
  double drop = 0.05;        // per-message drop probability
  double duplicate = 0.02;   // per-message duplication probability
  int max_delay = 3;         // delivery delay in ticks, uniform in [1, max_delay]
  double propose = 0.3;      // client proposal per step
  double crash = 0.004;      // crash one node per step
  double restart = 0.05;     // restart one crashed node per step
  double partition = 0.01;   // start a random partition per step
  double heal = 0.02;        // heal all partitions per step
  double transfer = 0.003;   // leadership transfer request per step
  double read_index = 0.05;  // ReadIndex request per step
  double membership = 0.0;   // membership change proposal per step
  int compact_every = 30;    // compact when this many entries are applied past the snapshot
  // Bound for the liveness phase. Generous on purpose: without PreVote, a
  // member whose log is stale cannot win but keeps starting elections at
  // higher terms, resetting the timer of the one candidate that can win;
  // each round resolves with probability ~1/4 (seen with seed 10943 of
  // MembershipChangesAndSnapshots, which needed more than 400 ticks).
  int liveness_ticks = 1000;
  // Probability that a due message is stepped into a node between GetReady
  // and Advance (the window an asynchronous storage writer would open).
  double interleave = 0.1;
  bool verbose = false;      // print a trace of every event to stderr
};

class Simulation {
 public:
  Simulation(uint64_t seed, SimOptions opts);
  ~Simulation();

  // Runs the faulty phase then the liveness phase. Returns an empty string
  // on success, or a description of the first violated invariant.
  std::string Run();

  // Statistics for the test log.
  uint64_t max_commit() const { return max_commit_; }
  int elections() const { return static_cast<int>(leaders_.size()); }
  int snapshots_installed() const { return snapshots_installed_; }
  int conf_changes_applied() const { return conf_changes_applied_; }
  // Scenario coverage: a leader applied its own removal; a node added after
  // the start installed a snapshot (caught up by snapshot, not by log).
  int leader_removals() const { return leader_removals_; }
  int new_node_snapshot_catchups() const { return new_node_snapshot_catchups_; }
  int reads_served() const { return reads_served_; }

 private:
  struct Node;
  struct InFlight {
    uint64_t at;
    uint64_t seq;
    Message msg;
  };

  void Step();
  void StartNode(NodeId id, bool fresh_member);
  void Crash(NodeId id);
  void Restart(NodeId id);
  void HandleReady(Node& n);
  void ApplyEntry(Node& n, const Entry& e);
  void InstallSnapshot(Node& n, const Snapshot& s);
  void MaybeCompact(Node& n);
  void SendAll(NodeId from, std::vector<Message> msgs);
  void DeliverDue();
  void MaybeInterleave(Node& n);
  void RandomEvent();
  void ProposeMembership();
  void CheckInvariants();
  void CheckNewLeader(Node& n);
  bool Liveness();
  Node* LeaderNode();
  std::vector<NodeId> UpNodes() const;
  void Fail(const std::string& why);
  void Trace(const std::string& line);

  uint64_t seed_;
  SimOptions opts_;
  util::Rng rng_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  std::string failure_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::multimap<uint64_t, InFlight> inflight_;  // keyed by delivery time
  std::set<std::pair<NodeId, NodeId>> cut_;
  NodeId next_id_;
  uint64_t proposals_ = 0;
  // Reference history.
  std::map<Term, NodeId> leaders_;                          // election safety
  std::map<std::pair<Index, Term>, std::pair<uint64_t, Term>> log_ids_;  // log matching
  std::map<Index, Term> committed_terms_;                   // committed entries
  std::vector<uint64_t> ref_hash_{0};                       // hash after applying index i
  uint64_t max_commit_ = 0;
  std::map<std::string, Index> reads_;                      // ctx -> commit when issued
  int snapshots_installed_ = 0;
  int conf_changes_applied_ = 0;
  int leader_removals_ = 0;
  int new_node_snapshot_catchups_ = 0;
  int reads_served_ = 0;
  std::deque<std::string> trace_;
};

}  // namespace quorum::raft::sim

#endif  // QUORUM_TESTS_RAFT_SIM_CLUSTER_H_
