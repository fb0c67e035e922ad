#include "server/member/snapshot_install_recovery.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "mvcc/meta_keys.h"
#include "raft/types.h"
#include "server/member/raft_storage.h"
#include "server/member/state_snapshot.h"
#include "util/coding.h"

namespace quorum::server {

absl::Status FinishSnapshotInstall(mvcc::Backend* backend, const std::string& snapshot_dir) {
  auto snap = RaftStorage::StoredSnapshot(*backend);
  if (!snap.ok()) return snap.status();
  if (raft::IsEmptySnap(*snap)) return absl::OkStatus();
  uint64_t applied = 0;
  auto ci = backend->Get(mvcc::Cf::kMeta, mvcc::meta::kConsistentIndex);
  if (ci.ok() && ci->size() == 8) {
    applied = util::DecodeFixed64BE(ci->data());
  } else if (!ci.ok() && !absl::IsNotFound(ci.status())) {
    return ci.status();
  }
  const uint64_t index = snap->metadata().index();
  if (applied >= index) return absl::OkStatus();
  const std::string path = RaftStorage::LocateSnapshotFile(snap->data(), snapshot_dir);
  spdlog::info("state at index {} is behind the snapshot at {}: installing {}", applied, index,
               path);
  if (auto st = RestoreStateSnapshot(backend, path); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("installing snapshot ", path, ": ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace quorum::server
