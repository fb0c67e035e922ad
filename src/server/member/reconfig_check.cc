#include "server/member/reconfig_check.h"

#include <algorithm>
#include <string>

namespace quorum::server {
namespace {

absl::Status NotEnoughStarted() {
  return absl::FailedPreconditionError(
      "etcdserver: re-configuration failed due to not enough started members");
}

absl::Status Unhealthy() { return absl::UnavailableError("etcdserver: unhealthy cluster"); }

bool Started(const MemberInfo& m) { return !m.name.empty(); }

}  // namespace

absl::Status CheckAddMember(const ReconfigView& v, const etcdserverpb::Member& m) {
  int voters = 0, started = 0, active = 0;
  for (const auto& x : v.members) {
    if (x.is_learner) continue;
    ++voters;
    started += Started(x) ? 1 : 0;
    active += v.active.contains(x.id) ? 1 : 0;
  }
  if (!m.islearner()) {
    // The new voter counts for the quorum but has not started yet; a
    // one-member cluster may always grow (restoring from a backup).
    const int quorum = (voters + 1) / 2 + 1;
    if (!(voters == 1 && started == 1) && started < quorum) return NotEnoughStarted();
  }
  if (active < voters) return Unhealthy();
  return absl::OkStatus();
}

absl::Status CheckRemoveMember(const ReconfigView& v, uint64_t id) {
  auto it = std::find_if(v.members.begin(), v.members.end(),
                         [&](const MemberInfo& m) { return m.id == id; });
  if (it != v.members.end() && it->is_learner) return absl::OkStatus();
  int voters = 0, started_rest = 0, rest = 0, active = 0;
  for (const auto& x : v.members) {
    if (x.is_learner) continue;
    ++voters;
    active += v.active.contains(x.id) ? 1 : 0;
    if (x.id == id) continue;
    ++rest;
    started_rest += Started(x) ? 1 : 0;
  }
  if (started_rest < rest / 2 + 1) return NotEnoughStarted();
  // A member that is down already is no part of the active quorum.
  if (id != v.self && !v.active.contains(id)) return absl::OkStatus();
  if (active - 1 < 1 + (voters - 1) / 2) return Unhealthy();
  return absl::OkStatus();
}

absl::Status CheckPromoteMember(const ReconfigView& v, uint64_t id) {
  int voters = 1, started = 1;  // the learner, counted as started
  for (const auto& x : v.members) {
    if (x.is_learner) continue;
    ++voters;
    started += Started(x) ? 1 : 0;
  }
  if (started < voters / 2 + 1) return NotEnoughStarted();
  return absl::OkStatus();
}

absl::Status ValidateNewMember(const std::vector<MemberInfo>& members,
                               const etcdserverpb::Member& m) {
  int learners = 0;
  for (const auto& x : members) {
    if (x.id == m.id()) return absl::FailedPreconditionError("etcdserver: member ID already exist");
    learners += x.is_learner ? 1 : 0;
    for (const auto& u : x.peer_urls) {
      if (std::find(m.peerurls().begin(), m.peerurls().end(), u) != m.peerurls().end()) {
        return absl::FailedPreconditionError("etcdserver: Peer URLs already exists");
      }
    }
  }
  if (m.islearner() && learners + 1 > kMaxLearners) {
    return absl::FailedPreconditionError("etcdserver: too many learner members in cluster");
  }
  return absl::OkStatus();
}

absl::Status ValidatePeerUrlUpdate(const std::vector<MemberInfo>& members, uint64_t id,
                                   const std::vector<std::string>& urls) {
  for (const auto& x : members) {
    if (x.id == id) continue;
    for (const auto& u : x.peer_urls) {
      if (std::find(urls.begin(), urls.end(), u) != urls.end()) {
        return absl::FailedPreconditionError("etcdserver: Peer URLs already exists");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace quorum::server
