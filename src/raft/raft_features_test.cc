// Scenario tests for the features beyond the basic paper rules: PreVote,
// CheckQuorum and leases, proposal forwarding, fast backtracking, flow
// control and batching, heartbeats, snapshots, ReadIndex, leadership
// transfer, and the RawNode Ready contract.
#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/raft_test_util.h"

namespace quorum::raft {
namespace {

using testing::Describe;
using testing::MakeEntry;
using testing::MakeRaft;
using testing::Msg;
using testing::Network;
using testing::ReadMessages;
using testing::StorageWithLog;
using testing::TestRaft;

Message AppResp(NodeId from, NodeId to, Term term, Index index) {
  Message m = Msg(from, to, pb::MsgAppResp, term);
  m.set_index(index);
  return m;
}

Message Prop(NodeId from, std::string data) {
  Message m = Msg(from, from, pb::MsgProp);
  m.add_entries()->set_data(std::move(data));
  return m;
}

Message ReadReq(NodeId from, std::string ctx) {
  Message m = Msg(from, from, pb::MsgReadIndex);
  m.add_entries()->set_data(std::move(ctx));
  return m;
}

void ElectAndReplicate(TestRaft& r) {
  r->BecomeCandidate();
  r->BecomeLeader();
  const Index last = r->raft_log().LastIndex();
  for (const auto& [id, pr] : r->tracker().progress()) {
    if (id != r->id()) (void)r->Step(AppResp(id, r->id(), r->term(), last));
  }
  testing::PersistAndApply(*r, *r.storage);
  ReadMessages(*r);
}

int CountType(const std::vector<Message>& ms, MessageType t, NodeId to = kNone) {
  int n = 0;
  for (const Message& m : ms) n += m.type() == t && (to == kNone || m.to() == to);
  return n;
}

// ---- PreVote (thesis §9.6) -------------------------------------------------

TEST(PreVoteTest, IsolatedNodeDoesNotInflateItsTerm) {
  Network n({1, 2, 3}, [](Config& c) { c.pre_vote = true; });
  n.Campaign(1);
  ASSERT_EQ(n.raft(1).state(), StateType::kLeader);
  n.Isolate(3);
  n.Tick(3, 100);
  EXPECT_EQ(n.raft(3).term(), 1u);
  EXPECT_EQ(n.raft(3).state(), StateType::kPreCandidate);
  n.Recover();
  n.Tick(1);  // heartbeat brings 3 back as follower
  EXPECT_EQ(n.raft(3).state(), StateType::kFollower);
  EXPECT_EQ(n.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(n.raft(1).term(), 1u);
}

TEST(PreVoteTest, WithoutPreVoteARejoiningNodeDisruptsTheLeader) {
  Network n({1, 2, 3});
  n.Campaign(1);
  n.Isolate(3);
  n.Tick(3, 100);
  EXPECT_GT(n.raft(3).term(), 1u);
  n.Recover();
  n.Tick(3, 40);
  EXPECT_GT(n.raft(1).term(), 1u);  // the old leader was deposed
}

TEST(PreVoteTest, PreCandidateWinsAndThenRunsRealElection) {
  Network n({1, 2, 3}, [](Config& c) { c.pre_vote = true; });
  n.Campaign(1);
  EXPECT_EQ(n.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(n.raft(1).term(), 1u);
  EXPECT_EQ(n.CountSent(pb::MsgPreVote), 2);
  EXPECT_EQ(n.CountSent(pb::MsgVote), 2);
}

// ---- CheckQuorum and leader lease (thesis §6.2, §4.2.3) --------------------

TEST(CheckQuorumTest, IsolatedLeaderStepsDown) {
  Network n({1, 2, 3}, [](Config& c) { c.check_quorum = true; });
  n.Campaign(1);
  n.Isolate(1);
  n.Tick(1, 2 * 10);
  EXPECT_EQ(n.raft(1).state(), StateType::kFollower);
}

TEST(CheckQuorumTest, ConnectedLeaderStaysLeader) {
  Network n({1, 2, 3}, [](Config& c) { c.check_quorum = true; });
  n.Campaign(1);
  n.Tick(1, 5 * 10);
  EXPECT_EQ(n.raft(1).state(), StateType::kLeader);
}

TEST(CheckQuorumTest, FollowersInLeaseIgnoreDisruptiveVotes) {
  Network n({1, 2, 3}, [](Config& c) { c.check_quorum = true; });
  n.Campaign(1);
  n.Campaign(3);  // 3 campaigns at term 2 while 1 is a live leader
  EXPECT_EQ(n.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(n.raft(1).term(), 1u);
  EXPECT_EQ(n.raft(2).term(), 1u);
}

TEST(CheckQuorumTest, StaleLeaderLearnsNewTermFromResponse) {
  TestRaft r = MakeRaft(2, {1, 2, 3}, 10, 1, [](Config& c) { c.check_quorum = true; });
  r->BecomeFollower(5, kNone);
  Message hb = Msg(1, 2, pb::MsgHeartbeat, 3);  // a leader of term 3 is behind
  ASSERT_TRUE(r->Step(hb).ok());
  EXPECT_EQ(Describe(ReadMessages(*r)), std::vector<std::string>{"2->1 MsgAppResp Term:5 Log:0/0"});
}

// ---- Proposals ---------------------------------------------------------------

TEST(ProposalTest, FollowerForwardsToLeader) {
  Network n({1, 2, 3});
  n.Campaign(1);
  ASSERT_TRUE(n.Propose(2, "forwarded").ok());
  for (NodeId id : {1, 2, 3}) EXPECT_EQ(n.applied(id), std::vector<std::string>{"forwarded"});
}

TEST(ProposalTest, DisabledForwardingDropsAtFollower) {
  Network n({1, 2, 3}, [](Config& c) { c.disable_proposal_forwarding = true; });
  n.Campaign(1);
  EXPECT_TRUE(IsErrProposalDropped(n.Propose(2, "x")));
  EXPECT_TRUE(n.Propose(1, "y").ok());
}

TEST(ProposalTest, DroppedWithoutLeader) {
  Network n({1, 2, 3});
  EXPECT_TRUE(IsErrProposalDropped(n.Propose(1, "x")));
}

TEST(ProposalTest, UncommittedSizeLimitDropsProposals) {
  TestRaft r = MakeRaft(1, {1, 2, 3}, 10, 1, [](Config& c) { c.max_uncommitted_entries_size = 10; });
  r->BecomeCandidate();
  r->BecomeLeader();
  EXPECT_TRUE(r->Step(Prop(1, "0123456789")).ok());  // first one always fits
  EXPECT_TRUE(IsErrProposalDropped(r->Step(Prop(1, "x"))));
}

// ---- Log replication: backtracking, flow control, batching -----------------

TEST(ReplicationTest, FastBacktrackingSkipsWholeTerms) {
  std::vector<Term> leader = {1};
  for (int i = 0; i < 50; ++i) leader.push_back(2);
  std::map<NodeId, std::unique_ptr<MemoryStorage>> st;
  st[1] = StorageWithLog({1, 2, 3}, leader, 3);
  st[2] = StorageWithLog({1, 2, 3}, std::vector<Term>(100, 1), 3);
  st[3] = StorageWithLog({1, 2, 3}, leader, 3);
  Network n(std::move(st));
  n.Campaign(1);
  ASSERT_EQ(n.raft(1).state(), StateType::kLeader);
  int rejections = 0;
  for (const Message& m : n.sent()) rejections += m.type() == pb::MsgAppResp && m.reject() && m.from() == 2;
  EXPECT_LE(rejections, 2);  // one-by-one backtracking would need ~50
  EXPECT_EQ(n.LogTerms(1), n.LogTerms(2));
}

TEST(ReplicationTest, InflightWindowLimitsMessages) {
  TestRaft r = MakeRaft(1, {1, 2}, 10, 1, [](Config& c) {
    c.max_inflight_msgs = 3;
    c.max_size_per_msg = 0;  // one entry per MsgApp
  });
  ElectAndReplicate(r);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r->Step(Prop(1, "data")).ok());
  EXPECT_EQ(CountType(ReadMessages(*r), pb::MsgApp, 2), 3);
  // An ack frees one slot: exactly one more MsgApp goes out.
  ASSERT_TRUE(r->Step(AppResp(2, 1, 1, 2)).ok());
  EXPECT_EQ(CountType(ReadMessages(*r), pb::MsgApp, 2), 1);
  // A heartbeat response proves the follower alive: frees one slot too.
  ASSERT_TRUE(r->Step(Msg(2, 1, pb::MsgHeartbeatResp, 1)).ok());
  EXPECT_EQ(CountType(ReadMessages(*r), pb::MsgApp, 2), 1);
}

TEST(ReplicationTest, InflightByteBudget) {
  TestRaft r = MakeRaft(1, {1, 2}, 10, 1, [](Config& c) {
    c.max_inflight_bytes = 250;
    c.max_size_per_msg = 0;
  });
  ElectAndReplicate(r);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r->Step(Prop(1, std::string(100, 'x'))).ok());
  EXPECT_EQ(CountType(ReadMessages(*r), pb::MsgApp, 2), 3);  // 300 bytes >= 250 stops it
}

TEST(ReplicationTest, MaxSizePerMsgSplitsEntries) {
  const uint64_t two = 2 * EntrySize(MakeEntry(0, 0, std::string(100, 'x')));
  TestRaft r = MakeRaft(1, {1, 2}, 10, 1, [two](Config& c) { c.max_size_per_msg = two; });
  ElectAndReplicate(r);
  Message m = Msg(1, 1, pb::MsgProp);
  for (int i = 0; i < 5; ++i) m.add_entries()->set_data(std::string(100, 'x'));
  ASSERT_TRUE(r->Step(m).ok());
  auto msgs = ReadMessages(*r);
  ASSERT_EQ(CountType(msgs, pb::MsgApp, 2), 1);
  EXPECT_EQ(msgs[0].entries_size(), 2);
}

TEST(ReplicationTest, ProbeStateBatchesPendingProposals) {
  TestRaft r = MakeRaft(1, {1, 2}, 10, 1);
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r->Step(Prop(1, "p")).ok());
  auto msgs = ReadMessages(*r);
  ASSERT_EQ(CountType(msgs, pb::MsgApp, 2), 1);  // probe: one message, then paused
  // The ack resumes replication: the rest goes out in a single MsgApp.
  ASSERT_TRUE(r->Step(AppResp(2, 1, 1, msgs[0].index() + msgs[0].entries_size())).ok());
  msgs = ReadMessages(*r);
  ASSERT_EQ(CountType(msgs, pb::MsgApp, 2), 1);
  EXPECT_EQ(msgs[0].entries_size(), 9);  // the 9 proposals queued meanwhile, batched
  ASSERT_TRUE(r->Step(AppResp(2, 1, 1, 11)).ok());
  EXPECT_EQ(r->raft_log().committed(), 11u);
}

TEST(ReplicationTest, HeartbeatCarriesCommitBoundedByMatch) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  ElectAndReplicate(r);
  ASSERT_TRUE(r->Step(Prop(1, "x")).ok());
  ASSERT_TRUE(r->Step(AppResp(2, 1, 1, 2)).ok());
  ReadMessages(*r);
  ASSERT_EQ(r->raft_log().committed(), 2u);
  r->Tick();
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{"1->2 MsgHeartbeat Term:1 Log:0/0 Commit:2",
                                      "1->3 MsgHeartbeat Term:1 Log:0/0 Commit:1"}));
}

