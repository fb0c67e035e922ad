// Scenario tests for single-step membership changes (thesis §4.1): adding
// voters and learners (catching up by log or snapshot), promotion, removal
// (including the leader), and the one-change-in-flight rule.
#include <gtest/gtest.h>

#include "raft/bootstrap.h"
#include "raft/errors.h"
#include "raft/raft_test_util.h"

namespace quorum::raft {
namespace {

using testing::MakeRaft;
using testing::Msg;
using testing::Network;
using testing::ReadMessages;
using testing::TestRaft;

// A cluster bootstrapped with the membership in the log (as in production),
// so that nodes added later learn it by replication.
Network BootstrappedNetwork(std::vector<NodeId> ids) {
  std::map<NodeId, std::unique_ptr<MemoryStorage>> st;
  for (NodeId id : ids) {
    st[id] = std::make_unique<MemoryStorage>();
    EXPECT_TRUE(Bootstrap(*st[id], ids).ok());
  }
  return Network(std::move(st));
}

std::set<NodeId> Voters(Network& n, NodeId id) { return n.raft(id).tracker().config().voters; }
std::set<NodeId> Learners(Network& n, NodeId id) { return n.raft(id).tracker().config().learners; }

TEST(MembershipTest, BootstrapAppliesFoundingMembership) {
  Network n = BootstrappedNetwork({1, 2, 3});
  for (NodeId id : {1, 2, 3}) EXPECT_EQ(Voters(n, id), (std::set<NodeId>{1, 2, 3}));
  n.Campaign(1);
  EXPECT_EQ(n.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(n.raft(1).term(), 2u);  // bootstrap entries are at term 1
}

TEST(MembershipTest, AddedVoterCatchesUpFromLog) {
  Network n = BootstrappedNetwork({1, 2, 3});
  n.Campaign(1);
  ASSERT_TRUE(n.Propose(1, "before").ok());
  n.AddNode(4, std::make_unique<MemoryStorage>());
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeAddNode, 4).ok());
  n.Tick(1);  // heartbeat reaches the new node
  ASSERT_TRUE(n.Propose(1, "after").ok());
  for (NodeId id : {1, 2, 3, 4}) EXPECT_EQ(Voters(n, id), (std::set<NodeId>{1, 2, 3, 4})) << id;
  EXPECT_EQ(n.applied(4), (std::vector<std::string>{"before", "after"}));
}

TEST(MembershipTest, AddedVoterCatchesUpBySnapshot) {
  Network n = BootstrappedNetwork({1, 2, 3});
  n.Campaign(1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(n.Propose(1, "x").ok());
  // Compact the leader's log before the new member exists: its snapshot's
  // configuration does not contain the new node yet.
  const Index applied = n.raft(1).raft_log().applied();
  ASSERT_TRUE(n.storage(1).CreateSnapshot(applied, n.raft(1).tracker().GetConfState(), "s").ok());
  ASSERT_TRUE(n.storage(1).Compact(applied).ok());
  n.AddNode(4, std::make_unique<MemoryStorage>());
  n.ClearSent();
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeAddNode, 4).ok());
  n.Tick(1, 3);
  EXPECT_EQ(n.CountSent(pb::MsgSnap, 1, 4), 1);
  ASSERT_TRUE(n.Propose(1, "after").ok());
  EXPECT_EQ(Voters(n, 4), (std::set<NodeId>{1, 2, 3, 4}));
  EXPECT_EQ(n.applied(4), (std::vector<std::string>{"after"}));
  EXPECT_EQ(n.raft(4).raft_log().committed(), n.raft(1).raft_log().committed());
}

TEST(MembershipTest, RemovedVoterNoLongerCountsForQuorum) {
  Network n({1, 2, 3});
  n.Campaign(1);
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeRemoveNode, 3).ok());
  EXPECT_EQ(Voters(n, 1), (std::set<NodeId>{1, 2}));
  n.Isolate(3);
  ASSERT_TRUE(n.Propose(1, "two of two").ok());
  EXPECT_EQ(n.applied(2), std::vector<std::string>{"two of two"});
  // The removed node cannot campaign: it is not in its own configuration.
  EXPECT_FALSE(n.raft(3).Promotable());
}

