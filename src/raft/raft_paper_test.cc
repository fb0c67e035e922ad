// Scenario tests, one per rule of the Raft paper (Ongaro & Ousterhout,
// extended version). Each test scripts messages into a node and checks the
// resulting state and outbound messages (rendered with DescribeMessage).
#include <gtest/gtest.h>

#include <set>

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

Message AppMsg(NodeId from, NodeId to, Term term, Term log_term, Index index, Index commit,
               EntryVec ents = {}) {
  Message m = Msg(from, to, pb::MsgApp, term);
  m.set_log_term(log_term);
  m.set_index(index);
  m.set_commit(commit);
  for (Entry& e : ents) *m.add_entries() = std::move(e);
  return m;
}

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

// Makes every peer acknowledge the leader's log so they are all in replicate
// state and the leader's empty entry is committed.
void CommitNoop(TestRaft& r) {
  const Index last = r->raft_log().LastIndex();
  for (const auto& [id, pr] : r->tracker().progress()) {
    if (id != r->id()) (void)r->Step(AppResp(id, r->id(), r->term(), last));
  }
  testing::PersistAndApply(*r, *r.storage);
  ReadMessages(*r);
}

std::vector<std::string> NextEntsData(Raft& r) {
  std::vector<std::string> out;
  for (const Entry& e : r.raft_log().NextCommittedEnts()) out.push_back(DescribeEntry(e));
  return out;
}

// Reference: §5.1 — "If one server's current term is smaller than the
// other's, then it updates its current term to the larger value. If a
// candidate or leader discovers that its term is out of date, it immediately
// reverts to follower state."
TEST(RaftPaperTest, UpdateTermFromMessageInEveryRole) {
  for (StateType st : {StateType::kFollower, StateType::kCandidate, StateType::kLeader}) {
    TestRaft r = MakeRaft(1, {1, 2, 3});
    if (st == StateType::kCandidate) r->BecomeCandidate();
    if (st == StateType::kLeader) {
      r->BecomeCandidate();
      r->BecomeLeader();
    }
    ASSERT_TRUE(r->Step(AppMsg(2, 1, 2, 0, 0, 0)).ok());
    EXPECT_EQ(r->term(), 2u) << StateTypeName(st);
    EXPECT_EQ(r->state(), StateType::kFollower) << StateTypeName(st);
    EXPECT_EQ(r->lead(), 2u) << StateTypeName(st);
  }
}

// Reference: §5.1 — "If a server receives a request with a stale term
// number, it rejects the request." (here: ignores it without side effects)
TEST(RaftPaperTest, RejectStaleTermMessage) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  r->BecomeFollower(2, kNone);
  ASSERT_TRUE(r->Step(AppMsg(2, 1, 1, 0, 0, 0)).ok());
  EXPECT_TRUE(ReadMessages(*r).empty());
  EXPECT_EQ(r->term(), 2u);
  EXPECT_EQ(r->lead(), kNone);
}

// Reference: §5.1, Figure 2 — RequestVote replies carry currentTerm "for the
// candidate to update itself": a stale vote request is rejected with our
// term (etcd drops it; see raft_step.cc for the deadlock this avoids).
TEST(RaftPaperTest, StaleVoteRequestIsRejectedWithCurrentTerm) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  r->BecomeFollower(5, kNone);
  ASSERT_TRUE(r->Step(Msg(2, 1, pb::MsgVote, 3)).ok());
  EXPECT_EQ(Describe(ReadMessages(*r)),
            std::vector<std::string>{"1->2 MsgVoteResp Term:5 Log:0/0 Rejected (Hint: 0)"});
  TestRaft c = MakeRaft(2, {1, 2, 3});
  c->BecomeCandidate();  // term 1
  Message resp = Msg(1, 2, pb::MsgVoteResp, 5);
  resp.set_reject(true);
  ASSERT_TRUE(c->Step(resp).ok());
  EXPECT_EQ(c->state(), StateType::kFollower);
  EXPECT_EQ(c->term(), 5u);
}

// Reference: §5.2 — "When servers start up, they begin as followers."
TEST(RaftPaperTest, StartAsFollower) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  EXPECT_EQ(r->state(), StateType::kFollower);
  EXPECT_EQ(r->term(), 0u);
}

// Reference: §5.2 — "Leaders send periodic heartbeats (AppendEntries RPCs
// that carry no log entries) to all followers to maintain their authority."
TEST(RaftPaperTest, LeaderBroadcastsHeartbeat) {
  TestRaft r = MakeRaft(1, {1, 2, 3}, 10, 1);
  r->BecomeCandidate();
  r->BecomeLeader();
  ReadMessages(*r);
  r->Tick();
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{"1->2 MsgHeartbeat Term:1 Log:0/0",
                                      "1->3 MsgHeartbeat Term:1 Log:0/0"}));
}

