#include "interaction_env.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "raft/describe.h"

namespace quorum::raft::testing {
namespace {

NodeId ToId(const std::string& s) {
  NodeId id = 0;
  (void)absl::SimpleAtoi(s, &id);
  return id;
}

std::string Indent(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    absl::StrAppend(&out, "  ", text.substr(start, end - start), "\n");
    start = end + 1;
  }
  return out;
}

}  // namespace

void InteractionEnv::AddNode(NodeId id, std::unique_ptr<MemoryStorage> s,
                             const datadriven::TestData& d) {
  Config c;
  c.id = id;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.storage = s.get();
  c.max_inflight_msgs = 256;
  c.pre_vote = pre_vote_;
  c.check_quorum = check_quorum_;
  c.rng_seed = 1;
  auto raw = RawNode::Create(c);
  if (!raw.ok()) std::abort();
  nodes_[id] = Node{std::move(s), std::move(*raw), {}};
}

void InteractionEnv::ProcessReady(NodeId id, std::string& out) {
  Node& n = nodes_.at(id);
  if (!n.raw->HasReady()) {
    absl::StrAppend(&out, "> ", id, " has no Ready\n");
    return;
  }
  Ready rd = n.raw->GetReady();
  absl::StrAppend(&out, "> ", id, " handling Ready\n", Indent(DescribeReady(rd)));
  if (rd.hard_state) n.storage->SetHardState(*rd.hard_state);
  if (!IsEmptySnap(rd.snapshot)) (void)n.storage->ApplySnapshot(rd.snapshot);
  if (!rd.entries.empty()) (void)n.storage->Append(rd.entries);
  for (Message& m : rd.messages) queue_.push_back(std::move(m));
  for (const Entry& e : rd.committed_entries) {
    if (e.type() == pb::EntryConfChange) {
      ConfChange cc;
      cc.ParseFromString(e.data());
      auto cs = n.raw->ApplyConfChange(cc);
      absl::StrAppend(&out, "  applied ", DescribeEntry(e), " -> ",
                      cs.ok() ? DescribeConfState(*cs) : cs.status().ToString(), "\n");
    } else if (!e.data().empty()) {
      n.applied.push_back(e.data());
    }
  }
  n.raw->Advance();
}

void InteractionEnv::DeliverMsgs(NodeId id, bool drop, std::string& out) {
  std::vector<Message> mine, rest;
  for (Message& m : queue_) (m.to() == id ? mine : rest).push_back(std::move(m));
  queue_ = std::move(rest);
  if (mine.empty()) return;
  absl::StrAppend(&out, "> ", id, " receiving messages\n");
  for (Message& m : mine) {
    const bool lost = drop || isolated_.count(m.from()) || isolated_.count(m.to());
    absl::StrAppend(&out, "  ", lost ? "dropped: " : "", DescribeMessage(m), "\n");
    if (lost || !nodes_.count(id)) continue;
    absl::Status s = raw(id).Step(std::move(m));
    if (!s.ok()) absl::StrAppend(&out, "  error: ", s.message(), "\n");
  }
}

void InteractionEnv::Stabilize(std::string& out) {
  for (int round = 0; round < 1000; ++round) {
    bool progress = false;
    for (auto& [id, n] : nodes_) {
      if (n.raw->HasReady()) {
        ProcessReady(id, out);
        progress = true;
      }
    }
    for (auto& [id, n] : nodes_) {
      for (const Message& m : queue_) {
        if (m.to() == id) {
          DeliverMsgs(id, false, out);
          progress = true;
          break;
        }
      }
    }
    if (!progress) return;
  }
  absl::StrAppend(&out, "stabilize did not converge\n");
}

