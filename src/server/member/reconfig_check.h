// Checks of a membership change before it is proposed, as etcd makes them
// with --strict-reconfig-check (on by default): a change must not leave the
// cluster without a quorum of started, reachable voters, and must be valid
// against the current membership (no duplicate peer URL, at most one learner).
//
// "Started" is a member that has published its name (it ran at least once);
// "active" is a member this one (the leader) heard from recently. Pure
// functions of those inputs, so the leader's raft thread and tests share them.
#ifndef QUORUM_SERVER_MEMBER_RECONFIG_CHECK_H_
#define QUORUM_SERVER_MEMBER_RECONFIG_CHECK_H_

#include <cstdint>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "etcdserverpb/rpc.pb.h"
#include "server/member_info.h"

namespace quorum::server {

// etcd allows one learner at a time (maxLearners).
inline constexpr int kMaxLearners = 1;

struct ReconfigView {
  std::vector<MemberInfo> members;
  std::set<uint64_t> active;  // includes this member
  uint64_t self = 0;
};

// Adding `m` (a voter or a learner): FailedPrecondition "not enough started
// members" when a new voter would leave too few started voters for the
// larger quorum; Unavailable "unhealthy cluster" unless every voter is active.
absl::Status CheckAddMember(const ReconfigView& v, const etcdserverpb::Member& m);
// Removing `id`: a learner always may go; a voter only when the rest keep a
// quorum of started and of active voters.
absl::Status CheckRemoveMember(const ReconfigView& v, uint64_t id);
// Promoting learner `id`: the larger voter set must still have a quorum of
// started members (the learner counts as started).
absl::Status CheckPromoteMember(const ReconfigView& v, uint64_t id);

// What etcd validates when it applies the change (and this server before it
// proposes): the new member's peer URLs are unused and the learner limit
// holds. The same inputs give the same answer on every member.
absl::Status ValidateNewMember(const std::vector<MemberInfo>& members,
                               const etcdserverpb::Member& m);
// A peer URL update must not take another member's URL.
absl::Status ValidatePeerUrlUpdate(const std::vector<MemberInfo>& members, uint64_t id,
                                   const std::vector<std::string>& urls);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_RECONFIG_CHECK_H_
