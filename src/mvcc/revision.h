// Revision: the MVCC version of one change. `main` is the store revision of
// the write txn, `sub` the ordinal of the change inside it. Every write txn
// that changes anything bumps `main` by exactly one, as in etcd.
//
// Persisted form (the `kv` column family key), ordered like the revision:
//   rev_key   := main:be64 '_' sub:be64 [ 't' ]      -- 17 or 18 bytes
// The trailing 't' marks a tombstone (the key was deleted at this revision).
#ifndef QUORUM_MVCC_REVISION_H_
#define QUORUM_MVCC_REVISION_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quorum::mvcc {

struct Revision {
  int64_t main = 0;
  int64_t sub = 0;
  auto operator<=>(const Revision&) const = default;
};

inline constexpr size_t kRevKeyLen = 17;
inline constexpr size_t kTombstoneRevKeyLen = 18;

// Encodes `rev` as a `kv` column family key, marking tombstones.
std::string EncodeRevKey(Revision rev, bool tombstone = false);
// Appends the key of live revision `rev` (kRevKeyLen bytes) to `out`.
void AppendRevKey(Revision rev, std::string* out);

struct DecodedRevKey {
  Revision rev;
  bool tombstone = false;
};

// Parses a `kv` key; nullopt when the bytes are not a revision key.
std::optional<DecodedRevKey> DecodeRevKey(std::string_view key);

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_REVISION_H_
