// Google Benchmark: a 3-node in-memory raft cluster (MemoryStorage, no I/O,
// messages handed over in-process), measuring committed 128-byte proposals
// per second with a window of 1, 16 or 256 proposals in flight. The window
// is refilled with one ProposeBatch call per round (the server's batching
// path). Results: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/raw_node.h"

namespace quorum::raft {
namespace {

class BenchCluster {
 public:
  static constexpr int kNodes = 3;

  BenchCluster() {
    ConfState cs;
    for (int i = 1; i <= kNodes; ++i) cs.add_voters(i);
    for (int i = 0; i < kNodes; ++i) {
      storage_[i] = std::make_unique<MemoryStorage>();
      (void)storage_[i]->SetInitialConfState(cs);
      Config c;
      c.id = i + 1;
      c.election_tick = 10;
      c.heartbeat_tick = 1;
      c.storage = storage_[i].get();
      c.max_size_per_msg = 1 << 20;
      c.max_inflight_msgs = 256;
      c.rng_seed = 7;
      nodes_[i] = std::move(*RawNode::Create(c));
    }
    (void)nodes_[0]->Campaign();
    for (int i = 0; i < 10; ++i) Pump();
  }

  RawNode& leader() { return *nodes_[0]; }
  uint64_t committed() const { return committed_; }

  // One round: every node handles its Ready, then all messages are delivered.
  void Pump() {
    for (int i = 0; i < kNodes; ++i) HandleReady(i);
    for (int i = 0; i < kNodes; ++i) {
      std::vector<Message> in;
      in.swap(inbox_[i]);
      for (Message& m : in) (void)nodes_[i]->Step(std::move(m));
    }
  }

  // Keeps memory bounded in long runs.
  void MaybeCompact() {
    for (int i = 0; i < kNodes; ++i) {
      const Index applied = nodes_[i]->raft().raft_log().applied();
      if (applied > storage_[i]->FirstIndex() + 8192) (void)storage_[i]->Compact(applied - 1024);
    }
  }

 private:
  void HandleReady(int i) {
    while (nodes_[i]->HasReady()) {
      Ready rd = nodes_[i]->GetReady();
      if (rd.hard_state) storage_[i]->SetHardState(*rd.hard_state);
      if (!rd.entries.empty()) (void)storage_[i]->Append(std::move(rd.entries));
      for (Message& m : rd.messages) inbox_[m.to() - 1].push_back(std::move(m));
      if (i == 0) {
        for (const Entry& e : rd.committed_entries) committed_ += !e.data().empty();
      }
      nodes_[i]->Advance();
    }
  }

  std::array<std::unique_ptr<MemoryStorage>, kNodes> storage_;
  std::array<std::unique_ptr<RawNode>, kNodes> nodes_;
  std::array<std::vector<Message>, kNodes> inbox_;
  uint64_t committed_ = 0;
};

void BM_CommittedProposals(benchmark::State& state) {
  const uint64_t window = static_cast<uint64_t>(state.range(0));
  const std::string payload(128, 'p');
  BenchCluster c;
  uint64_t proposed = 0;
  uint64_t rounds = 0;
  for (auto _ : state) {
    const uint64_t outstanding = proposed - c.committed();
    if (outstanding < window) {
      std::vector<std::string> batch(window - outstanding, payload);
      proposed += batch.size();
      if (!c.leader().ProposeBatch(std::move(batch)).ok()) state.SkipWithError("dropped");
    }
    c.Pump();
    if (++rounds % 64 == 0) c.MaybeCompact();
  }
  state.SetItemsProcessed(static_cast<int64_t>(c.committed()));
  state.SetBytesProcessed(static_cast<int64_t>(c.committed() * payload.size()));
  state.counters["rounds"] = static_cast<double>(rounds);
}
BENCHMARK(BM_CommittedProposals)->ArgName("inflight")->Arg(1)->Arg(16)->Arg(256);

// One proposal per Propose call (no client-side batching): the leader sends
// one MsgApp per proposal while the inflight window allows.
void BM_CommittedUnbatchedProposals(benchmark::State& state) {
  const uint64_t window = static_cast<uint64_t>(state.range(0));
  const std::string payload(128, 'p');
  BenchCluster c;
  uint64_t proposed = 0;
  uint64_t rounds = 0;
  for (auto _ : state) {
    while (proposed - c.committed() < window) {
      (void)c.leader().Propose(payload);
      ++proposed;
    }
    c.Pump();
    if (++rounds % 64 == 0) c.MaybeCompact();
  }
  state.SetItemsProcessed(static_cast<int64_t>(c.committed()));
}
BENCHMARK(BM_CommittedUnbatchedProposals)->ArgName("inflight")->Arg(1)->Arg(16)->Arg(256);

}  // namespace
}  // namespace quorum::raft

BENCHMARK_MAIN();
