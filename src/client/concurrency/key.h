// Shared pieces of the recipes (clientv3/concurrency/key.go): waiting for the
// delete of keys ordered before ours, and retrying the recipes' txns, which
// are written so that re-sending them after an ambiguous failure is safe.
//
// Thread-safety: free functions; as thread-safe as the Client.
#ifndef QUORUM_CLIENT_CONCURRENCY_KEY_H_
#define QUORUM_CLIENT_CONCURRENCY_KEY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/concurrency/wait.h"
#include "client/kv.h"
#include "client/txn.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client::concurrency {

// "<prefix>/<lease id in lower-case hex>" as etcd names recipe keys (the
// prefix already ends with '/').
std::string LeaseKey(const std::string& prefix_slash, int64_t lease);

// Range options selecting the key of `prefix` with the smallest (first) or
// largest (last) create revision.
GetOptions FirstCreate();
GetOptions LastCreate();

// Whether a failure may be transient (the cluster is electing, a member is
// down): the recipes retry these until their Wait ends.
bool Retryable(const absl::Status& s);

// Runs `op` until it succeeds, fails for good, or `wait` ends (then the
// wait's own error: "context canceled" / "context deadline exceeded", as a
// clientv3 call returns its context's error). Only for operations that are
// safe to repeat.
template <typename T>
absl::StatusOr<T> Retry(const Wait& wait, const std::function<absl::StatusOr<T>()>& op);

// Waits until `key` is deleted at a revision >= `rev`.
absl::Status WaitDelete(Client& client, const std::string& key, int64_t rev, const Wait& wait);

// Waits until no key under `prefix` has a create revision <= max_create_rev,
// watching only the newest such key each time (no thundering herd). Returns
// the header of the final (empty) range read.
absl::StatusOr<etcdserverpb::ResponseHeader> WaitDeletes(Client& client, const std::string& prefix,
                                                         int64_t max_create_rev, const Wait& wait);

// --- implementation ---

template <typename T>
absl::StatusOr<T> Retry(const Wait& wait, const std::function<absl::StatusOr<T>()>& op) {
  // No single attempt outlives the wait.
  CallDeadlineScope bound(wait.deadline);
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<T> r = op();
    if (r.ok() || !Retryable(r.status())) return r;
    if (absl::Status w = wait.Check(); !w.ok()) return w;
    absl::SleepFor(absl::Milliseconds(std::min(50 * (attempt + 1), 500)));
    if (absl::Status w = wait.Check(); !w.ok()) return w;
  }
}

}  // namespace quorum::client::concurrency

#endif  // QUORUM_CLIENT_CONCURRENCY_KEY_H_
