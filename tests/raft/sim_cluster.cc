#include "sim_cluster.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "raft/bootstrap.h"
#include "raft/describe.h"
#include "raft/errors.h"

namespace quorum::raft::sim {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

uint64_t HashBytes(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

uint64_t EntryHash(const Entry& e) { return Mix(HashBytes(e.data()), e.type()); }

}  // namespace

struct Simulation::Node {
  NodeId id;
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> raw;  // null while crashed or stopped
  bool stopped = false;          // removed from the cluster: never restarts
  bool live_applied = false;     // applied the liveness-phase proposal
  Index applied = 0;             // state machine: last applied index ...
  uint64_t hash = 0;             // ... and hash chain over applied entries
  ConfState conf;                // membership as of `applied`
  Index checked_commit = 0;
  std::vector<std::pair<NodeId, bool>> snap_reports;  // deferred ReportSnapshot
  std::vector<NodeId> unreachable_reports;
};

Simulation::Simulation(uint64_t seed, SimOptions opts)
    : seed_(seed), opts_(opts), rng_(seed), next_id_(opts.nodes + 1) {
  for (NodeId id = 1; id <= static_cast<NodeId>(opts_.nodes); ++id) StartNode(id, true);
}

Simulation::~Simulation() = default;

void Simulation::Trace(const std::string& line) {
  std::string s = absl::StrCat("t=", now_, " ", line);
  if (opts_.verbose) std::fprintf(stderr, "%s\n", s.c_str());
  trace_.push_back(std::move(s));
  if (trace_.size() > 40) trace_.pop_front();
}

void Simulation::Fail(const std::string& why) {
  if (!failure_.empty()) return;
  failure_ = absl::StrCat("seed ", seed_, " step ", now_, ": ", why, "\nrecent events:\n");
  for (const std::string& l : trace_) absl::StrAppend(&failure_, "  ", l, "\n");
}

void Simulation::StartNode(NodeId id, bool founder) {
  auto n = std::make_unique<Node>();
  n->id = id;
  n->storage = std::make_unique<MemoryStorage>();
  if (founder) {
    std::vector<NodeId> voters;
    for (NodeId v = 1; v <= static_cast<NodeId>(opts_.nodes); ++v) voters.push_back(v);
    (void)Bootstrap(*n->storage, voters);
  }
  nodes_[id] = std::move(n);
  Restart(id);
}

void Simulation::Restart(NodeId id) {
  Node& n = *nodes_.at(id);
  const Snapshot snap = *n.storage->GetSnapshot();
  n.applied = 0;
  n.hash = 0;
  if (!snap.data().empty()) {
    std::vector<std::string> parts = absl::StrSplit(snap.data(), ' ');
    (void)absl::SimpleAtoi(parts[0], &n.applied);
    (void)absl::SimpleAtoi(parts[1], &n.hash);
  }
  n.conf = snap.metadata().conf_state();
  n.checked_commit = std::min(n.checked_commit, n.storage->hard_state().commit());
  Config c;
  c.id = id;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.storage = n.storage.get();
  c.applied = n.applied;
  // Tunables vary with the seed (same for every node of a run) so that the
  // flow-control and size limits are exercised in many combinations.
  util::Rng knobs(seed_ ^ 0x5eed);
  c.max_size_per_msg = knobs.Chance(0.2) ? 0 : knobs.Range(1, 8) * 64;  // 0: one entry
  c.max_inflight_msgs = knobs.Range(1, 8);
  c.max_inflight_bytes = knobs.Chance(0.3) ? knobs.Range(1, 8) * 64 : 0;
  c.max_committed_size_per_ready = knobs.Chance(0.3) ? knobs.Range(1, 4) * 64 : 0;
  c.max_uncommitted_entries_size = knobs.Chance(0.2) ? knobs.Range(2, 16) * 32 : 0;
  c.check_quorum = seed_ % 2 == 0;
  c.pre_vote = (seed_ / 2) % 2 == 0;
  c.rng_seed = seed_;
  auto raw = RawNode::Create(c);
  if (!raw.ok()) {
    Fail(absl::StrCat("restart of ", id, " failed: ", raw.status().ToString()));
    return;
  }
  n.raw = std::move(*raw);
  Trace(absl::StrCat("start node ", id, " applied=", n.applied,
                     " commit=", n.storage->hard_state().commit()));
}

void Simulation::Crash(NodeId id) {
  Node& n = *nodes_.at(id);
  n.raw.reset();
  n.snap_reports.clear();
  n.unreachable_reports.clear();
  Trace(absl::StrCat("crash node ", id));
}

std::vector<NodeId> Simulation::UpNodes() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) {
    if (n->raw) out.push_back(id);
  }
  return out;
}

