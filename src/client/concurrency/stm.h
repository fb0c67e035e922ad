// STM: software transactional memory over etcd txns
// (clientv3/concurrency.NewSTM). RunStm() calls `apply` with an Stm whose
// Get/Rev read through a per-attempt read set and whose Put/Del buffer a
// write set; at the end it commits one txn that applies the writes only if
// the reads are still valid, and re-runs `apply` on conflict (the failed
// txn's else branch prefetches the read keys, saving a round trip).
// A failed read takes precedence over apply's own result (apply saw "" for
// the key): if it may pass (unavailable, timeout) apply is re-run, otherwise
// the read error is returned. A failed commit is returned as it is: it may
// have applied, and re-running would apply the writes twice.
//
// Isolation (as etcd):
//   kSerializableSnapshot (default): reads at the revision of the first read;
//     commit requires every read key unchanged and no written key modified
//     after that revision.
//   kSerializable: reads at the first read's revision; commit requires every
//     read key unchanged.
//   kRepeatableReads: reads at the newest revision, each key once; commit
//     requires every read key unchanged.
//   kReadCommitted: reads at the newest revision; no conflict check.
//
// Thread-safety: an Stm is used by one apply call on one thread.
#ifndef QUORUM_CLIENT_CONCURRENCY_STM_H_
#define QUORUM_CLIENT_CONCURRENCY_STM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/concurrency/wait.h"
#include "client/kv.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client::concurrency {

enum class Isolation { kSerializableSnapshot, kSerializable, kRepeatableReads, kReadCommitted };

struct StmOptions {
  Isolation isolation = Isolation::kSerializableSnapshot;
  // Keys read up front (fewer round trips when apply reads them anyway).
  std::vector<std::string> prefetch;
  // Attempts before giving up with Aborted "stm: too many conflicts".
  int max_attempts = 64;
  Wait wait = Wait::For(absl::Seconds(30));
};

class Stm {
 public:
  // The value of the first of `keys` that exists ("" if none).
  std::string Get(const std::vector<std::string>& keys);
  std::string Get(const std::string& key) { return Get(std::vector<std::string>{key}); }
  // The mod revision of `key` (0 if absent).
  int64_t Rev(const std::string& key);
  void Put(const std::string& key, std::string value, const PutOptions& opts = {});
  void Del(const std::string& key);
  // The first read error of this attempt (apply may check it; RunStm does).
  const absl::Status& ReadError() const { return read_error_; }

 private:
  friend absl::StatusOr<etcdserverpb::TxnResponse> RunStm(Client&,
                                                          const std::function<absl::Status(Stm&)>&,
                                                          const StmOptions&);
  struct Write {
    std::optional<std::string> value;  // nullopt: delete
    PutOptions opts;
  };
  Stm(Client& client, Isolation isolation) : client_(client), isolation_(isolation) {}
  const etcdserverpb::RangeResponse* Fetch(const std::string& key);
  void Reset();

  Client& client_;
  const Isolation isolation_;
  std::map<std::string, etcdserverpb::RangeResponse> rset_;
  std::map<std::string, etcdserverpb::RangeResponse> prefetched_;
  std::map<std::string, Write> wset_;
  int64_t read_rev_ = 0;  // snapshot isolations: revision of the first read
  absl::Status read_error_;
};

// Runs `apply` until its txn commits without conflict; returns the committed
// txn's response. A non-OK status from apply aborts (returned as is) unless
// a read of that attempt failed: then the read error decides (see above).
absl::StatusOr<etcdserverpb::TxnResponse> RunStm(Client& client,
                                                const std::function<absl::Status(Stm&)>& apply,
                                                const StmOptions& opts = {});

}  // namespace quorum::client::concurrency

#endif  // QUORUM_CLIENT_CONCURRENCY_STM_H_
