// The strict reconfiguration checks against etcd's rules (mayAddMember,
// mayRemoveMember, mayPromoteMember, ValidateConfigurationChange).
#include "server/member/reconfig_check.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

MemberInfo M(uint64_t id, bool started = true, bool learner = false) {
  MemberInfo m;
  m.id = id;
  if (started) m.name = "m" + std::to_string(id);
  m.peer_urls = {"http://127.0.0.1:" + std::to_string(2380 + id)};
  m.is_learner = learner;
  return m;
}

ReconfigView View(std::vector<MemberInfo> ms, std::set<uint64_t> active) {
  return ReconfigView{std::move(ms), std::move(active), 1};
}

etcdserverpb::Member New(uint64_t id, bool learner = false, int port = 0) {
  etcdserverpb::Member m;
  m.set_id(id);
  m.add_peerurls("http://127.0.0.1:" + std::to_string(port ? port : 2380 + id));
  m.set_islearner(learner);
  return m;
}

TEST(ReconfigCheckTest, RemovingAVoterMustLeaveAnActiveQuorum) {
  // 3 voters, member 3 down: removing 2 would leave {1, 3-down}.
  auto v = View({M(1), M(2), M(3)}, {1, 2});
  EXPECT_EQ(CheckRemoveMember(v, 2).message(), "etcdserver: unhealthy cluster");
  EXPECT_EQ(CheckRemoveMember(v, 2).code(), absl::StatusCode::kUnavailable);
  // The member that is down may go: it is no part of the active quorum.
  EXPECT_TRUE(CheckRemoveMember(v, 3).ok());
  // All up: any may go.
  EXPECT_TRUE(CheckRemoveMember(View({M(1), M(2), M(3)}, {1, 2, 3}), 2).ok());
  // A learner always may go.
  EXPECT_TRUE(CheckRemoveMember(View({M(1), M(2), M(3), M(4, true, true)}, {1}), 4).ok());
}

TEST(ReconfigCheckTest, RemovingNeedsAQuorumOfStartedVoters) {
  // Members 3 and 4 were added but never started.
  auto v = View({M(1), M(2), M(3, false), M(4, false)}, {1, 2, 3, 4});
  EXPECT_EQ(CheckRemoveMember(v, 2).message(),
            "etcdserver: re-configuration failed due to not enough started members");
  EXPECT_EQ(CheckRemoveMember(v, 2).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReconfigCheckTest, AddingNeedsEveryVoterActiveAndEnoughStarted) {
  EXPECT_TRUE(CheckAddMember(View({M(1), M(2), M(3)}, {1, 2, 3}), New(4)).ok());
  EXPECT_EQ(CheckAddMember(View({M(1), M(2), M(3)}, {1, 2}), New(4)).message(),
            "etcdserver: unhealthy cluster");
  // A learner too needs every voter reachable.
  EXPECT_FALSE(CheckAddMember(View({M(1), M(2), M(3)}, {1, 2}), New(4, true)).ok());
  // 1 started of 2 voters: a third voter would need 2 started of 3.
  EXPECT_EQ(CheckAddMember(View({M(1), M(2, false)}, {1, 2}), New(3)).message(),
            "etcdserver: re-configuration failed due to not enough started members");
  // A one-member cluster may always grow.
  EXPECT_TRUE(CheckAddMember(View({M(1)}, {1}), New(2)).ok());
}

TEST(ReconfigCheckTest, PromotionCountsTheLearnerAsStarted) {
  EXPECT_TRUE(CheckPromoteMember(View({M(1), M(2), M(3), M(4, true, true)}, {1}), 4).ok());
  EXPECT_FALSE(CheckPromoteMember(View({M(1), M(2, false), M(3, false), M(4, true, true)}, {1}), 4)
                   .ok());
}

TEST(ReconfigCheckTest, NewMemberValidity) {
  std::vector<MemberInfo> ms = {M(1), M(2), M(3, true, true)};
  EXPECT_EQ(ValidateNewMember(ms, New(9, false, 2382)).message(),
            "etcdserver: Peer URLs already exists");
  EXPECT_EQ(ValidateNewMember(ms, New(9, true)).message(),
            "etcdserver: too many learner members in cluster");
  EXPECT_EQ(ValidateNewMember(ms, New(2)).message(), "etcdserver: member ID already exist");
  EXPECT_TRUE(ValidateNewMember(ms, New(9)).ok());
  EXPECT_TRUE(ValidateNewMember({M(1)}, New(9, true)).ok());
}

TEST(ReconfigCheckTest, PeerUrlUpdateMustNotTakeAnotherMembersUrl) {
  std::vector<MemberInfo> ms = {M(1), M(2)};
  EXPECT_EQ(ValidatePeerUrlUpdate(ms, 1, {"http://127.0.0.1:2382"}).message(),
            "etcdserver: Peer URLs already exists");
  EXPECT_TRUE(ValidatePeerUrlUpdate(ms, 1, {"http://127.0.0.1:2381"}).ok());  // its own
  EXPECT_TRUE(ValidatePeerUrlUpdate(ms, 1, {"http://127.0.0.1:9999"}).ok());
}

}  // namespace
}  // namespace quorum::server
