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
  int64_t created = main;
  int64_t version = 1;
  if (auto prev = store_->index_.Get(key, main); prev.ok()) {
    created = prev->created.main;
    version = prev->version + 1;
  }
  Change c;
  mvccpb::KeyValue& kv = c.kv;
  kv.set_key(key.data(), key.size());
  kv.set_value(value.data(), value.size());
  kv.set_create_revision(created);
  kv.set_mod_revision(main);
  kv.set_version(version);
  kv.set_lease(lease);
  store_->pending_.Put(Cf::kKv, EncodeRevKey(rev), kv.SerializeAsString());
  store_->pending_kvs_[rev] = kv;
  store_->index_.Put(key, rev);
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
    store_->pending_.Put(Cf::kKv, EncodeRevKey(rev, /*tombstone=*/true),
                         c.kv.SerializeAsString());
    store_->index_.Tombstone(k, rev).IgnoreError();  // live by construction
    changes_.push_back(std::move(c));
  }
  return static_cast<int64_t>(live.size());
}

std::vector<WriteTxn::Change> WriteTxn::End() {
  if (!changes_.empty()) store_->current_rev_ = begin_rev_ + 1;
  return std::move(changes_);
}

}  // namespace quorum::mvcc