Simulation::Node* Simulation::LeaderNode() {
  Node* best = nullptr;
  for (auto& [id, n] : nodes_) {
    if (!n->raw || n->raw->raft().state() != StateType::kLeader) continue;
    if (best == nullptr || n->raw->raft().term() > best->raw->raft().term()) best = n.get();
  }
  return best;
}

// ---- Ready handling ------------------------------------------------------

void Simulation::HandleReady(Node& n) {
  while (n.raw && n.raw->HasReady() && failure_.empty()) {
    Ready rd = n.raw->GetReady();
    if (rd.soft_state) {
      Trace(absl::StrCat("node ", n.id, " ", DescribeSoftState(*rd.soft_state), " term ",
                         n.raw->raft().term()));
    }
    // 1. Persist.
    if (rd.hard_state) n.storage->SetHardState(*rd.hard_state);
    if (!IsEmptySnap(rd.snapshot)) {
      if (absl::Status s = n.storage->ApplySnapshot(rd.snapshot); !s.ok()) {
        Fail(absl::StrCat("node ", n.id, " ApplySnapshot: ", s.ToString()));
        return;
      }
    }
    if (!rd.entries.empty()) {
      if (absl::Status s = n.storage->Append(rd.entries); !s.ok()) {
        Fail(absl::StrCat("node ", n.id, " Append: ", s.ToString()));
        return;
      }
      // Log matching: (index, term) names one entry and one predecessor.
      for (size_t k = 0; k < rd.entries.size(); ++k) {
        const Entry& e = rd.entries[k];
        Term prev = 0;
        if (k > 0) {
          prev = rd.entries[k - 1].term();
        } else {
          auto t = n.storage->TermAt(e.index() - 1);
          prev = t.ok() ? *t : 0;
        }
        auto [it, inserted] =
            log_ids_.emplace(std::make_pair(e.index(), e.term()), std::make_pair(EntryHash(e), prev));
        if (!inserted && it->second != std::make_pair(EntryHash(e), prev)) {
          Fail(absl::StrCat("log matching violated at ", e.term(), "/", e.index(), " on node ",
                            n.id));
          return;
        }
      }
    }
    // 2. Send.
    SendAll(n.id, std::move(rd.messages));
    // 3. Apply.
    if (!IsEmptySnap(rd.snapshot)) InstallSnapshot(n, rd.snapshot);
    for (const Entry& e : rd.committed_entries) {
      ApplyEntry(n, e);
      if (!failure_.empty()) return;
    }
    for (const ReadState& rs : rd.read_states) {
      auto it = reads_.find(rs.request_ctx);
      if (it == reads_.end()) continue;
      if (rs.index < it->second) {
        Fail(absl::StrCat("ReadIndex ", rs.request_ctx, " on node ", n.id, " returned ", rs.index,
                          " < commit index ", it->second, " at issue time"));
        return;
      }
      reads_.erase(it);
      ++reads_served_;
    }
    MaybeInterleave(n);
    // 4. Advance.
    n.raw->Advance();
    if (n.stopped) {
      n.raw.reset();
      Trace(absl::StrCat("node ", n.id, " stops: removed from the cluster"));
      return;
    }
    MaybeCompact(n);
  }
}