TEST(MembershipTest, RemovedLeaderStepsDownAndOthersElect) {
  Network n({1, 2, 3});
  n.Campaign(1);
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeRemoveNode, 1).ok());
  EXPECT_EQ(n.raft(1).state(), StateType::kFollower);
  EXPECT_FALSE(n.raft(1).Promotable());
  n.Tick(1, 50);  // never campaigns again
  EXPECT_EQ(n.raft(1).state(), StateType::kFollower);
  n.Isolate(1);
  n.Tick(2, 30);
  NodeId leader = n.raft(2).state() == StateType::kLeader ? 2 : 3;
  EXPECT_EQ(n.raft(leader).state(), StateType::kLeader);
  ASSERT_TRUE(n.Propose(leader, "new era").ok());
  EXPECT_EQ(n.applied(2).back(), "new era");
  EXPECT_EQ(n.applied(3).back(), "new era");
}

TEST(MembershipTest, LearnerReplicatesButNeitherVotesNorCampaigns) {
  Network n = BootstrappedNetwork({1, 2, 3});
  n.Campaign(1);
  n.AddNode(4, std::make_unique<MemoryStorage>());
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeAddLearnerNode, 4).ok());
  n.Tick(1);
  ASSERT_TRUE(n.Propose(1, "x").ok());
  EXPECT_EQ(Learners(n, 4), std::set<NodeId>{4});
  EXPECT_TRUE(n.raft(4).is_learner());
  EXPECT_EQ(n.applied(4), std::vector<std::string>{"x"});
  // A learner's ack does not count: with 2 and 3 cut off nothing commits.
  n.Isolate(2);
  n.Isolate(3);
  const Index before = n.raft(1).raft_log().committed();
  ASSERT_TRUE(n.Propose(1, "y").ok());
  EXPECT_EQ(n.raft(1).raft_log().committed(), before);
  // And it never campaigns.
  n.Isolate(4);
  n.Tick(4, 100);
  EXPECT_EQ(n.raft(4).state(), StateType::kFollower);
}

TEST(MembershipTest, PromotedLearnerBecomesVoter) {
  Network n = BootstrappedNetwork({1, 2, 3});
  n.Campaign(1);
  n.AddNode(4, std::make_unique<MemoryStorage>());
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeAddLearnerNode, 4).ok());
  n.Tick(1);
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeAddNode, 4).ok());
  for (NodeId id : {1, 2, 3, 4}) {
    EXPECT_EQ(Voters(n, id), (std::set<NodeId>{1, 2, 3, 4})) << id;
    EXPECT_TRUE(Learners(n, id).empty()) << id;
  }
  EXPECT_FALSE(n.raft(4).is_learner());
  n.TransferLeader(1, 4);
  EXPECT_EQ(n.raft(4).state(), StateType::kLeader);
}

