#include "server/member/state_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "server/member/zstd_codec.h"
#include "util/crc32c.h"

namespace quorum::server {
namespace {

using mvcc::Cf;

constexpr char kMagic[] = "QSNAP001";
// Same body, compressed as one zstd frame (zstd_codec.h).
constexpr char kMagicZstd[] = "QSNAP002";
constexpr unsigned char kTrailerTag = 0xFF;
constexpr Cf kStateCfs[] = {Cf::kKv, Cf::kMeta, Cf::kLease, Cf::kAuth, Cf::kMembers};

void PutFixed32BE(std::string* dst, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  dst->append(b, 4);
}

uint32_t DecodeFixed32BE(const char* p) {
  return (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) |
         (uint32_t(uint8_t(p[2])) << 8) | uint32_t(uint8_t(p[3]));
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
  out.write(zstd ? kMagicZstd : kMagic, 8);
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
      {std::begin(kStateCfs), std::end(kStateCfs)},
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
  std::string trailer(1, static_cast<char>(kTrailerTag));
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

absl::Status RestoreStateSnapshot(mvcc::Backend* backend, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("open snapshot " + path);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto corrupt = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("snapshot ", path, " is corrupt: ", why));
  };
  // `data` is the body after the magic: records then trailer.
  std::string_view data;
  std::string decompressed;
  if (file.size() >= 8 && file.compare(0, 8, kMagicZstd) == 0) {
    auto body = ZstdDecompress(std::string_view(file).substr(8));
    if (!body.ok()) return corrupt(std::string(body.status().message()));
    decompressed = std::move(*body);
    std::string().swap(file);  // the compressed copy is no longer needed
    data = decompressed;
  } else if (file.size() >= 8 && file.compare(0, 8, kMagic) == 0) {
    data = std::string_view(file).substr(8);
  } else {
    return corrupt("bad header");
  }
  if (data.size() < 13) return corrupt("bad header");
  // Validate fully before changing anything.
  struct Rec {
    Cf cf;
    std::string_view k, v;
  };
  std::vector<Rec> recs;
  size_t pos = 0;
  uint32_t crc = 0;
  for (;;) {
    if (pos >= data.size()) return corrupt("missing trailer");
    const unsigned char tag = static_cast<unsigned char>(data[pos]);
    if (tag == kTrailerTag) break;
    // Only the state column families: raft's own (log, hard state) are
    // never in a snapshot, and are not cleared before the records go in.
    const bool state_cf = std::any_of(std::begin(kStateCfs), std::end(kStateCfs),
                                      [tag](Cf cf) { return static_cast<unsigned char>(cf) == tag; });
    if (!state_cf || pos + 5 > data.size()) return corrupt("bad record");
    const size_t start = pos;
    const uint32_t klen = DecodeFixed32BE(&data[pos + 1]);
    pos += 5;
    if (pos + klen + 4 > data.size()) return corrupt("truncated key");
    std::string_view k(&data[pos], klen);
    pos += klen;
    const uint32_t vlen = DecodeFixed32BE(&data[pos]);
    pos += 4;
    if (pos + vlen > data.size()) return corrupt("truncated value");
    std::string_view v(&data[pos], vlen);
    pos += vlen;
    crc = util::Crc32c(crc, std::string_view(&data[start], pos - start));
    recs.push_back(Rec{static_cast<Cf>(tag), k, v});
  }
  if (pos + 13 != data.size()) return corrupt("bad trailer");
  if (util::DecodeFixed64BE(&data[pos + 1]) != recs.size()) return corrupt("record count");
  if (DecodeFixed32BE(&data[pos + 9]) != crc) return corrupt("checksum mismatch");

  mvcc::Batch b = backend->NewBatch();
  for (Cf cf : kStateCfs) {
    // Keys are short (revision keys, meta names, ids); delete them all.
    std::vector<std::string> keys;
    auto st = backend->Scan(cf, "", "", [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return true;
    });
    if (!st.ok()) return st;
    for (const auto& k : keys) b.Delete(cf, k);
  }
  for (const Rec& r : recs) b.Put(r.cf, r.k, r.v);
  return backend->Commit(std::move(b), /*sync=*/true);
}

}  // namespace quorum::server
