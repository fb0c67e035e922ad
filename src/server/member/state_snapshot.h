// State snapshots: the replicated state machine (every column family except
// the raft ones) written to one file, so a lagging or new member can be
// brought up to date without the log.
//
// File format (docs/formats.md):
//   file    := "QSNAP001" body | "QSNAP002" zstd-frame(body)
//   body    := record* trailer
//   record  := cf:u8 key_len:be32 key value_len:be32 value
//   trailer := 0xFF count:be64 crc32c:be32      -- crc over every record byte
// Restore validates the whole file before touching the database, then
// replaces the state column families batch by batch (crash-safe: see
// RestoreStateSnapshot).
#ifndef QUORUM_SERVER_MEMBER_STATE_SNAPSHOT_H_
#define QUORUM_SERVER_MEMBER_STATE_SNAPSHOT_H_

#include <string>

#include "absl/status/status.h"
#include "mvcc/backend/backend.h"

namespace quorum::server {

enum class SnapshotEncoding {
  kPlain,  // "QSNAP001": what clients' `snapshot save` files hold (they parse it)
  kZstd,   // "QSNAP002": magic, then the same records and trailer as one zstd
           // frame; a member's own raft snapshots (member/snap/*.snap)
};

// Writes the state column families to `path` (via a temp file + rename,
// fsynced), read through one RocksDB snapshot: consistent (the state at one
// applied index) even while apply commits, so any thread may call it. The
// snapshot is `view` when given (taken earlier, e.g. at an apply boundary),
// else one taken on entry.
absl::Status WriteStateSnapshot(const mvcc::Backend& backend, const std::string& path,
                                SnapshotEncoding encoding = SnapshotEncoding::kPlain,
                                const mvcc::Backend::ReadView& view = nullptr);

struct RestoreOptions {
  size_t batch_bytes = 8 << 20;  // key+value bytes per unsynced batch
  // Tests: return after this many record batches, as a crash would.
  int fail_after_batches = -1;
};

// Replaces the state column families with the file's content (either
// encoding; the magic tells). The file is streamed twice: checked whole,
// then written in batches (memory stays at one batch, whatever the size of
// the state). Until the last, synced batch, the consistent index reads 0,
// so a restore cut short by a crash is redone at start.
absl::Status RestoreStateSnapshot(mvcc::Backend* backend, const std::string& path,
                                  const RestoreOptions& opts = {});

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_STATE_SNAPSHOT_H_
