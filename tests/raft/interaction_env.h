// InteractionEnv: the raft commands of the data-driven scenario files in
// tests/raft/testdata (modelled on etcd's rafttest). Nodes are RawNodes on
// MemoryStorage; nothing happens implicitly — each Ready is processed and
// each message delivered by an explicit command, so files show every step.
//
// Commands:
//   add-nodes N [pre-vote=true] [check-quorum=true]   founders 1..N (snapshot at 1)
//   add-node ID                                       empty node (for conf changes)
//   campaign ID | propose ID DATA | read-index ID CTX | transfer-leader FROM TO
//   propose-conf-change ID (add|remove|add-learner) NODE
//   tick-election ID | tick-heartbeat ID
//   process-ready ID...            print + persist + apply + Advance
//   deliver-msgs [drop=true] ID... deliver (or drop) queued messages to IDs
//   stabilize                      process-ready/deliver-msgs until quiet
//   isolate ID | recover           drop all traffic to/from ID | stop dropping
//   compact ID INDEX               snapshot at INDEX and compact the log
//   report-unreachable FROM TO | report-snapshot FROM TO (ok|failed)
//   status ID | raft-log ID | raft-state
#ifndef QUORUM_TESTS_RAFT_INTERACTION_ENV_H_
#define QUORUM_TESTS_RAFT_INTERACTION_ENV_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "datadriven.h"
#include "raft/memory_storage.h"
#include "raft/raw_node.h"

namespace quorum::raft::testing {

class InteractionEnv {
 public:
  std::string Handle(const datadriven::TestData& d);

 private:
  struct Node {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<RawNode> raw;
    std::vector<std::string> applied;
  };

  void AddNode(NodeId id, std::unique_ptr<MemoryStorage> s, const datadriven::TestData& d);
  void ProcessReady(NodeId id, std::string& out);
  void DeliverMsgs(NodeId id, bool drop, std::string& out);
  void Stabilize(std::string& out);
  RawNode& raw(NodeId id) { return *nodes_.at(id).raw; }

  std::map<NodeId, Node> nodes_;
  std::vector<Message> queue_;  // sent, not yet delivered
  std::set<NodeId> isolated_;
  bool pre_vote_ = false;
  bool check_quorum_ = false;
};

}  // namespace quorum::raft::testing

#endif  // QUORUM_TESTS_RAFT_INTERACTION_ENV_H_