// Reference: §5.2 — "If a follower receives no communication over a period
// of time called the election timeout, then it assumes there is no viable
// leader and begins an election": it increments its term, votes for itself
// and sends RequestVote to every other server.
TEST(RaftPaperTest, FollowerStartsElectionAfterTimeout) {
  TestRaft r = MakeRaft(1, {1, 2, 3}, 10, 1);
  for (int i = 0; i < 2 * 10; ++i) r->Tick();
  EXPECT_EQ(r->state(), StateType::kCandidate);
  EXPECT_EQ(r->term(), 1u);
  EXPECT_EQ(r->vote(), 1u);
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{"1->2 MsgVote Term:1 Log:0/0", "1->3 MsgVote Term:1 Log:0/0"}));
}

// Reference: §5.2 — a candidate whose election times out (split vote)
// starts a new election by incrementing its term.
TEST(RaftPaperTest, CandidateStartsNewElectionAfterTimeout) {
  TestRaft r = MakeRaft(1, {1, 2, 3}, 10, 1);
  r->BecomeCandidate();
  ReadMessages(*r);
  for (int i = 0; i < 2 * 10; ++i) r->Tick();
  EXPECT_EQ(r->state(), StateType::kCandidate);
  EXPECT_EQ(r->term(), 2u);
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{"1->2 MsgVote Term:2 Log:0/0", "1->3 MsgVote Term:2 Log:0/0"}));
}

// Reference: §5.2 — a candidate wins with votes from a majority; it
// returns to follower when a majority rejects; otherwise it stays candidate.
TEST(RaftPaperTest, LeaderElectionInOneRound) {
  struct Case {
    int size;
    std::map<NodeId, bool> votes;
    StateType want;
  };
  const std::vector<Case> cases = {
      {1, {}, StateType::kLeader},
      {3, {{2, true}, {3, true}}, StateType::kLeader},
      {3, {{2, true}}, StateType::kLeader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, StateType::kLeader},
      {5, {{2, true}, {3, true}}, StateType::kLeader},
      {3, {{2, false}, {3, false}}, StateType::kFollower},
      {5, {{2, false}, {3, false}, {4, false}, {5, false}}, StateType::kFollower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, StateType::kFollower},
      {3, {}, StateType::kCandidate},
      {5, {{2, true}}, StateType::kCandidate},
      {5, {{2, false}, {3, false}}, StateType::kCandidate},
      {5, {}, StateType::kCandidate},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<NodeId> ids;
    for (int k = 1; k <= cases[i].size; ++k) ids.push_back(k);
    TestRaft r = MakeRaft(1, ids);
    ASSERT_TRUE(r->Step(Msg(1, 1, pb::MsgHup)).ok());
    for (auto [id, granted] : cases[i].votes) {
      Message m = Msg(id, 1, pb::MsgVoteResp, r->term());
      m.set_reject(!granted);
      ASSERT_TRUE(r->Step(m).ok());
    }
    EXPECT_EQ(r->state(), cases[i].want) << "case " << i;
    EXPECT_EQ(r->term(), 1u) << "case " << i;
  }
}

// Reference: §5.2 — "Each server will vote for at most one candidate in a
// given term, on a first-come-first-served basis."
TEST(RaftPaperTest, FollowerVotesAtMostOncePerTerm) {
  struct Case {
    NodeId vote, candidate;
    bool reject;
  };
  for (const Case& c : std::vector<Case>{{kNone, 2, false}, {kNone, 3, false}, {2, 2, false},
                                         {3, 3, false}, {2, 3, true}, {3, 2, true}}) {
    auto s = StorageWithLog({1, 2, 3}, {}, 1);
    HardState hs = s->hard_state();
    hs.set_vote(c.vote);
    s->SetHardState(hs);
    TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, std::move(s));
    ASSERT_TRUE(r->Step(Msg(c.candidate, 1, pb::MsgVote, 1)).ok());
    auto msgs = ReadMessages(*r);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].type(), pb::MsgVoteResp);
    EXPECT_EQ(msgs[0].reject(), c.reject) << "vote=" << c.vote << " candidate=" << c.candidate;
  }
}