void Simulation::ApplyEntry(Node& n, const Entry& e) {
  if (e.index() != n.applied + 1) {
    Fail(absl::StrCat("node ", n.id, " applies ", e.index(), " after ", n.applied));
    return;
  }
  const uint64_t h = Mix(Mix(n.hash, e.index()), Mix(e.term(), EntryHash(e)));
  if (ref_hash_.size() > e.index()) {
    if (ref_hash_[e.index()] != h) {
      Fail(absl::StrCat("state machine safety: node ", n.id, " applied a different entry at ",
                        e.index(), " (", DescribeEntry(e), ")"));
      return;
    }
  } else if (ref_hash_.size() == e.index()) {
    ref_hash_.push_back(h);
  } else {
    Fail(absl::StrCat("reference gap at ", e.index()));
    return;
  }
  n.applied = e.index();
  n.hash = h;
  if (e.data() == absl::StrCat("live-", seed_)) n.live_applied = true;
  if (e.type() != pb::EntryConfChange) return;
  ConfChange cc;
  cc.ParseFromString(e.data());
  const bool was_leader = n.raw->raft().state() == StateType::kLeader;
  auto cs = n.raw->ApplyConfChange(cc);
  if (!cs.ok()) return;  // rejected identically everywhere (e.g. removing all voters)
  n.conf = *cs;
  ++conf_changes_applied_;
  Trace(absl::StrCat("node ", n.id, " applied ", DescribeEntry(e), " -> ", DescribeConfState(*cs)));
  if (cc.type() == pb::ConfChangeRemoveNode) {
    if (cc.node_id() == n.id && was_leader) {
      ++leader_removals_;
      if (n.raw->raft().state() == StateType::kLeader) Fail("removed leader did not step down");
    }
    auto it = nodes_.find(cc.node_id());
    if (it != nodes_.end() && !it->second->stopped) {
      it->second->stopped = true;
      // Another node: stop it now; ourselves: after Advance.
      if (it->second.get() != &n && it->second->raw) {
        it->second->raw.reset();
        Trace(absl::StrCat("node ", cc.node_id(), " stops: removed from the cluster"));
      }
    }
  }
}

void Simulation::InstallSnapshot(Node& n, const Snapshot& s) {
  std::vector<std::string> parts = absl::StrSplit(s.data(), ' ');
  Index idx = 0;
  uint64_t h = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &idx) || !absl::SimpleAtoi(parts[1], &h) ||
      idx != s.metadata().index()) {
    Fail(absl::StrCat("node ", n.id, " got malformed snapshot ", DescribeSnapshot(s)));
    return;
  }
  if (idx >= ref_hash_.size() || ref_hash_[idx] != h) {
    Fail(absl::StrCat("node ", n.id, " installed a snapshot at ", idx, " that diverges"));
    return;
  }
  if (n.id > static_cast<NodeId>(opts_.nodes) && n.applied == 0) ++new_node_snapshot_catchups_;
  n.applied = idx;
  n.hash = h;
  n.conf = s.metadata().conf_state();
  ++snapshots_installed_;
  Trace(absl::StrCat("node ", n.id, " installed snapshot ", DescribeSnapshot(s)));
}

void Simulation::MaybeCompact(Node& n) {
  const Index snap_index = n.storage->FirstIndex() - 1;
  if (n.applied < snap_index + static_cast<Index>(opts_.compact_every)) return;
  auto snap = n.storage->CreateSnapshot(n.applied, n.conf, absl::StrCat(n.applied, " ", n.hash));
  if (!snap.ok()) {
    Fail(absl::StrCat("CreateSnapshot: ", snap.status().ToString()));
    return;
  }
  const Index keep = rng_.Uniform(5);
  if (n.applied > keep && n.applied - keep > snap_index) (void)n.storage->Compact(n.applied - keep);
}

// ---- network ---------------------------------------------------------------

