#include "server/member/log_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "util/crc32c.h"

namespace quorum::server {
namespace {

using mvcc::Cf;

// raft_state key holding the (epoch, seq) of the last journaled batch the
// database has; written inside each journaled batch.
constexpr char kMarkKey[] = "journal";
constexpr size_t kHeader = 24;
// Upper bound of what the mark adds to an encoded batch.
constexpr size_t kMarkOverhead = 64;

void PutLe(std::string* dst, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) dst->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string EncodeMark(uint64_t epoch, uint64_t seq) {
  std::string m;
  PutLe(&m, epoch, 8);
  PutLe(&m, seq, 8);
  return m;
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(std::string(what), " ", path, ": ", std::string(std::strerror(errno))));
}

absl::Status PwriteAll(int fd, const char* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("write", path);
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return absl::OkStatus();
}

absl::Status PreadAll(int fd, char* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Errno("read", path);
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir.string());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", dir.string());
  return absl::OkStatus();
}

uint64_t NewEpoch() {
  std::random_device rd;
  uint64_t e = 0;
  while (e == 0) e = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return e;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogJournal>> LogJournal::Open(const std::string& path,
                                                             mvcc::Backend* backend,
                                                             LogJournalOptions opts) {
  std::unique_ptr<LogJournal> j(new LogJournal(path, backend, opts));
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  const bool dir_existed = std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir.string(), ": ", ec.message()));
  if (!dir_existed) {
    if (auto st = FsyncDir(dir.parent_path()); !st.ok()) return st;
  }
  const bool existed = std::filesystem::exists(path, ec);
  j->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (j->fd_ < 0) return Errno("open", path);
  if (!existed) {
    if (auto st = FsyncDir(dir); !st.ok()) return st;
  }
  struct stat sb;
  if (::fstat(j->fd_, &sb) != 0) return Errno("stat", path);
  j->written_ = static_cast<uint64_t>(sb.st_size);
  if (auto st = j->Replay(); !st.ok()) return st;
  if (auto st = j->Restart(); !st.ok()) return st;
  return j;
}

absl::Status LogJournal::RecoverAndRemove(const std::string& path, mvcc::Backend* backend) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::OkStatus();
  {
    auto j = Open(path, backend);  // replays, then a synced new-epoch mark
    if (!j.ok()) return j.status();
  }
  std::filesystem::remove(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("remove ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status LogJournal::Recover(const std::string& path, mvcc::Backend* backend) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::OkStatus();
  return Open(path, backend).status();  // replays, then a synced new-epoch mark
}

LogJournal::~LogJournal() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status LogJournal::Replay() {
  auto mark = backend_->Get(Cf::kRaftState, kMarkKey);
  if (absl::IsNotFound(mark.status())) return absl::OkStatus();  // nothing journaled
  if (!mark.ok()) return mark.status();
  if (mark->size() != 16) return absl::DataLossError("raft log journal mark is corrupt");
  const uint64_t epoch = GetLe(mark->data(), 8);
  const uint64_t have = GetLe(mark->data() + 8, 8);
  // Records of `epoch` run from offset 0 with seqs 1, 2, ...; the first that
  // is torn, of another epoch or out of sequence ends them.
  uint64_t off = 0;
  std::string header(kHeader, '\0'), payload;
  for (uint64_t want = 1;; ++want) {
    if (off + kHeader > written_) break;
    if (auto st = PreadAll(fd_, header.data(), kHeader, off, path_); !st.ok()) return st;
    const uint32_t crc = static_cast<uint32_t>(GetLe(header.data(), 4));
    const uint64_t len = GetLe(header.data() + 4, 4);
    if (len == 0 || len > opts_.max_record_bytes || off + kHeader + len > written_) break;
    if (GetLe(header.data() + 8, 8) != epoch || GetLe(header.data() + 16, 8) != want) break;
    payload.resize(len);
    if (auto st = PreadAll(fd_, payload.data(), len, off + kHeader, path_); !st.ok()) return st;
    uint32_t c = util::Crc32c(0, std::string_view(header).substr(4));
    c = util::Crc32c(c, payload);
    if (c != crc) break;
    if (want > have) {
      if (auto st = backend_->CommitEncoded(payload); !st.ok()) return st;
      ++replayed_;
    }
    off += kHeader + len;
  }
  return absl::OkStatus();
}

absl::Status LogJournal::Restart() {
  epoch_ = NewEpoch();
  seq_ = 0;
  pos_ = 0;
  // A synced write: every earlier batch (replayed ones included) is durable
  // in RocksDB from here on, so the old records are no longer needed.
  mvcc::Batch b = backend_->NewBatch();
  b.Put(Cf::kRaftState, kMarkKey, EncodeMark(epoch_, 0));
  return backend_->Commit(std::move(b), /*sync=*/true);
}

absl::Status LogJournal::GrowTo(uint64_t end) {
  if (end <= written_) return absl::OkStatus();
  const std::string zeros(opts_.grow_bytes, '\0');
  while (written_ < end) {
    const uint64_t n = std::min<uint64_t>(zeros.size(), opts_.capacity_bytes - written_);
    if (n == 0) break;
    if (auto st = PwriteAll(fd_, zeros.data(), n, written_, path_); !st.ok()) return st;
    written_ += n;
  }
  return absl::OkStatus();
}

absl::Status LogJournal::Commit(mvcc::Batch batch) {
  const size_t estimate = batch.Encoded().size() + kMarkOverhead + kHeader;
  if (estimate > opts_.max_record_bytes || estimate > opts_.capacity_bytes) {
    batch.Put(Cf::kRaftState, kMarkKey, EncodeMark(epoch_, seq_));
    return backend_->Commit(std::move(batch), /*sync=*/true);
  }
  if (pos_ + estimate > opts_.capacity_bytes) {
    if (auto st = Restart(); !st.ok()) return st;
    ++wraps_;
  }
  const uint64_t seq = seq_ + 1;
  batch.Put(Cf::kRaftState, kMarkKey, EncodeMark(epoch_, seq));
  const std::string_view rep = batch.Encoded();
  record_.clear();
  PutLe(&record_, 0, 4);  // crc, below
  PutLe(&record_, rep.size(), 4);
  PutLe(&record_, epoch_, 8);
  PutLe(&record_, seq, 8);
  record_.append(rep);
  const uint32_t crc = util::Crc32c(0, std::string_view(record_).substr(4));
  for (int i = 0; i < 4; ++i) record_[i] = static_cast<char>((crc >> (8 * i)) & 0xff);

  if (auto st = backend_->Commit(std::move(batch), /*sync=*/false); !st.ok()) return st;
  if (auto st = GrowTo(pos_ + record_.size()); !st.ok()) return st;
  if (auto st = PwriteAll(fd_, record_.data(), record_.size(), pos_, path_); !st.ok()) return st;
  int rc;
  do {
    rc = ::fdatasync(fd_);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return Errno("fdatasync", path_);
  pos_ += record_.size();
  seq_ = seq;
  return absl::OkStatus();
}

}  // namespace quorum::server