std::string InteractionEnv::Handle(const datadriven::TestData& d) {
  std::string out;
  const auto& a = d.args;
  auto arg = [&](size_t i) { return i < a.size() ? ToId(a[i]) : 0; };
  if (d.cmd == "add-nodes") {
    pre_vote_ = d.Get("pre-vote") == "true";
    check_quorum_ = d.Get("check-quorum") == "true";
    const NodeId n = arg(0);
    ConfState cs;
    for (NodeId id = 1; id <= n; ++id) cs.add_voters(id);
    // Founders start from a snapshot at index 1 holding the configuration
    // (as etcd's rafttest does), so that nodes added later learn it from the
    // leader's snapshot.
    Snapshot snap;
    snap.mutable_metadata()->set_index(1);
    snap.mutable_metadata()->set_term(1);
    *snap.mutable_metadata()->mutable_conf_state() = cs;
    for (NodeId id = 1; id <= n; ++id) {
      auto s = std::make_unique<MemoryStorage>();
      (void)s->ApplySnapshot(snap);
      AddNode(id, std::move(s), d);
    }
  } else if (d.cmd == "add-node") {
    AddNode(arg(0), std::make_unique<MemoryStorage>(), d);
  } else if (d.cmd == "campaign") {
    if (absl::Status s = raw(arg(0)).Campaign(); !s.ok()) out = std::string(s.message());
  } else if (d.cmd == "propose") {
    if (absl::Status s = raw(arg(0)).Propose(a.at(1)); !s.ok()) out = std::string(s.message());
  } else if (d.cmd == "read-index") {
    if (absl::Status s = raw(arg(0)).ReadIndex(a.at(1)); !s.ok()) out = std::string(s.message());
  } else if (d.cmd == "transfer-leader") {
    raw(arg(0)).TransferLeader(arg(1));
  } else if (d.cmd == "propose-conf-change") {
    ConfChange cc;
    const std::string& t = a.at(1);
    cc.set_type(t == "add"        ? pb::ConfChangeAddNode
                : t == "remove"   ? pb::ConfChangeRemoveNode
                                  : pb::ConfChangeAddLearnerNode);
    cc.set_node_id(arg(2));
    if (absl::Status s = raw(arg(0)).ProposeConfChange(cc); !s.ok()) out = std::string(s.message());
  } else if (d.cmd == "tick-election") {
    RawNode& n = raw(arg(0));
    const Raft& r = n.raft();
    int ticks = r.state() == StateType::kLeader
                    ? 10
                    : r.randomized_election_timeout() - r.election_elapsed();
    for (int i = 0; i < ticks; ++i) n.Tick();
  } else if (d.cmd == "tick-heartbeat") {
    raw(arg(0)).Tick();
  } else if (d.cmd == "process-ready") {
    for (size_t i = 0; i < a.size(); ++i) ProcessReady(arg(i), out);
  } else if (d.cmd == "deliver-msgs") {
    for (size_t i = 0; i < a.size(); ++i) DeliverMsgs(arg(i), d.Get("drop") == "true", out);
  } else if (d.cmd == "stabilize") {
    Stabilize(out);
  } else if (d.cmd == "isolate") {
    isolated_.insert(arg(0));
  } else if (d.cmd == "recover") {
    isolated_.clear();
  } else if (d.cmd == "compact") {
    Node& n = nodes_.at(arg(0));
    const Index i = arg(1);
    auto snap = n.storage->CreateSnapshot(i, n.raw->raft().tracker().GetConfState(),
                                          absl::StrCat("snap@", i));
    if (!snap.ok()) return std::string(snap.status().message());
    if (absl::Status s = n.storage->Compact(i); !s.ok()) return std::string(s.message());
  } else if (d.cmd == "report-unreachable") {
    raw(arg(0)).ReportUnreachable(arg(1));
  } else if (d.cmd == "report-snapshot") {
    raw(arg(0)).ReportSnapshot(arg(1), a.size() < 3 || a[2] == "ok");
  } else if (d.cmd == "status") {
    out = DescribeStatus(raw(arg(0)).GetStatus());
  } else if (d.cmd == "raft-log") {
    Node& n = nodes_.at(arg(0));
    const Index first = n.storage->FirstIndex(), last = n.storage->LastIndex();
    if (last < first) {
      out = absl::StrCat("log is empty: first index=", first, ", last index=", last);
    }
    auto ents = n.storage->Entries(first, last + 1, kNoLimit);
    if (ents.ok()) {
      for (const Entry& e : *ents) absl::StrAppend(&out, DescribeEntry(e), "\n");
    }
  } else if (d.cmd == "raft-state") {
    for (auto& [id, n] : nodes_) {
      const Raft& r = n.raw->raft();
      const auto& cfg = r.tracker().config();
      const char* role = cfg.voters.count(id) ? "Voter" : cfg.learners.count(id) ? "Learner"
                                                                                : "Non-Voter";
      absl::StrAppend(&out, id, ": ", StateTypeName(r.state()), " (", role, ") Term:", r.term(),
                      " Lead:", r.lead(), " Commit:", r.raft_log().committed(), "\n");
    }
  } else if (d.cmd == "applied") {
    for (const std::string& s : nodes_.at(arg(0)).applied) absl::StrAppend(&out, s, "\n");
    if (out.empty()) out = "(none)";
  } else {
    out = absl::StrCat("unknown command ", d.cmd);
  }
  return out;
}

}  // namespace quorum::raft::testing