void Simulation::SendAll(NodeId from, std::vector<Message> msgs) {
  for (Message& m : msgs) {
    if (opts_.verbose) Trace(absl::StrCat("send ", DescribeMessage(m)));
    const bool cut = cut_.count({from, m.to()}) > 0;
    if (cut || rng_.Chance(opts_.drop)) {
      Node& sender = *nodes_.at(from);
      if (m.type() == pb::MsgSnap) sender.snap_reports.emplace_back(m.to(), false);
      if (cut && rng_.Chance(0.3)) sender.unreachable_reports.push_back(m.to());
      continue;
    }
    if (rng_.Chance(opts_.duplicate)) {
      const uint64_t at = now_ + rng_.Range(1, opts_.max_delay);
      inflight_.emplace(at, InFlight{at, seq_++, m});
    }
    const uint64_t at = now_ + rng_.Range(1, opts_.max_delay);
    inflight_.emplace(at, InFlight{at, seq_++, std::move(m)});
  }
}

void Simulation::DeliverDue() {
  while (!inflight_.empty() && inflight_.begin()->first <= now_ && failure_.empty()) {
    InFlight f = std::move(inflight_.begin()->second);
    inflight_.erase(inflight_.begin());
    const NodeId from = f.msg.from(), to = f.msg.to();
    const bool is_snap = f.msg.type() == pb::MsgSnap;
    auto it = nodes_.find(to);
    const bool ok = it != nodes_.end() && it->second->raw && cut_.count({from, to}) == 0;
    if (opts_.verbose) Trace(absl::StrCat(ok ? "deliver " : "lost ", DescribeMessage(f.msg)));
    if (ok) {
      (void)it->second->raw->Step(std::move(f.msg));
      HandleReady(*it->second);
    }
    if (is_snap) {
      auto s = nodes_.find(from);
      if (s != nodes_.end() && s->second->raw) s->second->snap_reports.emplace_back(to, ok);
    }
  }
}

void Simulation::MaybeInterleave(Node& n) {
  if (!n.raw || !rng_.Chance(opts_.interleave)) return;
  for (auto it = inflight_.begin(); it != inflight_.end() && it->first <= now_; ++it) {
    if (it->second.msg.to() != n.id || cut_.count({it->second.msg.from(), n.id})) continue;
    Message m = std::move(it->second.msg);
    inflight_.erase(it);
    if (opts_.verbose) Trace(absl::StrCat("deliver (before Advance) ", DescribeMessage(m)));
    const bool is_snap = m.type() == pb::MsgSnap;
    const NodeId from = m.from();
    (void)n.raw->Step(std::move(m));
    if (is_snap) {
      auto s = nodes_.find(from);
      if (s != nodes_.end() && s->second->raw) s->second->snap_reports.emplace_back(n.id, true);
    }
    return;
  }
}

// ---- driver ------------------------------------------------------------------

