// Reading a Quorum snapshot file, as `snapshot save` writes it (the bytes of
// Maintenance.Snapshot: a state snapshot followed by the 32-byte SHA-256 of
// it, like etcd's db + digest). Format (docs/formats.md):
//   file    := state [padding digest]
//   state   := "QSNAP001" record* 0xFF count:be64 crc32c:be32
//   record  := cf:u8 key_len:be32 key value_len:be32 value
//   padding := 0x00*                    -- to a multiple of 512 bytes
//   digest  := sha256(state padding)    -- 32 bytes
// The reader validates everything (structure, record count, crc, digest)
// in one streaming pass and reports etcdctl's `snapshot status` figures;
// ReadSnapshotStatus also reads etcd's own snapshot files.
// Thread-safety: free functions, no shared state.
#ifndef QUORUM_CLIENT_SNAPSHOT_FILE_H_
#define QUORUM_CLIENT_SNAPSHOT_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace quorum::client {

struct SnapshotFileStatus {
  // crc32c over each column family's name (at its first record), then every
  // key and value, in file order (etcd: crc32c over bucket names, keys, values).
  uint32_t hash = 0;
  int64_t revision = 0;    // highest main revision in the kv column family
  int64_t total_keys = 0;  // records in every column family
  int64_t total_size = 0;  // bytes before the digest (state + padding), as etcd's db size
  int64_t state_size = 0;  // bytes of the state file proper (what restore reads)
  bool has_digest = false;
};

// FailedPrecondition with a clear message for an etcd (bbolt) file,
// DataLoss for a damaged one, NotFound when missing. What restore reads.
absl::StatusOr<SnapshotFileStatus> ReadSnapshotFile(const std::string& path);

// `snapshot status`: the figures of either a Quorum snapshot (ReadSnapshotFile)
// or an etcd one, a bbolt database (ReadBboltSnapshot, bbolt_snapshot.h).
absl::StatusOr<SnapshotFileStatus> ReadSnapshotStatus(const std::string& path);

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_SNAPSHOT_FILE_H_