// Reference: §5.2 — "If the AppendEntries RPC is received from another
// server claiming to be leader whose term is at least as large as the
// candidate's current term, then the candidate returns to follower state."
TEST(RaftPaperTest, CandidateFallsBackOnLeaderOfSameOrNewerTerm) {
  for (Term t : {1, 2}) {
    TestRaft r = MakeRaft(1, {1, 2, 3});
    ASSERT_TRUE(r->Step(Msg(1, 1, pb::MsgHup)).ok());
    ASSERT_EQ(r->state(), StateType::kCandidate);
    ASSERT_TRUE(r->Step(AppMsg(2, 1, t, 0, 0, 0)).ok());
    EXPECT_EQ(r->state(), StateType::kFollower);
    EXPECT_EQ(r->term(), t);
    EXPECT_EQ(r->lead(), 2u);
  }
}

// Reference: §5.2 — "Raft uses randomized election timeouts ... chosen
// randomly from a fixed interval"; here [election_tick, 2*election_tick).
TEST(RaftPaperTest, ElectionTimeoutIsRandomized) {
  TestRaft r = MakeRaft(1, {1, 2, 3}, 10, 1);
  std::set<int> seen;
  for (Term t = 1; t < 200; ++t) {
    r->BecomeFollower(t, kNone);
    const int timeout = r->randomized_election_timeout();
    ASSERT_GE(timeout, 10);
    ASSERT_LT(timeout, 20);
    seen.insert(timeout);
  }
  EXPECT_GT(seen.size(), 5u);
  // The election starts exactly when the randomized timeout elapses.
  r->BecomeFollower(500, kNone);
  const int timeout = r->randomized_election_timeout();
  for (int i = 0; i < timeout - 1; ++i) r->Tick();
  EXPECT_EQ(r->state(), StateType::kFollower);
  r->Tick();
  EXPECT_EQ(r->state(), StateType::kCandidate);
}

// Reference: §5.3 — "The leader appends the command to its log as a new
// entry, then issues AppendEntries RPCs in parallel to each of the other
// servers to replicate the entry."
TEST(RaftPaperTest, LeaderStartsReplication) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  CommitNoop(r);
  ASSERT_TRUE(r->Step(Prop(1, "some data")).ok());
  EXPECT_EQ(r->raft_log().LastIndex(), 2u);
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{
                "1->2 MsgApp Term:1 Log:1/1 Commit:1 Entries:[1/2 EntryNormal \"some data\"]",
                "1->3 MsgApp Term:1 Log:1/1 Commit:1 Entries:[1/2 EntryNormal \"some data\"]"}));
  EXPECT_EQ(DescribeEntries(r->raft_log().unstable().entries()),
            "[1/2 EntryNormal \"some data\"]");
}

// Reference: §5.3 — "A log entry is committed once the leader that created
// the entry has replicated it on a majority of the servers"; the leader then
// tells followers the new commit index in subsequent AppendEntries.
TEST(RaftPaperTest, LeaderCommitsEntryOnMajority) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  r->BecomeCandidate();
  r->BecomeLeader();
  CommitNoop(r);
  ASSERT_TRUE(r->Step(Prop(1, "some data")).ok());
  ReadMessages(*r);
  ASSERT_TRUE(r->Step(AppResp(2, 1, 1, 2)).ok());
  EXPECT_EQ(r->raft_log().committed(), 2u);
  EXPECT_EQ(NextEntsData(*r), (std::vector<std::string>{"1/2 EntryNormal \"some data\""}));
  for (const Message& m : ReadMessages(*r)) {
    EXPECT_EQ(m.type(), pb::MsgApp);
    EXPECT_EQ(m.commit(), 2u);
  }
}

// Reference: §5.3 — the entry commits iff a majority (including the leader)
// acknowledged it.
TEST(RaftPaperTest, LeaderAcknowledgesCommitOnlyWithMajority) {
  struct Case {
    int size;
    std::set<NodeId> acceptors;
    bool commit;
  };
  for (const Case& c : std::vector<Case>{{1, {}, true},
                                         {3, {}, false},
                                         {3, {2}, true},
                                         {3, {2, 3}, true},
                                         {5, {}, false},
                                         {5, {2}, false},
                                         {5, {2, 3}, true},
                                         {5, {2, 3, 4, 5}, true}}) {
    std::vector<NodeId> ids;
    for (int k = 1; k <= c.size; ++k) ids.push_back(k);
    TestRaft r = MakeRaft(1, ids);
    r->BecomeCandidate();
    r->BecomeLeader();
    CommitNoop(r);
    const Index li = r->raft_log().LastIndex();
    ASSERT_TRUE(r->Step(Prop(1, "some data")).ok());
    for (NodeId a : c.acceptors) ASSERT_TRUE(r->Step(AppResp(a, 1, 1, li + 1)).ok());
    EXPECT_EQ(r->raft_log().committed() > li, c.commit) << "size " << c.size;
  }
}

