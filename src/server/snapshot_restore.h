// Starting a new member from a saved snapshot (`quorum --restore-snapshot
// FILE`, Quorum's counterpart of `etcdctl snapshot restore`): before anything
// else opens the database, a data dir with no raft state is seeded with the
// snapshot's replicated state (keys with their full history, compaction
// point, leases), minus what belongs to the old cluster: its membership and
// cluster id, its alarms and its applied raft index. The member then
// bootstraps from --initial-cluster as usual, so every member of the new
// cluster must be started with the same file; revisions continue from the
// snapshot's.
// A data dir that already has raft state is left alone (a restarted member
// keeps its data; the flag only matters on first start).
#ifndef QUORUM_SERVER_SNAPSHOT_RESTORE_H_
#define QUORUM_SERVER_SNAPSHOT_RESTORE_H_

#include <string>

#include "absl/status/status.h"
#include "mvcc/backend/backend.h"

namespace quorum::server {

// `work_dir` holds a temporary copy of the state part. The file's SHA-256
// digest, CRC and structure are all checked before the database changes.
absl::Status SeedFromClientSnapshot(mvcc::Backend* backend, const std::string& snapshot_path,
                                    const std::string& work_dir);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_SNAPSHOT_RESTORE_H_
