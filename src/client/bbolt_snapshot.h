// Reading the status of an etcd snapshot file: etcd's backend, a bbolt
// database, as `etcdctl snapshot save` (or `quorumctl snapshot save` against
// etcd) writes it, usually followed by a 32-byte SHA-256 digest that bbolt
// ignores. Computes the figures `etcdctl snapshot status` (3.4) prints:
//   hash        crc32c over each top-level bucket's name, then its keys and
//               values in key order (a nested bucket counts as a key with no value)
//   revision    main revision of the last key of the "key" bucket (0 if empty)
//   total_keys  key/value pairs over all top-level buckets
//   total_size  bbolt's tx.Size(): the meta's high-water page id * page size
// The file is untrusted input: every page id, overflow, count and offset is
// checked against the file, each page may be reached once (no cycles), the
// tree depth is capped, and nothing is allocated beyond one page (with its
// overflow pages, at most 256 MiB) per level.
// A damaged file gives DataLoss with a one-line message. Called by quorumctl's
// `snapshot status` through ReadSnapshotStatus (snapshot_file.h).
// Thread-safety: free functions, no shared state.
#ifndef QUORUM_CLIENT_BBOLT_SNAPSHOT_H_
#define QUORUM_CLIENT_BBOLT_SNAPSHOT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "client/snapshot_file.h"

namespace quorum::client {

// Whether a file's first bytes (`head`, at least 20 of them to tell) begin
// like a bbolt database: a page header, then the meta magic 0xED0CDAED.
bool HasBboltMagic(std::string_view head);

// etcdctl's `snapshot status` figures of a bbolt file; state_size and
// has_digest are left unset (they describe Quorum's format only).
absl::StatusOr<SnapshotFileStatus> ReadBboltSnapshot(const std::string& path);

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_BBOLT_SNAPSHOT_H_
