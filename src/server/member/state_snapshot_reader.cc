#include "server/member/state_snapshot_reader.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace quorum::server {
namespace {

// A corrupt length must not become a huge allocation: no key or value of a
// member's state comes near this.
constexpr uint32_t kMaxFieldBytes = 512u << 20;
constexpr size_t kReadAhead = 1 << 20;

uint32_t DecodeFixed32BE(const char* p) {
  return (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) |
         (uint32_t(uint8_t(p[2])) << 8) | uint32_t(uint8_t(p[3]));
}

bool IsStateCf(unsigned char tag) {
  return std::any_of(std::begin(kSnapshotStateCfs), std::end(kSnapshotStateCfs),
                     [tag](mvcc::Cf cf) { return static_cast<unsigned char>(cf) == tag; });
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateSnapshotReader>> StateSnapshotReader::Open(
    const std::string& path) {
  std::unique_ptr<StateSnapshotReader> r(new StateSnapshotReader(path));
  r->in_.open(path, std::ios::binary);
  if (!r->in_) return absl::NotFoundError("open snapshot " + path);
  char magic[8];
  r->in_.read(magic, sizeof(magic));
  const std::string_view m(magic, static_cast<size_t>(r->in_.gcount()));
  if (m == std::string_view(kSnapshotMagicZstd, 8)) {
    r->zstd_ = std::make_unique<ZstdReader>(&r->in_);
  } else if (m != std::string_view(kSnapshotMagic, 8)) {
    return r->Corrupt("bad header");
  }
  return r;
}

absl::Status StateSnapshotReader::Corrupt(const std::string& why) const {
  return absl::DataLossError(absl::StrCat("snapshot ", path_, " is corrupt: ", why));
}

absl::StatusOr<bool> StateSnapshotReader::ReadBody(char* dst, size_t n) {
  while (n > 0) {
    if (pos_ == buf_.size()) {
      buf_.resize(kReadAhead);
      size_t got = 0;
      if (zstd_ != nullptr) {
        auto r = zstd_->Read(buf_.data(), buf_.size());
        if (!r.ok()) return Corrupt(std::string(r.status().message()));
        got = *r;
      } else {
        in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        if (in_.bad()) return absl::InternalError("read " + path_);
        got = static_cast<size_t>(in_.gcount());
      }
      buf_.resize(got);
      pos_ = 0;
      if (got == 0) return false;
    }
    const size_t take = std::min(n, buf_.size() - pos_);
    std::copy_n(buf_.data() + pos_, take, dst);
    pos_ += take;
    dst += take;
    n -= take;
  }
  return true;
}

absl::StatusOr<bool> StateSnapshotReader::Next(Record* r) {
  if (done_) return false;
  // Reads `n` bytes into `dst`, folding them into the checksum.
  auto field = [this](char* dst, size_t n, const char* what) -> absl::Status {
    auto ok = ReadBody(dst, n);
    if (!ok.ok()) return ok.status();
    if (!*ok) return Corrupt(what);
    crc_ = util::Crc32c(crc_, std::string_view(dst, n));
    return absl::OkStatus();
  };
  char tag;
  auto got = ReadBody(&tag, 1);
  if (!got.ok()) return got.status();
  if (!*got) return Corrupt("missing trailer");
  if (static_cast<unsigned char>(tag) == kSnapshotTrailerTag) {
    char t[12];
    auto ok = ReadBody(t, sizeof(t));
    if (!ok.ok()) return ok.status();
    if (!*ok) return Corrupt("bad trailer");
    char extra;
    ok = ReadBody(&extra, 1);
    if (!ok.ok()) return ok.status();
    if (*ok) return Corrupt("bad trailer");
    if (util::DecodeFixed64BE(t) != count_) return Corrupt("record count");
    if (DecodeFixed32BE(t + 8) != crc_) return Corrupt("checksum mismatch");
    done_ = true;
    return false;
  }
  // Only the state column families: raft's own (log, hard state) are never
  // in a snapshot, and a restore does not clear them.
  if (!IsStateCf(static_cast<unsigned char>(tag))) return Corrupt("bad record");
  crc_ = util::Crc32c(crc_, std::string_view(&tag, 1));
  char len[4];
  if (auto st = field(len, 4, "bad record"); !st.ok()) return st;
  const uint32_t klen = DecodeFixed32BE(len);
  if (klen > kMaxFieldBytes) return Corrupt("truncated key");
  r->key.resize(klen);
  if (auto st = field(r->key.data(), klen, "truncated key"); !st.ok()) return st;
  if (auto st = field(len, 4, "truncated key"); !st.ok()) return st;
  const uint32_t vlen = DecodeFixed32BE(len);
  if (vlen > kMaxFieldBytes) return Corrupt("truncated value");
  r->value.resize(vlen);
  if (auto st = field(r->value.data(), vlen, "truncated value"); !st.ok()) return st;
  r->cf = static_cast<mvcc::Cf>(tag);
  ++count_;
  return true;
}

}  // namespace quorum::server
