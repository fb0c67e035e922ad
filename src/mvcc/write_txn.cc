#include "mvcc/errors.h"
#include "mvcc/kv_store.h"

namespace quorum::mvcc {

WriteTxn::WriteTxn(KvStore* store) : store_(store), begin_rev_(store->current_rev_) {}

absl::StatusOr<RangeResult> WriteTxn::Range(std::string_view key, std::string_view end,
                                            const RangeOptions& opts) const {
  return store_->RangeAt(key, end, opts, Rev(), /*include_pending=*/true);
}

int64_t WriteTxn::Put(std::string_view key, std::string_view value, int64_t lease) {
  const int64_t main = begin_rev_ + 1;
  const Revision rev{main, static_cast<int64_t>(changes_.size())};
  // One index lookup: the put reports the generation's create revision and
  // version, which the new KeyValue carries.
  const KeyVersion ver = store_->index_.Put(key, rev);
  Change c;
  mvccpb::KeyValue& kv = c.kv;
  kv.set_key(key.data(), key.size());
  kv.set_value(value.data(), value.size());
  kv.set_create_revision(ver.created.main);
  kv.set_mod_revision(main);
  kv.set_version(ver.version);
  kv.set_lease(lease);
  std::string bytes = kv.SerializeAsString();
  store_->pending_.Put(Cf::kKv, EncodeRevKey(rev), bytes);
  store_->pending_kvs_[rev] = std::move(bytes);
  changes_.push_back(std::move(c));
  return main;
}

int64_t WriteTxn::DeleteRange(std::string_view key, std::string_view end) {
  const int64_t main = begin_rev_ + 1;
  auto live = store_->index_.LiveKeys(key, end, Rev());
  for (auto& [k, ver] : live) {
    const Revision rev{main, static_cast<int64_t>(changes_.size())};
    Change c;
    c.deleted = true;
    c.kv.set_key(k);
    c.kv.set_mod_revision(main);
    std::string bytes = c.kv.SerializeAsString();
    store_->pending_.Put(Cf::kKv, EncodeRevKey(rev, /*tombstone=*/true), bytes);
    // Recorded so that a compaction in the same group also drops it.
    store_->pending_kvs_[rev] = std::move(bytes);
    store_->index_.Tombstone(k, rev).IgnoreError();  // live by construction
    changes_.push_back(std::move(c));
  }
  return static_cast<int64_t>(live.size());
}

std::vector<WriteTxn::Change> WriteTxn::End() {
  if (!changes_.empty()) store_->current_rev_ = begin_rev_ + 1;
  if (store_->observer_ != nullptr) {
    store_->pending_changes_.insert(store_->pending_changes_.end(), changes_.begin(),
                                    changes_.end());
  }
  return std::move(changes_);
}

}  // namespace quorum::mvcc
