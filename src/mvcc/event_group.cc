#include "mvcc/event_group.h"

#include <utility>

namespace quorum::mvcc {

EventGroup::EventGroup(std::vector<Change> changes, int64_t rev, const KvStore* store)
    : changes_(std::move(changes)),
      rev_(rev),
      store_(store),
      plain_(std::make_unique<Encoding[]>(changes_.size())),
      with_prev_(std::make_unique<Encoding[]>(changes_.size())) {
  for (size_t i = 0; i < changes_.size(); ++i) total_bytes_ += ApproxBytes(i, false);
}

const std::string& EventGroup::Encoded(size_t i, bool with_prev_kv) const {
  Encoding& e = with_prev_kv ? with_prev_[i] : plain_[i];
  absl::call_once(e.once, [&] { e.bytes = Encode(i, with_prev_kv); });
  return e.bytes;
}

std::string EventGroup::Encode(size_t i, bool with_prev_kv) const {
  const Change& c = changes_[i];
  mvccpb::Event ev;
  ev.set_type(c.deleted ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
  *ev.mutable_kv() = c.kv;
  // A create has no previous value; etcd skips the lookup for it too.
  const bool create = !c.deleted && c.kv.create_revision() == c.kv.mod_revision();
  if (with_prev_kv && !create && store_ != nullptr) {
    RangeOptions ro;
    ro.rev = c.kv.mod_revision() - 1;
    auto prev = store_->Range(c.kv.key(), "", ro);
    if (prev.ok() && !prev->kvs.empty()) *ev.mutable_prev_kv() = std::move(prev->kvs[0]);
  }
  return ev.SerializeAsString();
}

size_t EventGroup::ApproxBytes(size_t i, bool with_prev_kv) const {
  const Change& c = changes_[i];
  const size_t kv = c.kv.key().size() + c.kv.value().size() + 32;
  return with_prev_kv ? 2 * kv : kv;
}

}  // namespace quorum::mvcc