TEST(ReplicationTest, UnreachableFollowerFallsBackToProbe) {
  TestRaft r = MakeRaft(1, {1, 2});
  ElectAndReplicate(r);
  ASSERT_EQ(r->tracker().Get(2)->state, ProgressState::kReplicate);
  ASSERT_TRUE(r->Step(Msg(2, 1, pb::MsgUnreachable)).ok());
  EXPECT_EQ(r->tracker().Get(2)->state, ProgressState::kProbe);
}

// ---- Snapshots (§7) --------------------------------------------------------

TEST(SnapshotTest, LaggingFollowerCatchesUpBySnapshot) {
  Network n({1, 2, 3});
  n.Campaign(1);
  n.Isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(n.Propose(1, absl::StrCat("v", i)).ok());
  const Index applied = n.raft(1).raft_log().applied();
  ASSERT_TRUE(n.storage(1).CreateSnapshot(applied, n.raft(1).tracker().GetConfState(), "state").ok());
  ASSERT_TRUE(n.storage(1).Compact(applied).ok());
  n.Recover();
  n.ClearSent();
  for (int i = 0; i < 5; ++i) n.Tick(1);
  EXPECT_EQ(n.CountSent(pb::MsgSnap, 1, 3), 1);
  EXPECT_EQ(n.raft(3).raft_log().committed(), n.raft(1).raft_log().committed());
  EXPECT_EQ(n.storage(3).GetSnapshot()->data(), "state");
  ASSERT_TRUE(n.Propose(1, "after").ok());
  EXPECT_EQ(n.applied(3).back(), "after");
  EXPECT_EQ(n.node(1).GetStatus().progress.at(3).state, ProgressState::kReplicate);
}

