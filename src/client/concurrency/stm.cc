#include "client/concurrency/stm.h"

#include <utility>

#include "client/concurrency/key.h"
#include "client/txn.h"

namespace quorum::client::concurrency {

const etcdserverpb::RangeResponse* Stm::Fetch(const std::string& key) {
  if (auto it = rset_.find(key); it != rset_.end()) return &it->second;
  if (auto it = prefetched_.find(key); it != prefetched_.end()) {
    auto [pos, _] = rset_.emplace(key, std::move(it->second));
    prefetched_.erase(it);
    if (read_rev_ == 0) read_rev_ = pos->second.header().revision();
    return &pos->second;
  }
  const bool snapshot = isolation_ == Isolation::kSerializableSnapshot ||
                        isolation_ == Isolation::kSerializable;
  GetOptions o;
  if (snapshot && read_rev_ > 0) {
    o.revision = read_rev_;
    o.serializable = true;
  }
  absl::StatusOr<etcdserverpb::RangeResponse> r = KvClient(client_).Get(key, o);
  if (!r.ok()) {
    if (read_error_.ok()) read_error_ = r.status();
    return nullptr;
  }
  if (snapshot && read_rev_ == 0) read_rev_ = r->header().revision();
  if (isolation_ == Isolation::kReadCommitted) {
    // The newest value (no snapshot revision); kept for the rest of the
    // attempt by the rset_ lookup above, as clientv3's read set does.
    prefetched_.erase(key);
    auto [pos, _] = rset_.insert_or_assign(key, *std::move(r));
    return &pos->second;
  }
  auto [pos, _] = rset_.emplace(key, *std::move(r));
  return &pos->second;
}

std::string Stm::Get(const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    if (auto it = wset_.find(k); it != wset_.end()) return it->second.value.value_or("");
  }
  for (const auto& k : keys) {
    const etcdserverpb::RangeResponse* r = Fetch(k);
    if (r != nullptr && r->kvs_size() > 0) return r->kvs(0).value();
  }
  return "";
}

int64_t Stm::Rev(const std::string& key) {
  if (auto it = wset_.find(key); it != wset_.end()) return 0;  // etcd: unknown until commit
  const etcdserverpb::RangeResponse* r = Fetch(key);
  return r != nullptr && r->kvs_size() > 0 ? r->kvs(0).mod_revision() : 0;
}

void Stm::Put(const std::string& key, std::string value, const PutOptions& opts) {
  wset_[key] = Write{std::move(value), opts};
}

void Stm::Del(const std::string& key) { wset_[key] = Write{std::nullopt, {}}; }

void Stm::Reset() {
  rset_.clear();
  wset_.clear();
  read_rev_ = 0;
  read_error_ = absl::OkStatus();
}

absl::StatusOr<etcdserverpb::TxnResponse> RunStm(Client& client,
                                                const std::function<absl::Status(Stm&)>& apply,
                                                const StmOptions& opts) {
  Stm stm(client, opts.isolation);
  for (const auto& k : opts.prefetch) stm.Fetch(k);
  stm.rset_.swap(stm.prefetched_);
  stm.read_rev_ = 0;
  absl::Status last = absl::AbortedError("stm: too many conflicts");
  for (int attempt = 0; attempt < opts.max_attempts; ++attempt) {
    if (absl::Status s = opts.wait.Check(); !s.ok()) return s;
    stm.Reset();
    const absl::Status applied = apply(stm);
    // A failed read comes first: apply saw "" for the key and its own error
    // follows from that (Go's STM aborts apply at the failed read).
    if (!stm.read_error_.ok()) {
      if (!Retryable(stm.read_error_)) return stm.read_error_;
      last = stm.read_error_;
      stm.prefetched_.clear();
      continue;
    }
    if (!applied.ok()) return applied;
    std::vector<Cmp> cmps;
    if (opts.isolation != Isolation::kReadCommitted) {
      for (const auto& [k, r] : stm.rset_) {
        cmps.push_back(Cmp::ModRevision(k).Equal(r.kvs_size() > 0 ? r.kvs(0).mod_revision() : 0));
      }
    }
    if (opts.isolation == Isolation::kSerializableSnapshot && stm.read_rev_ > 0) {
      for (const auto& [k, w] : stm.wset_) {
        if (!stm.rset_.count(k)) cmps.push_back(Cmp::ModRevision(k).Less(stm.read_rev_ + 1));
      }
    }
    std::vector<Op> puts, gets;
    std::vector<std::string> keys;
    for (const auto& [k, w] : stm.wset_) {
      puts.push_back(w.value ? Op::Put(k, *w.value, w.opts) : Op::Delete(k));
    }
    for (const auto& [k, r] : stm.rset_) {
      keys.push_back(k);
      gets.push_back(Op::Get(k));
    }
    Txn t;
    t.If(cmps).Then(puts).Else(gets);
    absl::StatusOr<etcdserverpb::TxnResponse> r = KvClient(client).Commit(t);
    // A failed commit may still have applied (the member crashed after
    // committing, before answering). Re-running apply would read its own
    // writes and apply them a second time, so the caller decides, as with
    // etcd's STM.
    if (!r.ok()) return r.status();
    if (r->succeeded()) return r;
    // Conflict: the else branch read the keys afresh; reuse them.
    stm.prefetched_.clear();
    for (size_t i = 0; i < keys.size() && static_cast<int>(i) < r->responses_size(); ++i) {
      etcdserverpb::RangeResponse rr = r->responses(static_cast<int>(i)).response_range();
      *rr.mutable_header() = r->header();
      stm.prefetched_.emplace(keys[i], std::move(rr));
    }
    last = absl::AbortedError("stm: too many conflicts");
  }
  return last;
}

}  // namespace quorum::client::concurrency
