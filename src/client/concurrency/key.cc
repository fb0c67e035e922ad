#include "client/concurrency/key.h"

#include <memory>
#include <optional>

#include "absl/strings/str_format.h"
#include "client/watch.h"

namespace quorum::client::concurrency {

std::string LeaseKey(const std::string& prefix_slash, int64_t lease) {
  return absl::StrFormat("%s%x", prefix_slash, lease);
}

GetOptions FirstCreate() {
  GetOptions o;
  o.prefix = true;
  o.sort_target = SortTarget::kCreate;
  o.sort_order = SortOrder::kAscend;
  o.limit = 1;
  return o;
}

GetOptions LastCreate() {
  GetOptions o = FirstCreate();
  o.sort_order = SortOrder::kDescend;
  return o;
}

bool Retryable(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return true;
    default:
      // etcd's transient server errors ("etcdserver: leader changed",
      // "request timed out", "no leader") travel as Unavailable; anything
      // else (lease not found, invalid argument) is final.
      return false;
  }
}

absl::Status WaitDelete(Client& client, const std::string& key, int64_t rev, const Wait& wait) {
  WatchOptions wo;
  wo.start_revision = rev;
  wo.filter_put = true;
  std::unique_ptr<Watcher> w = Watcher::Open(client, key, wo);
  for (;;) {
    if (absl::Status s = wait.Check(); !s.ok()) return s;
    absl::StatusOr<std::optional<etcdserverpb::WatchResponse>> r = w->Next(wait.Slice());
    if (!r.ok()) return r.status();
    if (!r->has_value()) continue;
    for (const auto& ev : (*r)->events()) {
      if (ev.type() == mvccpb::Event::DELETE) return absl::OkStatus();
    }
  }
}

absl::StatusOr<etcdserverpb::ResponseHeader> WaitDeletes(Client& client, const std::string& prefix,
                                                         int64_t max_create_rev, const Wait& wait) {
  KvClient kv(client);
  GetOptions opts = LastCreate();
  opts.max_create_revision = max_create_rev;
  for (;;) {
    absl::StatusOr<etcdserverpb::RangeResponse> r = Retry<etcdserverpb::RangeResponse>(
        wait, [&]() { return kv.Get(prefix, opts); });
    if (!r.ok()) return r.status();
    if (r->kvs_size() == 0) return r->header();
    absl::Status s = WaitDelete(client, r->kvs(0).key(), r->header().revision(), wait);
    // Compacted past the read revision: read again (the key may be gone).
    if (!s.ok() && s.code() != absl::StatusCode::kOutOfRange) return s;
  }
}

}  // namespace quorum::client::concurrency
