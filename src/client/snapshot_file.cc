#include "client/snapshot_file.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/bbolt_snapshot.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/sha256.h"

namespace quorum::client {
namespace {

constexpr char kMagic[] = "QSNAP001";
constexpr unsigned char kTrailerTag = 0xFF;
constexpr size_t kDigestSize = util::Sha256::kSize;
constexpr uint64_t kPadAlign = 512;  // the state part is zero-padded to this
// Column family names by id (mvcc/backend/backend.h; fixed on-disk names).
constexpr const char* kCfNames[] = {"kv", "meta", "lease", "auth", "members", "raft_log",
                                    "raft_state"};
constexpr size_t kBboltSecondMeta = 4096;
constexpr int kCfCount = sizeof(kCfNames) / sizeof(kCfNames[0]);

uint32_t Be32(const char* p) {
  return (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) |
         (uint32_t(uint8_t(p[2])) << 8) | uint32_t(uint8_t(p[3]));
}

// Sequential reader that feeds the digest with every byte of the state part.
class Reader {
 public:
  explicit Reader(std::ifstream& in) : in_(in) {}
  bool Read(size_t n, std::string* out) {
    out->resize(n);
    if (n == 0) return true;
    in_.read(out->data(), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in_.gcount()) != n) return false;
    sha_.Update(*out);
    pos_ += n;
    return true;
  }
  uint64_t pos() const { return pos_; }
  std::string Digest() { return sha_.Finish(); }

 private:
  std::ifstream& in_;
  util::Sha256 sha_;
  uint64_t pos_ = 0;
};

}  // namespace

absl::StatusOr<SnapshotFileStatus> ReadSnapshotFile(const std::string& path) {
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) {
    std::string m = ec.message();  // as Go words it: lower-case errno text
    if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
    return absl::NotFoundError(absl::StrCat("stat ", path, ": ", m));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("open ", path));
  auto corrupt = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("snapshot file ", path, " is corrupt: ", why));
  };

  char head[20] = {};
  in.read(head, sizeof(head));
  const size_t got = static_cast<size_t>(in.gcount());
  if (HasBboltMagic(std::string_view(head, got))) {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " is an etcd (bbolt) database snapshot, not a Quorum snapshot (made by "
                     "`quorumctl snapshot save` or `etcdctl snapshot save` against Quorum)"));
  }
  if (got < 8 || std::memcmp(head, kMagic, 8) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a Quorum snapshot (no QSNAP001 header)"));
  }
  in.clear();
  in.seekg(0);

  Reader r(in);
  std::string buf;
  r.Read(8, &buf);
  SnapshotFileStatus st;
  uint32_t crc = 0;
  uint64_t count = 0;
  int last_cf = -1;
  std::string rec, key, value;
  auto left = [&] { return file_size > r.pos() ? file_size - r.pos() : 0; };
  for (;;) {
    if (!r.Read(1, &buf)) return corrupt("missing trailer");
    const unsigned char tag = static_cast<unsigned char>(buf[0]);
    if (tag == kTrailerTag) break;
    if (tag >= kCfCount) return corrupt(absl::StrCat("bad column family ", int(tag)));
    rec.assign(buf);
    // A length is checked against the bytes left before anything is
    // allocated for it: a corrupt one must not ask for up to 4 GiB.
    if (!r.Read(4, &buf)) return corrupt("truncated record");
    rec += buf;
    if (Be32(buf.data()) > left() || !r.Read(Be32(buf.data()), &key)) {
      return corrupt("truncated key");
    }
    rec += key;
    if (!r.Read(4, &buf)) return corrupt("truncated record");
    rec += buf;
    if (Be32(buf.data()) > left() || !r.Read(Be32(buf.data()), &value)) {
      return corrupt("truncated value");
    }
    rec += value;
    crc = util::Crc32c(crc, rec);
    ++count;
    if (tag != last_cf) {
      st.hash = util::Crc32c(st.hash, kCfNames[tag]);
      last_cf = tag;
    }
    st.hash = util::Crc32c(st.hash, key);
    st.hash = util::Crc32c(st.hash, value);
    if (tag == 0 && key.size() >= 8) {
      st.revision = std::max(st.revision, static_cast<int64_t>(util::DecodeFixed64BE(key.data())));
    }
  }
  if (!r.Read(12, &buf)) return corrupt("truncated trailer");
  if (util::DecodeFixed64BE(buf.data()) != count) return corrupt("record count mismatch");
  if (Be32(buf.data() + 8) != crc) return corrupt("crc mismatch");
  st.total_keys = static_cast<int64_t>(count);
  const uint64_t rest = file_size - r.pos();
  st.state_size = static_cast<int64_t>(r.pos());
  st.total_size = st.state_size;
  if (rest == 0) return st;  // a bare state file (e.g. a raft snapshot)
  // Saved from Maintenance.Snapshot: zero padding to a 512-byte boundary,
  // then the SHA-256 of everything before it.
  if (rest < kDigestSize || (file_size - kDigestSize) % kPadAlign != 0 ||
      rest - kDigestSize >= kPadAlign) {
    return corrupt(absl::StrCat(rest, " unexpected bytes after the trailer"));
  }
  if (!r.Read(rest - kDigestSize, &buf)) return corrupt("truncated padding");
  if (buf.find_first_not_of('\0') != std::string::npos) return corrupt("non-zero padding");
  std::string want = r.Digest();
  std::string digest(kDigestSize, '\0');
  in.read(digest.data(), kDigestSize);
  if (static_cast<size_t>(in.gcount()) != kDigestSize || digest != want) {
    return corrupt("sha256 digest mismatch");
  }
  st.has_digest = true;
  st.total_size = static_cast<int64_t>(file_size - kDigestSize);
  return st;
}

absl::StatusOr<SnapshotFileStatus> ReadSnapshotStatus(const std::string& path) {
  // bbolt is told by either meta page (page 1 at 4 KiB when page 0 is damaged).
  std::string head(kBboltSecondMeta + 20, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  // Quorum's own header first: past it, the bytes at 4 KiB are user data.
  if (absl::StartsWith(head, kMagic)) return ReadSnapshotFile(path);
  if (HasBboltMagic(head) || (head.size() > kBboltSecondMeta &&
                              HasBboltMagic(std::string_view(head).substr(kBboltSecondMeta)))) {
    return ReadBboltSnapshot(path);
  }
  return ReadSnapshotFile(path);
}

}  // namespace quorum::client