void Simulation::RandomEvent() {
  std::vector<NodeId> up = UpNodes();
  if (!up.empty() && rng_.Chance(opts_.propose)) {
    Node& n = *nodes_.at(up[rng_.Uniform(up.size())]);
    (void)n.raw->Propose(absl::StrCat("p", proposals_++));
    HandleReady(n);
  }
  if (up.size() > 1 && rng_.Chance(opts_.crash)) Crash(up[rng_.Uniform(up.size())]);
  if (rng_.Chance(opts_.restart)) {
    std::vector<NodeId> down;
    for (auto& [id, n] : nodes_) {
      if (!n->raw && !n->stopped) down.push_back(id);
    }
    if (!down.empty()) Restart(down[rng_.Uniform(down.size())]);
  }
  if (rng_.Chance(opts_.partition)) {
    std::vector<NodeId> side_a, side_b;
    for (auto& [id, n] : nodes_) (rng_.Chance(0.5) ? side_a : side_b).push_back(id);
    for (NodeId a : side_a) {
      for (NodeId b : side_b) {
        cut_.insert({a, b});
        cut_.insert({b, a});
      }
    }
    Trace(absl::StrCat("partition ", side_a.size(), "/", side_b.size()));
  }
  if (!cut_.empty() && rng_.Chance(opts_.heal)) {
    cut_.clear();
    Trace("heal");
  }
  if (rng_.Chance(opts_.transfer)) {
    if (Node* l = LeaderNode()) {
      const ConfState cs = l->raw->raft().tracker().GetConfState();
      if (cs.voters_size() > 0) {
        const NodeId target = cs.voters(static_cast<int>(rng_.Uniform(cs.voters_size())));
        Trace(absl::StrCat("transfer leader ", l->id, " -> ", target));
        l->raw->TransferLeader(target);
        HandleReady(*l);
      }
    }
  }
  up = UpNodes();
  if (!up.empty() && rng_.Chance(opts_.read_index)) {
    Node& n = *nodes_.at(up[rng_.Uniform(up.size())]);
    std::string ctx = absl::StrCat("r", seq_++);
    reads_[ctx] = max_commit_;
    (void)n.raw->ReadIndex(std::move(ctx));
    HandleReady(n);
  }
  if (rng_.Chance(opts_.membership)) ProposeMembership();
}

void Simulation::ProposeMembership() {
  Node* l = LeaderNode();
  if (l == nullptr) return;
  const auto& cfg = l->raw->raft().tracker().config();
  ConfChange cc;
  const uint64_t roll = rng_.Uniform(10);
  const size_t members = cfg.voters.size() + cfg.learners.size();
  if (roll < 4 && members < static_cast<size_t>(opts_.nodes) + 2 &&
      next_id_ <= static_cast<NodeId>(opts_.nodes) + 8) {
    const NodeId id = next_id_++;
    StartNode(id, false);  // empty storage: learns everything from the leader
    cc.set_type(rng_.Chance(0.5) ? pb::ConfChangeAddNode : pb::ConfChangeAddLearnerNode);
    cc.set_node_id(id);
  } else if (roll < 6 && !cfg.learners.empty()) {
    cc.set_type(pb::ConfChangeAddNode);  // promote
    cc.set_node_id(*cfg.learners.begin());
  } else if (cfg.voters.size() >= 3) {
    cc.set_type(pb::ConfChangeRemoveNode);
    if (rng_.Chance(0.3)) {
      cc.set_node_id(l->id);  // remove the leader itself
    } else {
      std::vector<NodeId> all(cfg.voters.begin(), cfg.voters.end());
      all.insert(all.end(), cfg.learners.begin(), cfg.learners.end());
      cc.set_node_id(all[rng_.Uniform(all.size())]);
    }
  } else {
    return;
  }
  Trace(absl::StrCat("propose ", pb::ConfChangeType_Name(cc.type()), " ", cc.node_id(), " at ",
                     l->id));
  (void)l->raw->ProposeConfChange(cc);
  HandleReady(*l);
}

void Simulation::Step() {
  ++now_;
  for (NodeId id : UpNodes()) {
    Node& n = *nodes_.at(id);
    if (!n.raw) continue;
    if (rng_.Chance(0.97)) n.raw->Tick();  // small clock skew
    if (opts_.verbose && getenv("QUORUM_SIM_TICKS")) {
      const Raft& r = n.raw->raft();
      Trace(absl::StrCat("tick node ", id, " ", StateTypeName(r.state()), " elapsed=",
                         r.election_elapsed(), "/", r.randomized_election_timeout(),
                         " promotable=", r.Promotable(), " applied=", r.raft_log().applied(),
                         " commit=", r.raft_log().committed()));
    }
    HandleReady(n);
  }
  RandomEvent();
  DeliverDue();
  for (NodeId id : UpNodes()) {
    Node& n = *nodes_.at(id);
    if (!n.raw) continue;
    for (auto [to, ok] : std::exchange(n.snap_reports, {})) n.raw->ReportSnapshot(to, ok);
    for (NodeId to : std::exchange(n.unreachable_reports, {})) n.raw->ReportUnreachable(to);
    HandleReady(n);
  }
  CheckInvariants();
}