TEST(SnapshotTest, SnapshotStatusReportMovesProgressToProbe) {
  for (bool success : {true, false}) {
    auto s = std::make_unique<MemoryStorage>();
    Snapshot snap;
    snap.mutable_metadata()->set_index(11);
    snap.mutable_metadata()->set_term(11);
    *snap.mutable_metadata()->mutable_conf_state() = testing::MakeConfState({1, 2});
    ASSERT_TRUE(s->ApplySnapshot(snap).ok());
    HardState hs;
    hs.set_term(11);
    hs.set_commit(11);
    s->SetHardState(hs);
    TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, std::move(s));
    r->BecomeCandidate();
    r->BecomeLeader();
    // The follower rejects our probe at 11 and hints it has nothing.
    Message rej = AppResp(2, 1, r->term(), 11);
    rej.set_reject(true);
    ASSERT_TRUE(r->Step(rej).ok());
    auto msgs = ReadMessages(*r);
    ASSERT_EQ(CountType(msgs, pb::MsgSnap, 2), 1);
    ASSERT_EQ(r->tracker().Get(2)->state, ProgressState::kSnapshot);
    Message st = Msg(2, 1, pb::MsgSnapStatus);
    st.set_reject(!success);
    ASSERT_TRUE(r->Step(st).ok());
    const Progress* pr = r->tracker().Get(2);
    EXPECT_EQ(pr->state, ProgressState::kProbe);
    EXPECT_TRUE(pr->msg_app_flow_paused);  // wait for a heartbeat response
    EXPECT_EQ(pr->next, success ? 12u : 1u);
  }
}