// Reference: §5.3 — "When the leader commits an entry, it also commits all
// preceding entries in its log, including entries created by previous
// leaders."
TEST(RaftPaperTest, LeaderCommitsPrecedingEntries) {
  for (const std::vector<Term>& prior :
       std::vector<std::vector<Term>>{{}, {2}, {1, 2}, {1}}) {
    TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, StorageWithLog({1, 2, 3}, prior, 2));
    r->BecomeCandidate();
    r->BecomeLeader();
    ASSERT_TRUE(r->Step(Prop(1, "some data")).ok());
    const Index li = r->raft_log().LastIndex();
    ASSERT_TRUE(r->Step(AppResp(2, 1, 3, li)).ok());
    ASSERT_TRUE(r->Step(AppResp(3, 1, 3, li)).ok());
    std::vector<std::string> want;
    for (size_t i = 0; i < prior.size(); ++i) {
      want.push_back(DescribeEntry(MakeEntry(i + 1, prior[i])));
    }
    want.push_back(DescribeEntry(MakeEntry(li - 1, 3)));
    want.push_back(absl::StrCat("3/", li, " EntryNormal \"some data\""));
    EXPECT_EQ(NextEntsData(*r), want);
  }
}

// Reference: §5.3 — "Once a follower learns that a log entry is committed,
// it applies the entry to its local state machine (in log order)."
TEST(RaftPaperTest, FollowerCommitsEntryFromLeaderCommitIndex) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  r->BecomeFollower(1, 2);
  ASSERT_TRUE(r->Step(AppMsg(2, 1, 1, 0, 0, 1,
                             {MakeEntry(1, 1, "some data"), MakeEntry(2, 1, "some data2")}))
                  .ok());
  EXPECT_EQ(r->raft_log().committed(), 1u);
  EXPECT_EQ(NextEntsData(*r), (std::vector<std::string>{"1/1 EntryNormal \"some data\""}));
}

// Reference: §5.3 — "If the follower does not find an entry in its log with
// the same index and term [as prevLogIndex/prevLogTerm], then it refuses the
// new entries." The refusal carries a hint for fast backtracking.
TEST(RaftPaperTest, FollowerChecksPreviousEntry) {
  struct Case {
    Term log_term;
    Index index;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {0, 0, "1->2 MsgAppResp Term:2 Log:0/1"},  // below commit: acked at commit
           {1, 1, "1->2 MsgAppResp Term:2 Log:0/1"},
           {2, 2, "1->2 MsgAppResp Term:2 Log:0/2"},
           {1, 2, "1->2 MsgAppResp Term:2 Log:1/2 Rejected (Hint: 1)"},
           {3, 3, "1->2 MsgAppResp Term:2 Log:2/3 Rejected (Hint: 2)"},
       }) {
    auto s = StorageWithLog({1, 2, 3}, {1, 2}, 2);
    HardState hs = s->hard_state();
    hs.set_commit(1);
    s->SetHardState(hs);
    TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, std::move(s));
    ASSERT_TRUE(r->Step(AppMsg(2, 1, 2, c.log_term, c.index, 1)).ok());
    EXPECT_EQ(Describe(ReadMessages(*r)), std::vector<std::string>{c.want});
  }
}

// Reference: §5.3 — "If an existing entry conflicts with a new one (same
// index but different terms), delete the existing entry and all that follow
// it; append any new entries not already in the log."
TEST(RaftPaperTest, FollowerAppendsAndTruncatesConflicts) {
  struct Case {
    Index index;
    Term log_term;
    EntryVec ents;
    std::vector<Term> want_log;
    std::string want_unstable;
  };
  const std::vector<Case> cases = {
      {2, 2, {MakeEntry(3, 3)}, {1, 2, 3}, "[3/3 EntryNormal]"},
      {1, 1, {MakeEntry(2, 3), MakeEntry(3, 4)}, {1, 3, 4}, "[3/2 EntryNormal, 4/3 EntryNormal]"},
      {0, 0, {MakeEntry(1, 1)}, {1, 2}, "[]"},
      {0, 0, {MakeEntry(1, 3)}, {3}, "[3/1 EntryNormal]"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, StorageWithLog({1, 2, 3}, {1, 2}, 2));
    ASSERT_TRUE(r->Step(AppMsg(2, 1, 2, cases[i].log_term, cases[i].index, 0, cases[i].ents)).ok());
    std::vector<Term> got;
    const RaftLog& log = r->raft_log();
    for (Index k = log.FirstIndex(); k <= log.LastIndex(); ++k) got.push_back(log.ZeroTermOnErr(k));
    EXPECT_EQ(got, cases[i].want_log) << "case " << i;
    EXPECT_EQ(DescribeEntries(log.unstable().entries()), cases[i].want_unstable)
        << "case " << i;
  }
}

