#include "server/apply/alarm_store.h"

#include <string>

#include "util/coding.h"

namespace quorum::server {
namespace {

constexpr char kPrefix[] = "alarm/";
constexpr size_t kPrefixLen = sizeof(kPrefix) - 1;

std::string AlarmKey(uint64_t member_id, int type) {
  std::string k(kPrefix);
  util::PutFixed64BE(&k, member_id);
  const uint32_t t = static_cast<uint32_t>(type);
  k.push_back(static_cast<char>(t >> 24));
  k.push_back(static_cast<char>(t >> 16));
  k.push_back(static_cast<char>(t >> 8));
  k.push_back(static_cast<char>(t));
  return k;
}

etcdserverpb::AlarmMember MakeMember(uint64_t member_id, int type) {
  etcdserverpb::AlarmMember m;
  m.set_memberid(member_id);
  m.set_alarm(static_cast<etcdserverpb::AlarmType>(type));
  return m;
}

}  // namespace

absl::Status AlarmStore::Load() {
  std::set<std::pair<int, uint64_t>> loaded;
  const std::string end = std::string(kPrefix, kPrefixLen - 1) + static_cast<char>('/' + 1);
  auto st = backend_->Scan(mvcc::Cf::kMeta, kPrefix, end, [&](std::string_view k, std::string_view) {
    if (k.size() != kPrefixLen + 12) return true;
    const uint64_t id = util::DecodeFixed64BE(k.data() + kPrefixLen);
    const unsigned char* t = reinterpret_cast<const unsigned char*>(k.data() + kPrefixLen + 8);
    const int type = static_cast<int>((uint32_t(t[0]) << 24) | (uint32_t(t[1]) << 16) |
                                      (uint32_t(t[2]) << 8) | uint32_t(t[3]));
    loaded.emplace(type, id);
    return true;
  });
  if (!st.ok()) return st;
  absl::MutexLock l(&mu_);
  active_ = std::move(loaded);
  PublishFlagsLocked();
  return absl::OkStatus();
}

std::optional<etcdserverpb::AlarmMember> AlarmStore::Activate(uint64_t member_id,
                                                              etcdserverpb::AlarmType type,
                                                              mvcc::Batch* batch) {
  if (type == etcdserverpb::NONE) return std::nullopt;
  absl::MutexLock l(&mu_);
  if (active_.emplace(type, member_id).second) {
    batch->Put(mvcc::Cf::kMeta, AlarmKey(member_id, type), "");
    PublishFlagsLocked();
  }
  return MakeMember(member_id, type);
}

std::optional<etcdserverpb::AlarmMember> AlarmStore::Deactivate(uint64_t member_id,
                                                                etcdserverpb::AlarmType type,
                                                                mvcc::Batch* batch) {
  absl::MutexLock l(&mu_);
  if (active_.erase({type, member_id}) == 0) return std::nullopt;
  batch->Delete(mvcc::Cf::kMeta, AlarmKey(member_id, type));
  PublishFlagsLocked();
  return MakeMember(member_id, type);
}

std::vector<etcdserverpb::AlarmMember> AlarmStore::Get(etcdserverpb::AlarmType type) const {
  std::vector<etcdserverpb::AlarmMember> out;
  absl::MutexLock l(&mu_);
  for (const auto& [t, id] : active_) {
    if (type == etcdserverpb::NONE || t == type) out.push_back(MakeMember(id, t));
  }
  return out;
}

bool AlarmStore::Has(etcdserverpb::AlarmType type) const {
  if (type == etcdserverpb::NOSPACE) return nospace_.load(std::memory_order_acquire);
  if (type == etcdserverpb::CORRUPT) return corrupt_.load(std::memory_order_acquire);
  return !Get(type).empty();
}

void AlarmStore::PublishFlagsLocked() {
  bool nospace = false, corrupt = false;
  for (const auto& [t, id] : active_) {
    nospace |= t == etcdserverpb::NOSPACE;
    corrupt |= t == etcdserverpb::CORRUPT;
  }
  nospace_.store(nospace, std::memory_order_release);
  corrupt_.store(corrupt, std::memory_order_release);
}

}  // namespace quorum::server
