#include "server/member/state_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "server/member/state_snapshot_reader.h"
#include "server/member/zstd_codec.h"
#include "util/crc32c.h"

namespace quorum::server {
namespace {

using mvcc::Cf;

void PutFixed32BE(std::string* dst, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  dst->append(b, 4);
}

absl::Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::InternalError("open " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : absl::InternalError("fsync " + path);
}

}  // namespace

// Writes `tmp`, then renames it to `path`; may leave `tmp` behind on error.
static absl::Status WriteThenRename(const mvcc::Backend& backend, const std::string& tmp,
                                    const std::string& path, SnapshotEncoding encoding,
                                    const mvcc::Backend::ReadView& view) {
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError("create " + tmp);
  const bool zstd = encoding == SnapshotEncoding::kZstd;
  out.write(zstd ? kSnapshotMagicZstd : kSnapshotMagic, 8);
  std::optional<ZstdWriter> compressor;
  if (zstd) compressor.emplace(&out);
  auto emit = [&](std::string_view bytes) {
    if (compressor) {
      compressor->Write(bytes);
    } else {
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
  };
  uint32_t crc = 0;
  uint64_t count = 0;
  std::string rec;
  // One RocksDB snapshot for every column family: the file is the state at
  // one applied index even if apply commits meanwhile (Maintenance.Snapshot
  // writes it off the apply thread).
  auto st = backend.ScanConsistent(
      {std::begin(kSnapshotStateCfs), std::end(kSnapshotStateCfs)},
      [&](Cf cf, std::string_view k, std::string_view v) {
        rec.clear();
        rec.push_back(static_cast<char>(cf));
        PutFixed32BE(&rec, static_cast<uint32_t>(k.size()));
        rec.append(k);
        PutFixed32BE(&rec, static_cast<uint32_t>(v.size()));
        rec.append(v);
        crc = util::Crc32c(crc, rec);
        emit(rec);
        ++count;
        return true;
      },
      view);
  if (!st.ok()) return st;
  std::string trailer(1, static_cast<char>(kSnapshotTrailerTag));
  util::PutFixed64BE(&trailer, count);
  PutFixed32BE(&trailer, crc);
  emit(trailer);
  if (compressor) {
    if (auto st = compressor->Finish(); !st.ok()) return st;
  }
  out.close();
  if (!out) return absl::InternalError("write " + tmp);
  if (auto st = FsyncPath(tmp); !st.ok()) return st;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::InternalError("rename " + tmp);
  // The raft record naming this file is synced next: the rename must not
  // be lost to a power failure after it.
  std::string dir = std::filesystem::path(path).parent_path().string();
  return FsyncPath(dir.empty() ? "." : dir);
}

absl::Status WriteStateSnapshot(const mvcc::Backend& backend, const std::string& path,
                                SnapshotEncoding encoding, const mvcc::Backend::ReadView& view) {
  const std::string tmp = path + ".tmp";
  absl::Status st = WriteThenRename(backend, tmp, path, encoding, view);
  if (!st.ok()) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);  // a failed write leaves no partial file
  }
  return st;
}

absl::Status RestoreStateSnapshot(mvcc::Backend* backend, const std::string& path,
                                  const RestoreOptions& opts) {
  StateSnapshotReader::Record rec;
  {
    // The whole file is checked before anything changes.
    auto reader = StateSnapshotReader::Open(path);
    if (!reader.ok()) return reader.status();
    for (;;) {
      auto more = (*reader)->Next(&rec);
      if (!more.ok()) return more.status();
      if (!*more) break;
    }
  }
  auto reader = StateSnapshotReader::Open(path);
  if (!reader.ok()) return reader.status();
  absl::WriterMutexLock gate(&backend->ViewGate());
  // The old state goes first, its consistent index with it: after a crash
  // anywhere below, the index reads 0, below the snapshot's, and the member
  // installs the snapshot again at start (RaftMember::Create).
  mvcc::Batch batch = backend->NewBatch();
  for (Cf cf : kSnapshotStateCfs) {
    auto last = backend->LastKey(cf);
    if (absl::IsNotFound(last.status())) continue;
    if (!last.ok()) return last.status();
    batch.DeleteRange(cf, "", *last + '\0');
  }
  if (auto st = backend->Commit(std::move(batch), /*sync=*/false); !st.ok()) return st;
  // Then the records, in batches of bounded size. The meta records (the
  // consistent index among them) go in the last, synced batch: with them
  // the new state is whole and durable (one WAL: the sync covers every
  // batch before it).
  std::vector<StateSnapshotReader::Record> meta;
  batch = backend->NewBatch();
  size_t bytes = 0;
  int batches = 0;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (rec.cf == Cf::kMeta) {
      meta.push_back(std::move(rec));
      continue;
    }
    batch.Put(rec.cf, rec.key, rec.value);
    bytes += rec.key.size() + rec.value.size();
    if (bytes < opts.batch_bytes) continue;
    if (auto st = backend->Commit(std::move(batch), /*sync=*/false); !st.ok()) return st;
    if (++batches == opts.fail_after_batches) return absl::AbortedError("restore stopped (test)");
    batch = backend->NewBatch();
    bytes = 0;
  }
  for (const auto& m : meta) batch.Put(m.cf, m.key, m.value);
  return backend->Commit(std::move(batch), /*sync=*/true);
}

}  // namespace quorum::server