// Reference: §5.3, Figure 7 — the leader brings every possible follower log
// (missing, extra uncommitted, or conflicting entries) into agreement.
TEST(RaftPaperTest, LeaderSyncsFollowerLogFigure7) {
  const std::vector<Term> leader = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::vector<Term>> followers = {
      {1, 1, 1, 4, 4, 5, 5, 6, 6},           // (a) missing one
      {1, 1, 1, 4},                          // (b) missing many
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},     // (c) extra uncommitted
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},  // (d) extra from a newer term
      {1, 1, 1, 4, 4, 4, 4},                 // (e) missing + conflicting
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},     // (f) long conflicting suffix
  };
  for (size_t i = 0; i < followers.size(); ++i) {
    std::map<NodeId, std::unique_ptr<MemoryStorage>> st;
    st[1] = StorageWithLog({1, 2, 3}, leader, 7);
    st[2] = StorageWithLog({1, 2, 3}, followers[i], 7);
    st[3] = StorageWithLog({1, 2, 3}, leader, 7);
    Network n(std::move(st));
    n.Campaign(1);
    ASSERT_EQ(n.raft(1).state(), StateType::kLeader) << "case " << i;
    ASSERT_TRUE(n.Propose(1, "x").ok());
    EXPECT_EQ(n.LogTerms(1), n.LogTerms(2)) << "case " << i;
    EXPECT_EQ(n.raft(2).raft_log().committed(), n.raft(1).raft_log().committed());
  }
}

// Reference: §5.4.1 — RequestVote carries the candidate's last log index and
// term.
TEST(RaftPaperTest, VoteRequestCarriesLastLogPosition) {
  TestRaft r = MakeRaft(1, {1, 2, 3});
  ASSERT_TRUE(r->Step(AppMsg(2, 1, 2, 0, 0, 0, {MakeEntry(1, 1), MakeEntry(2, 2)})).ok());
  ReadMessages(*r);
  for (int i = 0; i < 20; ++i) r->Tick();
  EXPECT_EQ(Describe(ReadMessages(*r)),
            (std::vector<std::string>{"1->2 MsgVote Term:3 Log:2/2", "1->3 MsgVote Term:3 Log:2/2"}));
}

// Reference: §5.4.1 — "the voter denies its vote if its own log is more
// up-to-date than that of the candidate": compare last terms, then lengths.
TEST(RaftPaperTest, VoterRejectsLessUpToDateCandidate) {
  struct Case {
    Term log_term;
    Index index;
    bool reject;
  };
  for (const Case& c : std::vector<Case>{
           {2, 2, false}, {2, 3, false}, {3, 1, false}, {1, 3, true}, {2, 1, true}, {1, 1, true}}) {
    TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, StorageWithLog({1, 2, 3}, {1, 2}, 2));
    Message m = Msg(2, 1, pb::MsgVote, 3);
    m.set_log_term(c.log_term);
    m.set_index(c.index);
    ASSERT_TRUE(r->Step(m).ok());
    auto msgs = ReadMessages(*r);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].reject(), c.reject) << c.log_term << "/" << c.index;
  }
}

// Reference: §5.4.2, Figure 8 — "Raft never commits log entries from
// previous terms by counting replicas. Only log entries from the leader's
// current term are committed by counting replicas."
TEST(RaftPaperTest, LeaderOnlyCommitsEntriesOfCurrentTermByCounting) {
  struct Case {
    Index ack;
    Index want_commit;
  };
  for (const Case& c : std::vector<Case>{{1, 0}, {2, 0}, {3, 3}}) {
    TestRaft r = MakeRaft(1, {}, 10, 1, nullptr, StorageWithLog({1, 2, 3}, {1, 2}, 2));
    r->BecomeCandidate();  // term 3
    r->BecomeLeader();     // appends 3/3
    ASSERT_TRUE(r->Step(AppResp(2, 1, 3, c.ack)).ok());
    EXPECT_EQ(r->raft_log().committed(), c.want_commit) << "ack " << c.ack;
  }
}

}  // namespace
}  // namespace quorum::raft