TEST(SnapshotTest, FollowerRestoresAndIgnoresStaleSnapshots) {
  TestRaft r = MakeRaft(2, {1, 2});
  Message m = Msg(1, 2, pb::MsgSnap, 2);
  auto* md = m.mutable_snapshot()->mutable_metadata();
  md->set_index(11);
  md->set_term(2);
  *md->mutable_conf_state() = testing::MakeConfState({1, 2});
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(r->raft_log().committed(), 11u);
  EXPECT_EQ(Describe(ReadMessages(*r)), std::vector<std::string>{"2->1 MsgAppResp Term:2 Log:0/11"});
  md->set_index(5);  // older than our commit: ignored, acked at commit
  ASSERT_TRUE(r->Step(m).ok());
  EXPECT_EQ(Describe(ReadMessages(*r)), std::vector<std::string>{"2->1 MsgAppResp Term:2 Log:0/11"});
}

// ---- ReadIndex (thesis §6.4) -----------------------------------------------

TEST(ReadIndexTest, LeaderConfirmsWithHeartbeatRound) {
  Network n({1, 2, 3});
  n.Campaign(1);
  ASSERT_TRUE(n.Propose(1, "x").ok());
  n.ClearSent();
  ASSERT_TRUE(n.ReadIndex(1, "ctx1").ok());
  ASSERT_EQ(n.read_states(1).size(), 1u);
  EXPECT_EQ(n.read_states(1)[0], (ReadState{2, "ctx1"}));
  int tagged = 0;
  for (const Message& m : n.sent()) tagged += m.type() == pb::MsgHeartbeat && m.context() == "ctx1";
  EXPECT_EQ(tagged, 2);
  EXPECT_EQ(n.CountSent(pb::MsgApp), 0);  // no log write for a read
}

TEST(ReadIndexTest, FollowerRequestIsForwardedAndAnswered) {
  Network n({1, 2, 3});
  n.Campaign(1);
  ASSERT_TRUE(n.Propose(1, "x").ok());
  ASSERT_TRUE(n.ReadIndex(2, "ctx2").ok());
  ASSERT_EQ(n.read_states(2).size(), 1u);
  EXPECT_EQ(n.read_states(2)[0], (ReadState{2, "ctx2"}));
}

