#include "server/member/membership.h"

#include "util/coding.h"

namespace quorum::server {
namespace {

using mvcc::Cf;

constexpr char kClusterIdKey[] = "cluster_id";

std::string MemberKey(uint64_t id) { return "m/" + util::EncodeFixed64BE(id); }
std::string RemovedKey(uint64_t id) { return "r/" + util::EncodeFixed64BE(id); }

MemberInfo FromProto(const etcdserverpb::Member& p) {
  MemberInfo m;
  m.id = p.id();
  m.name = p.name();
  m.peer_urls.assign(p.peerurls().begin(), p.peerurls().end());
  m.client_urls.assign(p.clienturls().begin(), p.clienturls().end());
  m.is_learner = p.islearner();
  return m;
}

}  // namespace

absl::Status Membership::Load() {
  std::map<uint64_t, MemberInfo> members;
  std::set<uint64_t> removed;
  absl::Status bad;
  auto st = backend_->Scan(Cf::kMembers, "", "", [&](std::string_view k, std::string_view v) {
    if (k.size() != 10) return true;
    const uint64_t id = util::DecodeFixed64BE(k.data() + 2);
    if (k.substr(0, 2) == "m/") {
      etcdserverpb::Member p;
      if (!p.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
        bad = absl::DataLossError("member record is corrupt");
        return false;
      }
      members[id] = FromProto(p);
    } else if (k.substr(0, 2) == "r/") {
      removed.insert(id);
    }
    return true;
  });
  if (!st.ok()) return st;
  if (!bad.ok()) return bad;
  uint64_t cid = 0;
  if (auto v = backend_->Get(Cf::kMeta, kClusterIdKey); v.ok() && v->size() == 8) {
    cid = util::DecodeFixed64BE(v->data());
  }
  absl::MutexLock lock(&mu_);
  members_ = std::move(members);
  removed_ = std::move(removed);
  cluster_id_ = cid;
  return absl::OkStatus();
}

std::vector<MemberInfo> Membership::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<MemberInfo> out;
  for (const auto& [id, m] : members_) out.push_back(m);
  return out;
}

std::optional<MemberInfo> Membership::Get(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

bool Membership::IsRemoved(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  return removed_.contains(id);
}

uint64_t Membership::cluster_id() const {
  absl::MutexLock lock(&mu_);
  return cluster_id_;
}

size_t Membership::VoterCount() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [id, m] : members_) n += m.is_learner ? 0 : 1;
  return n;
}

void Membership::PersistLocked(const MemberInfo& m, mvcc::Batch* batch) {
  etcdserverpb::Member p;
  m.ToProto(&p);
  batch->Put(Cf::kMembers, MemberKey(m.id), p.SerializeAsString());
}

void Membership::SetClusterId(uint64_t id, mvcc::Batch* batch) {
  absl::MutexLock lock(&mu_);
  cluster_id_ = id;
  batch->Put(Cf::kMeta, kClusterIdKey, util::EncodeFixed64BE(id));
}

void Membership::Add(const MemberInfo& m, mvcc::Batch* batch) {
  absl::MutexLock lock(&mu_);
  auto& slot = members_[m.id];
  // Keep attributes a member already published (name, client URLs).
  MemberInfo merged = m;
  if (merged.name.empty()) merged.name = slot.name;
  if (merged.client_urls.empty()) merged.client_urls = slot.client_urls;
  slot = merged;
  PersistLocked(slot, batch);
}

void Membership::Remove(uint64_t id, mvcc::Batch* batch) {
  absl::MutexLock lock(&mu_);
  members_.erase(id);
  removed_.insert(id);
  batch->Delete(Cf::kMembers, MemberKey(id));
  batch->Put(Cf::kMembers, RemovedKey(id), "");
}

void Membership::UpdatePeerUrls(uint64_t id, const std::vector<std::string>& urls,
                                mvcc::Batch* batch) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return;
  it->second.peer_urls = urls;
  PersistLocked(it->second, batch);
}

void Membership::Promote(uint64_t id, mvcc::Batch* batch) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return;
  it->second.is_learner = false;
  PersistLocked(it->second, batch);
}

void Membership::SetAttributes(uint64_t id, const std::string& name,
                               const std::vector<std::string>& client_urls, mvcc::Batch* batch) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return;
  it->second.name = name;
  it->second.client_urls = client_urls;
  PersistLocked(it->second, batch);
}

}  // namespace quorum::server
