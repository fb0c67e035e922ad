// FinishSnapshotInstall: at start, before anything reads the state machine,
// installs the state snapshot the raft state records if the state is behind
// it (its consistent index below the snapshot's index): a crash between
// persisting a received snapshot and installing it, or in the middle of the
// install, which replaces the state batch by batch (state_snapshot.h) and
// leaves, until its last batch, a state missing parts (the member list among
// them) with consistent index 0.
#ifndef QUORUM_SERVER_MEMBER_SNAPSHOT_INSTALL_RECOVERY_H_
#define QUORUM_SERVER_MEMBER_SNAPSHOT_INSTALL_RECOVERY_H_

#include <string>

#include "absl/status/status.h"
#include "mvcc/backend/backend.h"

namespace quorum::server {

// `snapshot_dir`: the member's snap/ directory (where a moved data dir's
// file is looked for).
absl::Status FinishSnapshotInstall(mvcc::Backend* backend, const std::string& snapshot_dir);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_SNAPSHOT_INSTALL_RECOVERY_H_