TEST(ReadIndexTest, NewLeaderWaitsForCommitInItsTerm) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  ASSERT_TRUE(r->Step(ReadReq(1, "early")).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());  // postponed: commit index may be stale
  ASSERT_TRUE(r->Step(AppResp(2, 1, 1, 1)).ok());  // empty entry of term 1 commits
  auto msgs = ReadMessages(*r);
  int tagged = 0;
  for (const Message& m : msgs) tagged += m.type() == pb::MsgHeartbeat && m.context() == "early";
  EXPECT_EQ(tagged, 2);
  Message ack = Msg(2, 1, pb::MsgHeartbeatResp, 1);
  ack.set_context("early");
  ASSERT_TRUE(r->Step(ack).ok());
  ASSERT_EQ(r->read_states().size(), 1u);
  EXPECT_EQ(r->read_states()[0], (ReadState{1, "early"}));
}

// Reads that waited for the new leader's first commit share one round.
TEST(ReadIndexTest, ReadsHeldForTheFirstCommitShareOneRound) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  ASSERT_TRUE(r->Step(ReadReq(1, "r1")).ok());
  ASSERT_TRUE(r->Step(ReadReq(1, "r2")).ok());
  ASSERT_TRUE(r->Step(ReadReq(1, "r3")).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
  ASSERT_TRUE(r->Step(AppResp(2, 1, 1, 1)).ok());  // empty entry of term 1 commits
  std::vector<std::string> contexts;
  for (const Message& m : ReadMessages(*r)) {
    if (m.type() == pb::MsgHeartbeat) contexts.push_back(m.context());
  }
  EXPECT_EQ(contexts, (std::vector<std::string>{"r3", "r3"}));
  Message ack = Msg(2, 1, pb::MsgHeartbeatResp, 1);
  ack.set_context("r3");
  ASSERT_TRUE(r->Step(ack).ok());
  EXPECT_EQ(r->read_states().size(), 3u);
}

TEST(ReadIndexTest, OneQuorumAckAnswersEveryEarlierRequest) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  ElectAndReplicate(r);
  ASSERT_TRUE(r->Step(ReadReq(1, "a")).ok());
  ASSERT_TRUE(r->Step(ReadReq(1, "b")).ok());
  ASSERT_TRUE(r->Step(ReadReq(1, "c")).ok());
  ReadMessages(*r);
  Message ack = Msg(3, 1, pb::MsgHeartbeatResp, 1);
  ack.set_context("b");
  ASSERT_TRUE(r->Step(ack).ok());
  ASSERT_EQ(r->read_states().size(), 2u);  // a and b; c still waits
  EXPECT_EQ(r->read_states()[0].request_ctx, "a");
  EXPECT_EQ(r->read_states()[1].request_ctx, "b");
}

// One heartbeat round is out at a time; requests that come meanwhile (the
// leader's own and forwarded ones) share the next round. They must not be
// answered by the round out, which started before they came.
TEST(ReadIndexTest, RequestsDuringARoundShareTheNextRound) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  ElectAndReplicate(r);
  ASSERT_TRUE(r->Step(ReadReq(1, "a")).ok());
  std::vector<Message> sent = ReadMessages(*r);
  ASSERT_EQ(CountType(sent, pb::MsgHeartbeat), 2);
  EXPECT_EQ(sent[0].context(), "a");
  ASSERT_TRUE(r->Step(ReadReq(1, "b")).ok());
  Message forwarded = Msg(2, 1, pb::MsgReadIndex);
  forwarded.add_entries()->set_data("c");
  ASSERT_TRUE(r->Step(forwarded).ok());
  EXPECT_TRUE(ReadMessages(*r).empty()) << "no second round while one is out";

  Message ack = Msg(3, 1, pb::MsgHeartbeatResp, r->term());
  ack.set_context("a");
  ASSERT_TRUE(r->Step(ack).ok());
  ASSERT_EQ(r->read_states().size(), 1u);  // a only: b and c came after its round
  EXPECT_EQ(r->read_states()[0].request_ctx, "a");
  sent = ReadMessages(*r);
  ASSERT_EQ(CountType(sent, pb::MsgHeartbeat), 2) << "the next round starts at once";
  for (const Message& m : sent) {
    if (m.type() == pb::MsgHeartbeat) EXPECT_EQ(m.context(), "c");  // the newest request
  }
  EXPECT_EQ(CountType(sent, pb::MsgReadIndexResp), 0);

  ack.set_context("c");
  ASSERT_TRUE(r->Step(ack).ok());
  ASSERT_EQ(r->read_states().size(), 2u);
  EXPECT_EQ(r->read_states()[1].request_ctx, "b");
  sent = ReadMessages(*r);
  ASSERT_EQ(CountType(sent, pb::MsgReadIndexResp, 2), 1);  // c, to the follower that asked
  EXPECT_EQ(CountType(sent, pb::MsgHeartbeat), 0) << "nothing is left to confirm";
}

