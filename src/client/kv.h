// KvClient: the etcd KV service (Range, Put, DeleteRange, Txn, Compact) with
// clientv3's option semantics expressed as plain option structs.
//
// The Build*Request functions are the whole option -> wire mapping; they are
// pure so tests (kv_test.cc) and the Txn builder use them directly. Rules
// carried over from clientv3 (behaviour that etcd users rely on):
//   * prefix: range_end = key with its last byte < 0xff incremented and the
//     rest dropped; an all-0xff (or empty) key means "from key" ("\0");
//     an empty key with prefix/from_key becomes key "\0", range_end "\0"
//     (the whole keyspace);
//   * sort by key ascending is sent as "no sort order" (the server's natural
//     order), so the server does not sort needlessly;
//   * revision <= 0 means the newest revision.
//
// Thread-safety: KvClient is as thread-safe as the Client it borrows; the
// Client must outlive it.
#ifndef QUORUM_CLIENT_KV_H_
#define QUORUM_CLIENT_KV_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client {

class Txn;

enum class SortTarget { kKey, kVersion, kCreate, kMod, kValue };
enum class SortOrder { kNone, kAscend, kDescend };

struct GetOptions {
  // Range selection: at most one of range_end / prefix / from_key.
  std::string range_end;  // explicit [key, range_end)
  bool prefix = false;
  bool from_key = false;
  int64_t limit = 0;     // 0: no limit
  int64_t revision = 0;  // <= 0: newest
  SortTarget sort_target = SortTarget::kKey;
  SortOrder sort_order = SortOrder::kNone;
  bool keys_only = false;
  bool count_only = false;
  bool serializable = false;  // member-local read instead of linearizable
  int64_t min_mod_revision = 0;
  int64_t max_mod_revision = 0;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;
};

struct PutOptions {
  int64_t lease = 0;  // 0: no lease
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

struct DeleteOptions {
  std::string range_end;
  bool prefix = false;
  bool from_key = false;
  bool prev_kv = false;
};

struct CompactOptions {
  // Wait until the compaction is physically applied to the backend.
  bool physical = false;
};

// The range_end that selects every key starting with `prefix` ("\0" when no
// such bound exists).
std::string PrefixRangeEnd(std::string_view prefix);

etcdserverpb::RangeRequest BuildRangeRequest(std::string_view key, const GetOptions& opts);
etcdserverpb::PutRequest BuildPutRequest(std::string_view key, std::string_view value,
                                         const PutOptions& opts);
etcdserverpb::DeleteRangeRequest BuildDeleteRequest(std::string_view key,
                                                    const DeleteOptions& opts);

class KvClient {
 public:
  explicit KvClient(Client& client) : client_(client) {}

  absl::StatusOr<etcdserverpb::RangeResponse> Get(std::string_view key,
                                                  const GetOptions& opts = {});
  absl::StatusOr<etcdserverpb::PutResponse> Put(std::string_view key, std::string_view value,
                                                const PutOptions& opts = {});
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> Delete(std::string_view key,
                                                           const DeleteOptions& opts = {});
  absl::StatusOr<etcdserverpb::TxnResponse> Commit(const Txn& txn);
  absl::StatusOr<etcdserverpb::CompactionResponse> Compact(int64_t revision,
                                                           const CompactOptions& opts = {});

  // Raw requests (what Get/Put/... send after mapping their options).
  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& req);
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& req);

 private:
  Client& client_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_KV_H_
