// Test-only helpers for raft unit/scenario tests: build nodes on
// MemoryStorage and run them over an in-memory, synchronous Network that
// follows the RawNode contract (persist -> send -> apply -> Advance).
// Not part of quorum_raft; included only by *_test.cc files.
#ifndef QUORUM_RAFT_RAFT_TEST_UTIL_H_
#define QUORUM_RAFT_RAFT_TEST_UTIL_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "raft/describe.h"
#include "raft/memory_storage.h"
#include "raft/raw_node.h"

namespace quorum::raft::testing {

inline Entry MakeEntry(Index index, Term term, std::string data = "") {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

inline ConfState MakeConfState(std::vector<NodeId> voters, std::vector<NodeId> learners = {}) {
  ConfState cs;
  for (NodeId v : voters) cs.add_voters(v);
  for (NodeId l : learners) cs.add_learners(l);
  return cs;
}

inline std::unique_ptr<MemoryStorage> NewStorage(std::vector<NodeId> voters,
                                                 std::vector<NodeId> learners = {}) {
  auto s = std::make_unique<MemoryStorage>();
  (void)s->SetInitialConfState(MakeConfState(std::move(voters), std::move(learners)));
  return s;
}

inline Config MakeConfig(NodeId id, const Storage* storage, int election = 10, int heartbeat = 1) {
  Config c;
  c.id = id;
  c.election_tick = election;
  c.heartbeat_tick = heartbeat;
  c.storage = storage;
  c.max_size_per_msg = kNoLimit;
  c.max_inflight_msgs = 256;
  c.rng_seed = 1;
  return c;
}

inline std::unique_ptr<Raft> NewRaft(const Config& c) {
  auto r = Raft::Create(c);
  if (!r.ok()) std::abort();
  return std::move(*r);
}

inline Message Msg(NodeId from, NodeId to, MessageType t, Term term = 0) {
  Message m;
  m.set_from(from);
  m.set_to(to);
  m.set_type(t);
  m.set_term(term);
  return m;
}

// A Raft on its own MemoryStorage, for tests that drive the core directly.
struct TestRaft {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Raft> raft;
  Raft* operator->() { return raft.get(); }
  Raft& operator*() { return *raft; }
};

inline TestRaft MakeRaft(NodeId id, std::vector<NodeId> peers, int election = 10,
                         int heartbeat = 1, std::function<void(Config&)> fn = nullptr,
                         std::unique_ptr<MemoryStorage> storage = nullptr) {
  TestRaft t;
  t.storage = storage ? std::move(storage) : NewStorage(std::move(peers));
  Config c = MakeConfig(id, t.storage.get(), election, heartbeat);
  if (fn) fn(c);
  t.raft = NewRaft(c);
  return t;
}

// A storage holding the given entries (terms) from index 1, with the given
// voters and current term.
inline std::unique_ptr<MemoryStorage> StorageWithLog(std::vector<NodeId> voters,
                                                     std::vector<Term> terms, Term term = 0) {
  auto s = NewStorage(std::move(voters));
  EntryVec ents;
  for (size_t i = 0; i < terms.size(); ++i) ents.push_back(MakeEntry(i + 1, terms[i]));
  (void)s->Append(ents);
  HardState hs;
  hs.set_term(term);
  s->SetHardState(hs);
  return s;
}

// Takes (and clears) the outbound messages of a raft.
inline std::vector<Message> ReadMessages(Raft& r) {
  std::vector<Message> out = std::move(r.msgs());
  r.msgs().clear();
  return out;
}

inline std::vector<std::string> Describe(const std::vector<Message>& ms) {
  std::vector<std::string> out;
  for (const Message& m : ms) out.push_back(DescribeMessage(m));
  return out;
}

// Persists a raft's unstable state into its storage as a Ready would
// (for tests driving Raft directly), and marks committed entries applied.
inline void PersistAndApply(Raft& r, MemoryStorage& s) {
  RaftLog& log = r.raft_log();
  if (log.unstable().snapshot()) {
    (void)s.ApplySnapshot(*log.unstable().snapshot());
    log.StableSnapTo(log.unstable().snapshot()->metadata().index());
    log.AppliedSnap(log.committed());
  }
  const EntryVec& ents = log.unstable().entries();
  if (!ents.empty()) {
    const Entry last = ents.back();
    (void)s.Append(ents);
    log.StableTo(last.index(), last.term());
  }
  s.SetHardState(r.GetHardState());
  log.AppliedTo(log.committed());
}

// A synchronous in-memory cluster of RawNodes. Messages are delivered
// breadth-first until none remain, honouring cut links, isolated nodes,
// ignored types and deterministic drop filters.
class Network {
 public:
  using ConfigFn = std::function<void(Config&)>;

  explicit Network(std::vector<NodeId> ids, ConfigFn fn = nullptr) : fn_(std::move(fn)) {
    for (NodeId id : ids) AddNode(id, NewStorage(ids));
  }
  // Nodes with prepared storages (e.g. StorageWithLog).
  Network(std::map<NodeId, std::unique_ptr<MemoryStorage>> storages, ConfigFn fn = nullptr)
      : fn_(std::move(fn)) {
    for (auto& [id, s] : storages) AddNode(id, std::move(s));
  }

  void AddNode(NodeId id, std::unique_ptr<MemoryStorage> storage) {
    Config c = MakeConfig(id, storage.get());
    c.rng_seed = 42;
    if (fn_) fn_(c);
    auto n = RawNode::Create(c);
    if (!n.ok()) std::abort();
    nodes_[id] = Node{std::move(storage), std::move(*n), {}, {}};
    Drain(id);  // e.g. apply bootstrap entries
    Deliver();
  }

  RawNode& node(NodeId id) { return *nodes_.at(id).node; }
  const Raft& raft(NodeId id) { return nodes_.at(id).node->raft(); }
  Raft& mraft(NodeId id) { return nodes_.at(id).node->MutableRaftForTesting(); }
  MemoryStorage& storage(NodeId id) { return *nodes_.at(id).storage; }
  const std::vector<std::string>& applied(NodeId id) { return nodes_.at(id).applied; }
  const std::vector<ReadState>& read_states(NodeId id) { return nodes_.at(id).read_states; }
  std::vector<Message>& sent() { return sent_; }
  // Messages of type t delivered or dropped since the last ClearSent().
  int CountSent(MessageType t, NodeId from = kNone, NodeId to = kNone) const {
    int n = 0;
    for (const Message& m : sent_) {
      if (m.type() == t && (from == kNone || m.from() == from) && (to == kNone || m.to() == to)) ++n;
    }
    return n;
  }
  void ClearSent() { sent_.clear(); }
  // The full log (term of every index) of a node, from its storage + unstable.
  std::vector<Term> LogTerms(NodeId id) {
    const RaftLog& log = raft(id).raft_log();
    std::vector<Term> out;
    for (Index i = log.FirstIndex(); i <= log.LastIndex(); ++i) out.push_back(log.ZeroTermOnErr(i));
    return out;
  }
  bool Has(NodeId id) const { return nodes_.count(id) > 0; }

  void Cut(NodeId a, NodeId b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void Isolate(NodeId id) {
    for (auto& [other, n] : nodes_) {
      if (other != id) Cut(id, other);
    }
  }
  void Ignore(MessageType t) { ignored_.insert(t); }
  void Recover() {
    cut_.clear();
    ignored_.clear();
  }

  // Elects `id` (campaign + deliver everything).
  void Campaign(NodeId id) {
    (void)node(id).Campaign();
    Drain(id);
    Deliver();
  }
  absl::Status ProposeConfChange(NodeId id, pb::ConfChangeType t, NodeId target) {
    ConfChange cc;
    cc.set_type(t);
    cc.set_node_id(target);
    absl::Status s = node(id).ProposeConfChange(cc);
    Drain(id);
    Deliver();
    return s;
  }
  absl::Status ReadIndex(NodeId id, std::string ctx) {
    absl::Status s = node(id).ReadIndex(std::move(ctx));
    Drain(id);
    Deliver();
    return s;
  }
  void TransferLeader(NodeId id, NodeId to) {
    node(id).TransferLeader(to);
    Drain(id);
    Deliver();
  }
  absl::Status Propose(NodeId id, std::string data) {
    absl::Status s = node(id).Propose(std::move(data));
    Drain(id);
    Deliver();
    return s;
  }
  void Tick(NodeId id, int n = 1) {
    for (int i = 0; i < n; ++i) {
      node(id).Tick();
      Drain(id);
      Deliver();
    }
  }
  void TickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, nd] : nodes_) {
        nd.node->Tick();
        Drain(id);
      }
      Deliver();
    }
  }
  // Runs Ready handling on a node; outbound messages join the queue.
  void Drain(NodeId id) {
    Node& n = nodes_.at(id);
    while (n.node->HasReady()) {
      Ready rd = n.node->GetReady();
      if (rd.hard_state) n.storage->SetHardState(*rd.hard_state);
      if (!IsEmptySnap(rd.snapshot)) (void)n.storage->ApplySnapshot(rd.snapshot);
      if (!rd.entries.empty()) (void)n.storage->Append(rd.entries);
      for (Message& m : rd.messages) queue_.push_back(std::move(m));
      for (const Entry& e : rd.committed_entries) {
        if (e.type() == pb::EntryConfChange) {
          ConfChange cc;
          cc.ParseFromString(e.data());
          (void)n.node->ApplyConfChange(cc);
        } else if (!e.data().empty()) {
          n.applied.push_back(e.data());
        }
      }
      for (ReadState& rs : rd.read_states) n.read_states.push_back(std::move(rs));
      n.node->Advance();
    }
  }
  void Deliver() {
    while (!queue_.empty()) {
      Message m = std::move(queue_.front());
      queue_.pop_front();
      sent_.push_back(m);
      if (cut_.count({m.from(), m.to()}) || ignored_.count(m.type())) continue;
      auto it = nodes_.find(m.to());
      if (it == nodes_.end()) continue;
      (void)it->second.node->Step(std::move(m));
      Drain(it->first);
    }
  }
  // Injects messages and delivers until quiescent.
  void Send(std::vector<Message> ms) {
    for (Message& m : ms) queue_.push_back(std::move(m));
    Deliver();
  }

 private:
  struct Node {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<RawNode> node;
    std::vector<std::string> applied;
    std::vector<ReadState> read_states;
  };
  ConfigFn fn_;
  std::map<NodeId, Node> nodes_;
  std::deque<Message> queue_;
  std::vector<Message> sent_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::set<MessageType> ignored_;
};

}  // namespace quorum::raft::testing

#endif  // QUORUM_RAFT_RAFT_TEST_UTIL_H_