// A round whose acks are lost does not hold later requests forever: the
// periodic heartbeat carries the newest request's context.
TEST(ReadIndexTest, HeartbeatTickResendsTheRoundForWaitingRequests) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  ElectAndReplicate(r);
  ASSERT_TRUE(r->Step(ReadReq(1, "a")).ok());
  ASSERT_TRUE(r->Step(ReadReq(1, "b")).ok());
  ReadMessages(*r);  // the round for "a" is lost
  r->Tick();
  std::vector<Message> sent = ReadMessages(*r);
  ASSERT_EQ(CountType(sent, pb::MsgHeartbeat), 2);
  for (const Message& m : sent) {
    if (m.type() == pb::MsgHeartbeat) EXPECT_EQ(m.context(), "b");
  }
  Message ack = Msg(2, 1, pb::MsgHeartbeatResp, r->term());
  ack.set_context("b");
  ASSERT_TRUE(r->Step(ack).ok());
  ASSERT_EQ(r->read_states().size(), 2u);
}

TEST(ReadIndexTest, LeaseBasedAnswersImmediately) {
  TestRaft r = MakeRaft(1, {1, 2, 3}, 10, 1, [](Config& c) {
    c.check_quorum = true;
    c.read_only_option = ReadOnlyOption::kLeaseBased;
  });
  ElectAndReplicate(r);
  ASSERT_TRUE(r->Step(ReadReq(1, "lease")).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
  ASSERT_EQ(r->read_states().size(), 1u);
  EXPECT_EQ(r->read_states()[0], (ReadState{1, "lease"}));
}

TEST(ReadIndexTest, DroppedWithoutLeader) {
  Network n({1, 2, 3});
  EXPECT_TRUE(IsErrProposalDropped(n.ReadIndex(2, "x")));
}

// ---- Leadership transfer (thesis §3.10) ------------------------------------

TEST(LeaderTransferTest, ToUpToDateFollowerEvenInsideLease) {
  Network n({1, 2, 3}, [](Config& c) {
    c.check_quorum = true;
    c.pre_vote = true;
  });
  n.Campaign(1);
  n.TransferLeader(1, 2);
  EXPECT_EQ(n.raft(2).state(), StateType::kLeader);
  EXPECT_EQ(n.raft(1).state(), StateType::kFollower);
  EXPECT_EQ(n.raft(1).lead(), 2u);
  EXPECT_EQ(n.CountSent(pb::MsgTimeoutNow, 1, 2), 1);
}

TEST(LeaderTransferTest, ToLaggingFollowerCatchesItUpFirst) {
  Network n({1, 2, 3});
  n.Campaign(1);
  n.Isolate(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(n.Propose(1, "x").ok());
  n.Recover();
  n.TransferLeader(1, 3);
  EXPECT_EQ(n.raft(3).state(), StateType::kLeader);
  EXPECT_EQ(n.LogTerms(3).size(), n.LogTerms(1).size());
}

TEST(LeaderTransferTest, ProposalsDroppedUntilTransferAborts) {
  Network n({1, 2, 3});
  n.Campaign(1);
  n.Isolate(3);
  n.TransferLeader(1, 3);
  EXPECT_EQ(n.raft(1).lead_transferee(), 3u);
  EXPECT_TRUE(IsErrProposalDropped(n.Propose(1, "x")));
  n.Tick(1, 10);  // an election timeout without success aborts it
  EXPECT_EQ(n.raft(1).lead_transferee(), kNone);
  EXPECT_TRUE(n.Propose(1, "y").ok());
}

TEST(LeaderTransferTest, ToSelfIsNoop) {
  Network n({1, 2, 3});
  n.Campaign(1);
  n.TransferLeader(1, 1);
  EXPECT_EQ(n.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(n.raft(1).lead_transferee(), kNone);
}

// ---- RawNode contract ------------------------------------------------------

TEST(RawNodeTest, SingleNodeReadyLifecycle) {
  auto s = testing::NewStorage({1});
  auto rn = RawNode::Create(testing::MakeConfig(1, s.get()));
  ASSERT_TRUE(rn.ok());
  RawNode& n = **rn;
  EXPECT_FALSE(n.HasReady());
  ASSERT_TRUE(n.Campaign().ok());
  ASSERT_TRUE(n.HasReady());
  Ready rd = n.GetReady();
  EXPECT_EQ(DescribeReady(rd),
            "Lead:1 State:StateLeader\n"
            "HardState Term:1 Vote:1 Commit:1\n"
            "Entries:\n  1/1 EntryNormal\n"
            "CommittedEntries:\n  1/1 EntryNormal\n");
  EXPECT_TRUE(rd.must_sync);
  EXPECT_FALSE(n.HasReady());  // until Advance
  ASSERT_TRUE(s->Append(rd.entries).ok());
  s->SetHardState(*rd.hard_state);
  n.Advance();
  EXPECT_FALSE(n.HasReady());
  ASSERT_TRUE(n.Propose("hello").ok());
  rd = n.GetReady();
  EXPECT_EQ(DescribeReady(rd),
            "HardState Term:1 Vote:1 Commit:2\n"
            "Entries:\n  1/2 EntryNormal \"hello\"\n"
            "CommittedEntries:\n  1/2 EntryNormal \"hello\"\n");
  n.Advance();
  EXPECT_EQ(n.GetStatus().applied, 2u);
}

TEST(RawNodeTest, StepRejectsLocalAndUnknownPeerMessages) {
  auto s = testing::NewStorage({1, 2});
  auto rn = RawNode::Create(testing::MakeConfig(1, s.get()));
  ASSERT_TRUE(rn.ok());
  EXPECT_EQ((*rn)->Step(Msg(1, 1, pb::MsgHup)), ErrStepLocalMsg());
  EXPECT_EQ((*rn)->Step(Msg(9, 1, pb::MsgAppResp, 1)), ErrStepPeerNotFound());
}

TEST(RawNodeTest, StatusReportsPerPeerProgress) {
  Network n({1, 2, 3});
  n.Campaign(1);
  ASSERT_TRUE(n.Propose(1, "x").ok());
  const Status st = n.node(1).GetStatus();
  EXPECT_EQ(st.soft_state.raft_state, StateType::kLeader);
  ASSERT_EQ(st.progress.size(), 3u);
  for (const auto& [id, p] : st.progress) {
    EXPECT_EQ(p.match, 2u) << id;
    EXPECT_EQ(p.state, ProgressState::kReplicate) << id;
  }
  EXPECT_TRUE(n.node(2).GetStatus().progress.empty());  // followers don't track
  EXPECT_EQ(DescribeStatus(n.node(2).GetStatus()),
            "id=2 term=1 vote=1 commit=2 applied=2 lead=1 state=StateFollower");
}

TEST(RawNodeTest, ConfigValidation) {
  MemoryStorage s;
  Config c = testing::MakeConfig(0, &s);
  EXPECT_FALSE(RawNode::Create(c).ok());
  c = testing::MakeConfig(1, &s, 1, 1);
  EXPECT_FALSE(RawNode::Create(c).ok());
  c = testing::MakeConfig(1, nullptr);
  EXPECT_FALSE(RawNode::Create(c).ok());
  c = testing::MakeConfig(1, &s);
  c.read_only_option = ReadOnlyOption::kLeaseBased;
  EXPECT_FALSE(RawNode::Create(c).ok());
}

TEST(DescribeTest, MessagesAreRenderedDeterministically) {
  Message m = Msg(1, 2, pb::MsgApp, 3);
  m.set_log_term(2);
  m.set_index(5);
  m.set_commit(4);
  *m.add_entries() = MakeEntry(6, 3, "a\nb");
  m.set_context("ctx");
  EXPECT_EQ(DescribeMessage(m),
            "1->2 MsgApp Term:3 Log:2/5 Commit:4 Entries:[3/6 EntryNormal \"a\\nb\"] Context:\"ctx\"");
}

}  // namespace
}  // namespace quorum::raft