void Simulation::CheckInvariants() {
  for (auto& [id, np] : nodes_) {
    Node& n = *np;
    if (!n.raw || !failure_.empty()) continue;
    const Raft& r = n.raw->raft();
    if (r.state() == StateType::kLeader) {
      auto [it, inserted] = leaders_.emplace(r.term(), id);
      if (!inserted && it->second != id) {
        Fail(absl::StrCat("election safety: nodes ", it->second, " and ", id,
                          " both leader in term ", r.term()));
        return;
      }
      if (inserted) CheckNewLeader(n);
    }
    const RaftLog& log = r.raft_log();
    for (Index i = n.checked_commit + 1; i <= log.committed(); ++i) {
      auto t = log.TermAt(i);
      if (!t.ok()) continue;  // compacted: covered by the snapshot checks
      auto [it, inserted] = committed_terms_.emplace(i, *t);
      if (!inserted && it->second != *t) {
        Fail(absl::StrCat("committed entry changed at ", i, ": term ", it->second, " vs ", *t,
                          " on node ", id));
        return;
      }
    }
    n.checked_commit = std::max(n.checked_commit, log.committed());
    max_commit_ = std::max(max_commit_, log.committed());
  }
}

void Simulation::CheckNewLeader(Node& n) {
  const RaftLog& log = n.raw->raft().raft_log();
  Trace(absl::StrCat("node ", n.id, " leader of term ", n.raw->raft().term(),
                     " last=", log.LastIndex()));
  for (Index i = log.FirstIndex(); i <= max_commit_; ++i) {
    auto want = committed_terms_.find(i);
    if (want == committed_terms_.end()) continue;
    auto got = log.TermAt(i);
    if (!got.ok() || *got != want->second) {
      Fail(absl::StrCat("leader completeness: new leader ", n.id, " lacks committed entry ",
                        want->second, "/", i));
      return;
    }
  }
}

bool Simulation::Liveness() {
  cut_.clear();
  opts_.drop = 0;
  opts_.duplicate = 0;
  for (auto& [id, n] : nodes_) {
    if (!n->raw && !n->stopped) Restart(id);
  }
  Trace("liveness phase: healed, all members up");
  const SimOptions saved = opts_;
  opts_.propose = opts_.crash = opts_.restart = opts_.partition = opts_.transfer = 0;
  opts_.membership = 0;
  // A healed network is a good one: broadcast time well below the election
  // timeout (§5.6), otherwise split votes can repeat for a long time.
  opts_.max_delay = std::min(opts_.max_delay, 2);
  const uint64_t deadline = now_ + opts_.liveness_ticks;
  uint64_t next_propose = now_;
  while (now_ < deadline && failure_.empty()) {
    Step();
    Node* l = LeaderNode();
    if (l == nullptr) continue;
    if (now_ >= next_propose) {
      (void)l->raw->Propose(absl::StrCat("live-", seed_));
      HandleReady(*l);
      next_propose = now_ + 50;  // re-propose if lost in a leader change
    }
    bool all = true;
    const auto& cfg = l->raw->raft().tracker().config();
    for (auto& [id, n] : nodes_) {
      const bool member = cfg.voters.count(id) || cfg.learners.count(id);
      if (member && !n->stopped && !n->live_applied) all = false;
    }
    if (all) {
      opts_ = saved;
      return true;
    }
  }
  opts_ = saved;
  return false;
}

std::string Simulation::Run() {
  for (int i = 0; i < opts_.steps && failure_.empty(); ++i) Step();
  if (failure_.empty() && !Liveness() && failure_.empty()) {
    Fail(absl::StrCat("liveness: no leader committed a proposal on every member within ",
                      opts_.liveness_ticks, " ticks after healing"));
  }
  return failure_;
}

}  // namespace quorum::raft::sim
