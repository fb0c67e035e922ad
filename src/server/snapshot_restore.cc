#include "server/snapshot_restore.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/snapshot_file.h"
#include "mvcc/meta_keys.h"
#include "server/member/raft_storage.h"
#include "server/member/state_snapshot.h"

namespace quorum::server {
namespace {

bool HasKeys(const mvcc::Backend& b, mvcc::Cf cf) {
  bool any = false;
  b.Scan(cf, "", "", [&](std::string_view, std::string_view) {
     any = true;
     return false;
   }).IgnoreError();
  return any;
}

absl::Status CopyPrefix(const std::string& from, const std::string& to, int64_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!in || !out) return absl::InternalError("copy " + from + " to " + to);
  std::vector<char> buf(1 << 20);
  while (bytes > 0) {
    const auto n = static_cast<std::streamsize>(std::min<int64_t>(bytes, buf.size()));
    in.read(buf.data(), n);
    if (in.gcount() != n) return absl::DataLossError("short read of " + from);
    out.write(buf.data(), n);
    bytes -= n;
  }
  out.close();
  return out ? absl::OkStatus() : absl::InternalError("write " + to);
}

}  // namespace

absl::Status SeedFromClientSnapshot(mvcc::Backend* backend, const std::string& snapshot_path,
                                    const std::string& work_dir) {
  // The raft log journal's mark alone (written by a start that failed later)
  // does not make a member initialised.
  if (RaftStorage::HasHardStateOrSnapshot(*backend) || HasKeys(*backend, mvcc::Cf::kRaftLog)) {
    spdlog::info("data dir already initialised; --restore-snapshot {} ignored", snapshot_path);
    return absl::OkStatus();
  }
  auto info = client::ReadSnapshotFile(snapshot_path);
  if (!info.ok()) return info.status();
  if (!info->has_digest) {
    return absl::FailedPreconditionError(absl::StrCat(
        snapshot_path, " has no sha256 digest: not a file saved by `snapshot save`"));
  }
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  const std::string state = (std::filesystem::path(work_dir) / "restore.qsnap").string();
  if (auto st = CopyPrefix(snapshot_path, state, info->state_size); !st.ok()) return st;
  absl::Status st = RestoreStateSnapshot(backend, state);
  std::filesystem::remove(state, ec);
  if (!st.ok()) return st;

  // Forget the old cluster: its members, id, alarms and applied index (the
  // new raft log starts at 1 and every entry of it must apply).
  mvcc::Batch b = backend->NewBatch();
  std::vector<std::string> drop;
  auto scan = backend->Scan(mvcc::Cf::kMembers, "", "", [&](std::string_view k, std::string_view) {
    drop.emplace_back(k);
    return true;
  });
  if (!scan.ok()) return scan;
  for (const auto& k : drop) b.Delete(mvcc::Cf::kMembers, k);
  drop.clear();
  scan = backend->Scan(mvcc::Cf::kMeta, "", "", [&](std::string_view k, std::string_view) {
    if (k == mvcc::meta::kConsistentIndex || k == mvcc::meta::kConsistentTerm ||
        k == "cluster_id" || k.starts_with("alarm/")) {
      drop.emplace_back(k);
    }
    return true;
  });
  if (!scan.ok()) return scan;
  for (const auto& k : drop) b.Delete(mvcc::Cf::kMeta, k);
  if (auto s = backend->Commit(std::move(b), /*sync=*/true); !s.ok()) return s;
  spdlog::info("restored snapshot {}: revision {}, {} records", snapshot_path, info->revision,
               info->total_keys);
  return absl::OkStatus();
}

}  // namespace quorum::server
