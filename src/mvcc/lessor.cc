#include "mvcc/lessor.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "mvcc/revision.h"
#include "util/coding.h"

namespace quorum::mvcc {
namespace {

constexpr char kNotPrimaryMsg[] = "etcdserver: not primary lessor";
constexpr char kExpiredMsg[] = "lease expired, its revocation is pending";
constexpr size_t kRecordSize = 24;

}  // namespace

absl::Status ErrLeaseNotFound() {
  return absl::NotFoundError("etcdserver: requested lease not found");
}
absl::Status ErrLeaseExists() {
  return absl::FailedPreconditionError("etcdserver: lease already exists");
}
absl::Status ErrLeaseTtlTooLarge() { return absl::OutOfRangeError("etcdserver: too large lease TTL"); }
absl::Status ErrNotPrimary() { return absl::UnavailableError(kNotPrimaryMsg); }
bool IsNotPrimary(const absl::Status& s) {
  return absl::IsUnavailable(s) && s.message() == kNotPrimaryMsg;
}
absl::Status ErrLeaseExpired() { return absl::AbortedError(kExpiredMsg); }
bool IsLeaseExpired(const absl::Status& s) {
  return absl::IsAborted(s) && s.message() == kExpiredMsg;
}

int64_t MinLeaseTtlSeconds(int election_ms, int heartbeat_ms) {
  heartbeat_ms = std::max(1, heartbeat_ms);
  const int64_t election_ticks = std::max(1, election_ms / heartbeat_ms);
  const int64_t min_ms = (3 * election_ticks) / 2 * heartbeat_ms;
  return (min_ms + 999) / 1000;
}

Lessor::Lessor(Backend* backend, LessorOptions opts)
    : backend_(backend),
      opts_(opts),
      clock_(opts.clock != nullptr ? opts.clock : util::RealClock::Get()) {}

absl::StatusOr<std::unique_ptr<Lessor>> Lessor::Open(Backend* backend, LessorOptions opts) {
  std::unique_ptr<Lessor> l(new Lessor(backend, opts));
  absl::MutexLock lock(&l->mu_);
  if (auto st = l->LoadLocked(); !st.ok()) return st;
  return l;
}

std::string Lessor::EncodeKey(LeaseId id) { return util::EncodeFixed64BE(static_cast<uint64_t>(id)); }

std::string Lessor::EncodeValue(LeaseId id, const Lease& l) {
  std::string v;
  v.reserve(kRecordSize);
  util::PutFixed64BE(&v, static_cast<uint64_t>(id));
  util::PutFixed64BE(&v, static_cast<uint64_t>(l.ttl));
  util::PutFixed64BE(&v, static_cast<uint64_t>(l.remaining_ttl));
  return v;
}

absl::Status Lessor::LoadLocked() {
  leases_.clear();
  items_.clear();
  absl::Status bad;
  auto st = backend_->Scan(Cf::kLease, "", "", [&](std::string_view k, std::string_view v) {
    if (k.size() != 8 || v.size() != kRecordSize) {
      bad = absl::DataLossError("lease column family holds an undecodable record");
      return false;
    }
    const auto id = static_cast<LeaseId>(util::DecodeFixed64BE(v.data()));
    Lease l;
    l.ttl = static_cast<int64_t>(util::DecodeFixed64BE(v.data() + 8));
    l.remaining_ttl = static_cast<int64_t>(util::DecodeFixed64BE(v.data() + 16));
    leases_.emplace(id, std::move(l));
    return true;
  });
  if (!st.ok()) return st;
  if (!bad.ok()) return bad;
  // Attachments: the lease of every live key. One pass over the kv history
  // in revision order leaves each key's latest state (a Range over the index
  // would count the whole keyspace per page).
  absl::flat_hash_map<std::string, LeaseId> latest;
  st = backend_->Scan(Cf::kKv, "", "", [&](std::string_view k, std::string_view v) {
    auto d = DecodeRevKey(k);
    mvccpb::KeyValue kv;
    if (!d || !kv.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError("kv column family holds an undecodable record");
      return false;
    }
    if (d->tombstone || kv.lease() == kNoLease) {
      latest.erase(kv.key());
    } else {
      latest[kv.key()] = kv.lease();
    }
    return true;
  });
  if (!st.ok()) return st;
  if (!bad.ok()) return bad;
  for (const auto& [key, id] : latest) AttachLocked(id, key);
  return absl::OkStatus();
}

absl::Status Lessor::Reload() {
  {
    absl::MutexLock lock(&mu_);
    if (auto st = LoadLocked(); !st.ok()) return st;
    if (primary_) {
      const auto now = clock_->Now();
      for (auto& [id, l] : leases_) {
        l.expiry = now + std::chrono::seconds(l.remaining_ttl > 0 ? l.remaining_ttl : l.ttl);
        l.next_checkpoint = NextCheckpoint(l, now);
      }
    }
  }
  // Leases may be gone or extended: renewals waiting on them look again.
  absl::MutexLock observer(&observer_mu_);
  if (observer_ != nullptr) observer_->AllLeasesChanged();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Lessor::Grant(LeaseId id, int64_t ttl, Batch* batch) {
  if (id == kNoLease) return ErrLeaseNotFound();  // etcd's answer to a zero id
  if (ttl > kMaxLeaseTtl) return ErrLeaseTtlTooLarge();
  absl::MutexLock lock(&mu_);
  if (leases_.contains(id)) return ErrLeaseExists();
  Lease l;
  l.ttl = std::max(ttl, opts_.min_ttl_s);
  if (primary_) {
    const auto now = clock_->Now();
    l.expiry = now + std::chrono::seconds(l.ttl);
    l.next_checkpoint = NextCheckpoint(l, now);
  }
  batch->Put(Cf::kLease, EncodeKey(id), EncodeValue(id, l));
  const int64_t granted = l.ttl;
  leases_.emplace(id, std::move(l));
  return granted;
}

absl::Status Lessor::Revoke(LeaseId id, Batch* batch) {
  {
    absl::MutexLock lock(&mu_);
    auto it = leases_.find(id);
    if (it == leases_.end()) return ErrLeaseNotFound();
    for (const auto& k : it->second.keys) items_.erase(k);
    leases_.erase(it);
    batch->Delete(Cf::kLease, EncodeKey(id));
  }
  absl::MutexLock observer(&observer_mu_);
  if (observer_ != nullptr) observer_->LeaseRevoked(id);
  return absl::OkStatus();
}

void Lessor::AttachLocked(LeaseId id, const std::string& key) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return;  // a put is validated first; restore skips strays
  it->second.keys.insert(key);
  items_[key] = id;
}

void Lessor::DetachLocked(const std::string& key) {
  auto it = items_.find(key);
  if (it == items_.end()) return;
  auto l = leases_.find(it->second);
  if (l != leases_.end()) l->second.keys.erase(key);
  items_.erase(it);
}

void Lessor::ApplyChanges(const std::vector<Change>& changes) {
  absl::MutexLock lock(&mu_);
  if (items_.empty()) {
    // Fast path: nothing attached yet, so only leased puts matter.
    bool any = false;
    for (const auto& c : changes) any |= !c.deleted && c.kv.lease() != kNoLease;
    if (!any) return;
  }
  for (const auto& c : changes) {
    const std::string& key = c.kv.key();
    if (c.deleted) {
      DetachLocked(key);
      continue;
    }
    auto cur = items_.find(key);
    const LeaseId old = cur == items_.end() ? kNoLease : cur->second;
    if (old == c.kv.lease()) continue;
    if (old != kNoLease) DetachLocked(key);
    if (c.kv.lease() != kNoLease) AttachLocked(c.kv.lease(), key);
  }
}

bool Lessor::Lookup(LeaseId id) const {
  absl::MutexLock lock(&mu_);
  return leases_.contains(id);
}

std::optional<LeaseInfo> Lessor::Get(LeaseId id, bool with_keys) const {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return std::nullopt;
  LeaseInfo info;
  info.id = id;
  info.ttl = it->second.ttl;
  if (primary_ && it->second.expiry != util::Clock::TimePoint::max()) {
    info.remaining = it->second.expiry - clock_->Now();
  }
  if (with_keys) {
    info.keys.assign(it->second.keys.begin(), it->second.keys.end());
    std::sort(info.keys.begin(), info.keys.end());
  }
  return info;
}

absl::StatusOr<std::vector<std::string>> Lessor::Keys(LeaseId id) const {
  auto info = Get(id, /*with_keys=*/true);
  if (!info) return ErrLeaseNotFound();
  return std::move(info->keys);
}

std::vector<LeaseId> Lessor::Leases() const {
  // etcd lists leases by expiry (on followers all are "forever": by id).
  std::vector<std::pair<util::Clock::TimePoint, LeaseId>> order;
  {
    absl::MutexLock lock(&mu_);
    order.reserve(leases_.size());
    for (const auto& [id, l] : leases_) order.emplace_back(l.expiry, id);
  }
  std::sort(order.begin(), order.end());
  std::vector<LeaseId> out;
  out.reserve(order.size());
  for (const auto& [expiry, id] : order) out.push_back(id);
  return out;
}

size_t Lessor::LeaseCount() const {
  absl::MutexLock lock(&mu_);
  return leases_.size();
}

void Lessor::Promote(util::Clock::Duration extend) {
  absl::MutexLock lock(&mu_);
  primary_ = true;
  const auto now = clock_->Now();
  std::vector<std::pair<util::Clock::TimePoint, LeaseId>> order;
  order.reserve(leases_.size());
  for (auto& [id, l] : leases_) {
    l.expiry = now + extend + std::chrono::seconds(l.remaining_ttl > 0 ? l.remaining_ttl : l.ttl);
    l.revoke_requested = util::Clock::TimePoint::min();
    l.next_checkpoint = NextCheckpoint(l, now);
    l.clear_checkpoint = false;
    order.emplace_back(l.expiry, id);
  }
  if (order.size() <= static_cast<size_t>(kTargetExpiresPerSecond)) return;
  // etcd's spreading: walk leases by expiry in one-second windows; once a
  // window holds more than the target, push the rest of it later in
  // proportion, so a new leader is not flooded with revocations.
  std::sort(order.begin(), order.end());
  auto base = order.front().first - now;
  auto next_window = base + std::chrono::seconds(1);
  int64_t expires = 0;
  for (const auto& [expiry, id] : order) {
    const auto remaining = expiry - now;
    if (remaining > next_window) {
      base = remaining;
      next_window = base + std::chrono::seconds(1);
      expires = 1;
      continue;
    }
    if (++expires <= kTargetExpiresPerSecond) continue;
    const auto delay = std::chrono::duration_cast<util::Clock::Duration>(
        std::chrono::duration<double>(static_cast<double>(expires) / kTargetExpiresPerSecond));
    next_window = base + delay;
    Lease& l = leases_[id];
    l.expiry = now + delay + extend +
               std::chrono::seconds(l.remaining_ttl > 0 ? l.remaining_ttl : l.ttl);
  }
}

void Lessor::Demote() {
  {
    absl::MutexLock lock(&mu_);
    primary_ = false;
    for (auto& [id, l] : leases_) {
      l.expiry = util::Clock::TimePoint::max();
      l.revoke_requested = util::Clock::TimePoint::min();
      l.next_checkpoint = util::Clock::TimePoint::max();
      l.clear_checkpoint = false;
    }
  }
  absl::MutexLock observer(&observer_mu_);
  if (observer_ != nullptr) observer_->AllLeasesChanged();
}

void Lessor::SetRevokeObserver(RevokeObserver* observer) {
  absl::MutexLock lock(&observer_mu_);
  observer_ = observer;
}

bool Lessor::IsPrimary() const {
  absl::MutexLock lock(&mu_);
  return primary_;
}

absl::StatusOr<int64_t> Lessor::Renew(LeaseId id) {
  absl::MutexLock lock(&mu_);
  if (!primary_) return ErrNotPrimary();
  auto it = leases_.find(id);
  if (it == leases_.end()) return ErrLeaseNotFound();
  const auto now = clock_->Now();
  // Its revocation is on its way (FindExpired). Not "not found" yet: the
  // keys are still there, and a demotion would leave the lease alive.
  if (it->second.expiry <= now) return ErrLeaseExpired();
  Lease& l = it->second;
  l.expiry = now + std::chrono::seconds(l.ttl);
  // A persisted checkpoint is stale now: a new leader would resume from the
  // old remaining TTL and cut the renewed lease short. As etcd's Renew, clear
  // it (remaining 0 = the full TTL on recovery) rather than checkpoint the
  // fresh remaining TTL: that one would be > 0 again, so every later renewal
  // would write another entry. Clearing costs one entry after each periodic
  // checkpoint: at most two per lease per checkpoint interval.
  if (l.remaining_ttl > 0 && CheckpointingEnabled()) l.clear_checkpoint = true;
  return l.ttl;
}

bool Lessor::CheckpointingEnabled() const {
  return opts_.checkpoint_interval > util::Clock::Duration::zero();
}

util::Clock::TimePoint Lessor::NextCheckpoint(const Lease& l, util::Clock::TimePoint now) const {
  const auto interval = opts_.checkpoint_interval;
  if (!CheckpointingEnabled() || std::chrono::seconds(l.ttl) <= interval) {
    return util::Clock::TimePoint::max();
  }
  return now + interval;
}

void Lessor::Checkpoint(LeaseId id, int64_t remaining_ttl, Batch* batch) {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  it->second.remaining_ttl = std::max<int64_t>(0, remaining_ttl);
  batch->Put(Cf::kLease, EncodeKey(id), EncodeValue(id, it->second));
}

std::vector<std::pair<LeaseId, int64_t>> Lessor::CollectCheckpoints(size_t limit) {
  std::vector<std::pair<LeaseId, int64_t>> out;
  absl::MutexLock lock(&mu_);
  if (!primary_) return out;
  const auto now = clock_->Now();
  for (auto& [id, l] : leases_) {
    if (out.size() >= limit) break;
    const bool due = l.next_checkpoint <= now && l.expiry > now;
    if (!due && !l.clear_checkpoint) continue;
    // A periodic checkpoint due now also replaces the stale one.
    l.clear_checkpoint = false;
    if (!due) {
      out.emplace_back(id, 0);
      continue;
    }
    // Whole seconds, rounded up: a checkpoint never shortens the lease.
    const auto left = std::chrono::ceil<std::chrono::seconds>(l.expiry - now).count();
    out.emplace_back(id, left);
    l.next_checkpoint = NextCheckpoint(l, now);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<LeaseId> Lessor::FindExpired(size_t limit) {
  std::vector<LeaseId> out;
  absl::MutexLock lock(&mu_);
  if (!primary_) return out;
  const auto now = clock_->Now();
  for (auto& [id, l] : leases_) {
    if (out.size() >= limit) break;
    if (l.expiry > now) continue;
    if (l.revoke_requested != util::Clock::TimePoint::min() &&
        now - l.revoke_requested < kExpiredRetry) {
      continue;
    }
    l.revoke_requested = now;
    out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace quorum::mvcc
