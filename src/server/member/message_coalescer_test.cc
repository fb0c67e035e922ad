#include "server/member/message_coalescer.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

raftpb::Message App(uint64_t to, uint64_t index, uint64_t commit, int entries, uint64_t term = 2) {
  raftpb::Message m;
  m.set_type(raftpb::MsgApp);
  m.set_from(1);
  m.set_to(to);
  m.set_term(term);
  m.set_index(index);
  m.set_commit(commit);
  for (int i = 0; i < entries; ++i) m.add_entries()->set_index(index + 1 + i);
  return m;
}

raftpb::Message Resp(uint64_t to, uint64_t index, bool reject = false, uint64_t term = 2) {
  raftpb::Message m;
  m.set_type(raftpb::MsgAppResp);
  m.set_from(2);
  m.set_to(to);
  m.set_term(term);
  m.set_index(index);
  m.set_reject(reject);
  return m;
}

std::vector<std::string> Describe(const std::vector<raftpb::Message>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs) {
    out.push_back(raftpb::MessageType_Name(m.type()) + " to " + std::to_string(m.to()) + " i" +
                  std::to_string(m.index()) + " c" + std::to_string(m.commit()) + " n" +
                  std::to_string(m.entries_size()) + (m.reject() ? " reject" : ""));
  }
  return out;
}

TEST(MessageCoalescerTest, CommitOnlyAppendCoveredByLaterAppendIsDropped) {
  std::vector<raftpb::Message> msgs = {App(2, 10, 9, 0), App(3, 10, 9, 0), App(2, 10, 10, 0),
                                       App(2, 10, 10, 3), App(3, 10, 10, 3)};
  EXPECT_EQ(CoalesceMessages(&msgs), 3u);
  EXPECT_EQ(Describe(msgs),
            (std::vector<std::string>{"MsgApp to 2 i10 c10 n3", "MsgApp to 3 i10 c10 n3"}));
}

TEST(MessageCoalescerTest, AppendsWithEntriesAndNewerCommitsAreKept) {
  // Entries are never dropped; a commit-only append is kept when nothing
  // later to that peer carries its commit index; other terms are apart.
  std::vector<raftpb::Message> msgs = {App(2, 10, 9, 2), App(2, 12, 9, 1), App(2, 13, 11, 0),
                                       App(3, 10, 9, 0, 1), App(3, 10, 9, 0, 2)};
  EXPECT_EQ(CoalesceMessages(&msgs), 0u);
  EXPECT_EQ(msgs.size(), 5u);
}

TEST(MessageCoalescerTest, CommitOnlyAppendBeforeAProbeAtLowerIndexIsKept) {
  std::vector<raftpb::Message> msgs = {App(2, 10, 10, 0), App(2, 7, 10, 1)};
  EXPECT_EQ(CoalesceMessages(&msgs), 0u);
}

TEST(MessageCoalescerTest, EarlierAcksCoveredByALaterAckAreDroppedRejectionsKept) {
  std::vector<raftpb::Message> msgs = {Resp(1, 5), Resp(1, 7, /*reject=*/true), Resp(1, 6),
                                       Resp(1, 8), Resp(1, 8, false, /*term=*/3)};
  EXPECT_EQ(CoalesceMessages(&msgs), 2u);
  EXPECT_EQ(Describe(msgs), (std::vector<std::string>{"MsgAppResp to 1 i7 c0 n0 reject",
                                                      "MsgAppResp to 1 i8 c0 n0",
                                                      "MsgAppResp to 1 i8 c0 n0"}));
}

TEST(MessageCoalescerTest, OtherMessagesPassUntouchedInOrder) {
  raftpb::Message hb;
  hb.set_type(raftpb::MsgHeartbeat);
  hb.set_to(2);
  hb.set_commit(9);
  std::vector<raftpb::Message> msgs = {App(2, 10, 9, 0), hb, App(2, 10, 9, 1), hb};
  EXPECT_EQ(CoalesceMessages(&msgs), 1u);
  EXPECT_EQ(Describe(msgs), (std::vector<std::string>{"MsgHeartbeat to 2 i0 c9 n0",
                                                      "MsgApp to 2 i10 c9 n1",
                                                      "MsgHeartbeat to 2 i0 c9 n0"}));
}

}  // namespace
}  // namespace quorum::server
