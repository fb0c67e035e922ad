#include "server/apply/range_executor.h"

#include <algorithm>
#include <cstdint>
#include <functional>

namespace quorum::server {
namespace {

using etcdserverpb::RangeRequest;
using mvccpb::KeyValue;

// Strict "less" for the sort target; ties keep key order (stable sort).
std::function<bool(const KeyValue&, const KeyValue&)> LessFor(RangeRequest::SortTarget t) {
  switch (t) {
    case RangeRequest::VERSION:
      return [](const KeyValue& a, const KeyValue& b) { return a.version() < b.version(); };
    case RangeRequest::CREATE:
      return [](const KeyValue& a, const KeyValue& b) {
        return a.create_revision() < b.create_revision();
      };
    case RangeRequest::MOD:
      return [](const KeyValue& a, const KeyValue& b) {
        return a.mod_revision() < b.mod_revision();
      };
    case RangeRequest::VALUE:
      return [](const KeyValue& a, const KeyValue& b) { return a.value() < b.value(); };
    default:
      return [](const KeyValue& a, const KeyValue& b) { return a.key() < b.key(); };
  }
}

}  // namespace

absl::StatusOr<etcdserverpb::RangeResponse> ExecuteRange(const KvReader& reader,
                                                         const RangeRequest& r) {
  mvcc::RangeOptions ro;
  ro.rev = r.revision();
  ro.count_only = r.count_only();
  ro.limit = r.limit();
  if (r.sort_order() != RangeRequest::NONE || r.min_mod_revision() != 0 ||
      r.max_mod_revision() != 0 || r.min_create_revision() != 0 ||
      r.max_create_revision() != 0) {
    ro.limit = 0;  // sort and filter everything, truncate afterwards
  }
  // One extra tells whether there is `more` (none past the largest limit).
  if (ro.limit > 0 && ro.limit < INT64_MAX) ro.limit++;

  auto rr = reader.Range(r.key(), r.range_end(), ro);
  if (!rr.ok()) return rr.status();
  std::vector<KeyValue>& kvs = rr->kvs;

  auto prune = [&](auto drop) { kvs.erase(std::remove_if(kvs.begin(), kvs.end(), drop), kvs.end()); };
  if (r.max_mod_revision() != 0) {
    prune([&](const KeyValue& kv) { return kv.mod_revision() > r.max_mod_revision(); });
  }
  if (r.min_mod_revision() != 0) {
    prune([&](const KeyValue& kv) { return kv.mod_revision() < r.min_mod_revision(); });
  }
  if (r.max_create_revision() != 0) {
    prune([&](const KeyValue& kv) { return kv.create_revision() > r.max_create_revision(); });
  }
  if (r.min_create_revision() != 0) {
    prune([&](const KeyValue& kv) { return kv.create_revision() < r.min_create_revision(); });
  }

  auto order = r.sort_order();
  if (r.sort_target() != RangeRequest::KEY && order == RangeRequest::NONE) {
    order = RangeRequest::ASCEND;
  }
  if (order == RangeRequest::ASCEND) {
    std::stable_sort(kvs.begin(), kvs.end(), LessFor(r.sort_target()));
  } else if (order == RangeRequest::DESCEND) {
    auto less = LessFor(r.sort_target());
    std::stable_sort(kvs.begin(), kvs.end(),
                     [&](const KeyValue& a, const KeyValue& b) { return less(b, a); });
  }

  etcdserverpb::RangeResponse resp;
  if (r.limit() > 0 && static_cast<int64_t>(kvs.size()) > r.limit()) {
    kvs.resize(r.limit());
    resp.set_more(true);
  }
  resp.mutable_header()->set_revision(rr->rev);
  resp.set_count(rr->count);
  resp.mutable_kvs()->Reserve(static_cast<int>(kvs.size()));
  for (auto& kv : kvs) {
    if (r.keys_only()) kv.clear_value();
    *resp.add_kvs() = std::move(kv);
  }
  return resp;
}

bool CanServeSerialized(const RangeRequest& r) {
  const bool key_order = r.sort_target() == RangeRequest::KEY &&
                         (r.sort_order() == RangeRequest::NONE ||
                          r.sort_order() == RangeRequest::ASCEND);
  return key_order && !r.keys_only() && !r.count_only() && r.min_mod_revision() == 0 &&
         r.max_mod_revision() == 0 && r.min_create_revision() == 0 &&
         r.max_create_revision() == 0;
}

absl::StatusOr<SerializedRangeResult> ExecuteRangeSerialized(const StoreReader& reader,
                                                             const RangeRequest& r) {
  mvcc::RangeOptions ro;
  ro.rev = r.revision();
  // One extra tells whether there is `more` (none past the largest limit).
  ro.limit = r.limit() > 0 && r.limit() < INT64_MAX ? r.limit() + 1 : r.limit();
  auto rr = reader.RangeSerialized(r.key(), r.range_end(), ro);
  if (!rr.ok()) return rr.status();
  SerializedRangeResult out;
  out.range = std::move(*rr);
  if (r.limit() > 0 && static_cast<int64_t>(out.range.kvs.size()) > r.limit()) {
    out.range.kvs.Truncate(static_cast<size_t>(r.limit()));
    out.more = true;
  }
  return out;
}

}  // namespace quorum::server