TEST(MembershipTest, TransferToLearnerIsIgnored) {
  Network n = BootstrappedNetwork({1, 2, 3});
  n.Campaign(1);
  n.AddNode(4, std::make_unique<MemoryStorage>());
  ASSERT_TRUE(n.ProposeConfChange(1, pb::ConfChangeAddLearnerNode, 4).ok());
  n.TransferLeader(1, 4);
  EXPECT_EQ(n.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(n.raft(1).lead_transferee(), kNone);
}

// A proposal (from node 1 to itself) adding `target` as a learner.
Message ConfProp(NodeId target) {
  ConfChange cc;
  cc.set_type(pb::ConfChangeAddLearnerNode);
  cc.set_node_id(target);
  Message m = Msg(1, 1, pb::MsgProp);
  Entry* e = m.add_entries();
  e->set_type(pb::EntryConfChange);
  e->set_data(cc.SerializeAsString());
  return m;
}

TEST(MembershipTest, OnlyOneConfChangeInFlight) {
  TestRaft r = MakeRaft(1, {1});
  r->BecomeCandidate();
  r->BecomeLeader();
  testing::PersistAndApply(*r, *r.storage);
  ASSERT_TRUE(r->Step(ConfProp(4)).ok());
  ASSERT_TRUE(r->Step(ConfProp(5)).ok());  // accepted, but as a no-op
  const EntryVec& ents = r->raft_log().unstable().entries();
  ASSERT_EQ(ents.size(), 2u);
  EXPECT_EQ(DescribeEntry(ents[0]), "1/2 EntryConfChange ConfChangeAddLearnerNode 4");
  EXPECT_EQ(DescribeEntry(ents[1]), "1/3 EntryNormal");
  // Once the first is applied, a new change is accepted again.
  testing::PersistAndApply(*r, *r.storage);
  ASSERT_TRUE(r->Step(ConfProp(5)).ok());
  EXPECT_EQ(DescribeEntry(r->raft_log().unstable().entries().back()),
            "1/4 EntryConfChange ConfChangeAddLearnerNode 5");
}

TEST(MembershipTest, LeaderAdmissionHookTurnsARefusedChangeIntoItsRefusalRecord) {
  std::vector<std::pair<pb::ConfChangeType, size_t>> asked;
  TestRaft r = MakeRaft(1, {1}, 10, 1, [&](Config& c) {
    c.admit_conf_change = [&](const Entry& e, const std::map<NodeId, Progress>& prs,
                              std::string* refusal) {
      ConfChange cc;
      EXPECT_TRUE(cc.ParseFromString(e.data()));
      asked.emplace_back(cc.type(), prs.size());
      if (cc.node_id() != 5) return true;
      *refusal = "node 5 refused";  // refuse changes of node 5
      return false;
    };
  });
  r->BecomeCandidate();
  r->BecomeLeader();
  testing::PersistAndApply(*r, *r.storage);
  ASSERT_TRUE(r->Step(ConfProp(5)).ok());
  EXPECT_EQ(DescribeEntry(r->raft_log().unstable().entries().back()),
            "1/2 EntryNormal \"node 5 refused\"");
  // A refused change leaves no change pending: the next is admitted at once.
  ASSERT_TRUE(r->Step(ConfProp(4)).ok());
  EXPECT_EQ(DescribeEntry(r->raft_log().unstable().entries().back()),
            "1/3 EntryConfChange ConfChangeAddLearnerNode 4");
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0].second, 1u);  // the leader's progress map
}

TEST(MembershipTest, ApplyConfChangeReturnsNewConfStateAndRejectsRemovingAllVoters) {
  TestRaft r = MakeRaft(1, {1, 2});
  ConfChange cc;
  cc.set_type(pb::ConfChangeAddLearnerNode);
  cc.set_node_id(3);
  auto cs = r->ApplyConfChange(cc);
  ASSERT_TRUE(cs.ok());
  EXPECT_EQ(DescribeConfState(*cs), "Voters:[1 2] Learners:[3]");
  cc.set_type(pb::ConfChangeRemoveNode);
  cc.set_node_id(2);
  ASSERT_TRUE(r->ApplyConfChange(cc).ok());
  cc.set_node_id(1);
  EXPECT_FALSE(r->ApplyConfChange(cc).ok());
  EXPECT_EQ(DescribeConfState(r->tracker().GetConfState()), "Voters:[1] Learners:[3]");
}

TEST(MembershipTest, CampaignWaitsForCommittedConfChangesToApply) {
  auto s = testing::NewStorage({1, 2, 3});
  ConfChange cc;
  cc.set_type(pb::ConfChangeAddLearnerNode);
  cc.set_node_id(4);
  Entry e = testing::MakeEntry(1, 1, cc.SerializeAsString());
  e.set_type(pb::EntryConfChange);
  ASSERT_TRUE(s->Append(EntryVec{e}).ok());
  HardState hs;
  hs.set_term(1);
  hs.set_commit(1);
  s->SetHardState(hs);
  TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, std::move(s));
  // A committed configuration change is not applied yet: no campaign, since
  // our view of the membership may be stale.
  ASSERT_TRUE(r->Step(Msg(1, 1, pb::MsgHup)).ok());
  EXPECT_EQ(r->state(), StateType::kFollower);
  testing::PersistAndApply(*r, *r.storage);
  ASSERT_TRUE(r->Step(Msg(1, 1, pb::MsgHup)).ok());
  EXPECT_EQ(r->state(), StateType::kCandidate);
}

}  // namespace
}  // namespace quorum::raft
