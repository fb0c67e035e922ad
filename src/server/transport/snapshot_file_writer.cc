#include "server/transport/snapshot_file_writer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "util/crc32c.h"

namespace quorum::server::transport {
namespace {

constexpr char kTmpInfix[] = ".snap.tmp";

absl::Status ErrnoError(const std::string& what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::string(std::strerror(err))));
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync directory", dir, err);
  return absl::OkStatus();
}

}  // namespace

std::string SnapshotFileWriter::FinalName(uint64_t term, uint64_t index) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64 "-%016" PRIx64 ".snap", term, index);
  return buf;
}

std::optional<uint64_t> SnapshotFileWriter::IndexOfName(std::string_view name) {
  // 16 hex digits of term, '-', 16 of index, ".snap".
  if (name.size() != 38 || name[16] != '-' || !name.ends_with(".snap")) return std::nullopt;
  const std::string index(name.substr(17, 16));
  char* end = nullptr;
  const uint64_t v = std::strtoull(index.c_str(), &end, 16);
  if (end != index.c_str() + index.size()) return std::nullopt;
  return v;
}

void SnapshotFileWriter::RemoveStaleTempFiles(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.find(kTmpInfix) == std::string::npos) continue;
    std::error_code rm_ec;
    std::filesystem::remove(e.path(), rm_ec);
    spdlog::info("removed partial snapshot {}", e.path().string());
  }
}

absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> SnapshotFileWriter::Create(
    const std::string& dir, uint64_t term, uint64_t index, uint64_t total_size) {
  static std::atomic<uint64_t> seq{0};
  if (dir.empty()) return absl::FailedPreconditionError("no snapshot directory configured");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir, ": ", ec.message()));
  std::string final_path = (std::filesystem::path(dir) / FinalName(term, index)).string();
  std::string tmp_path = absl::StrCat(final_path, ".tmp.", seq.fetch_add(1));
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("create", tmp_path, errno);
  return std::unique_ptr<SnapshotFileWriter>(
      new SnapshotFileWriter(dir, std::move(final_path), std::move(tmp_path), fd, total_size));
}

SnapshotFileWriter::SnapshotFileWriter(std::string dir, std::string final_path,
                                       std::string tmp_path, int fd, uint64_t total_size)
    : dir_(std::move(dir)),
      final_path_(std::move(final_path)),
      tmp_path_(std::move(tmp_path)),
      fd_(fd),
      total_size_(total_size) {}

SnapshotFileWriter::~SnapshotFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

absl::Status SnapshotFileWriter::Append(uint64_t offset, std::string_view data) {
  if (fd_ < 0) return absl::FailedPreconditionError("snapshot file already closed");
  if (offset != written_) {
    return absl::DataLossError(
        absl::StrCat("snapshot chunk at offset ", offset, ", expected ", written_));
  }
  if (data.size() > total_size_ - written_) {
    return absl::DataLossError(
        absl::StrCat("snapshot chunk runs past the announced size ", total_size_));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write", tmp_path_, errno);
    done += static_cast<size_t>(n);
  }
  crc_ = util::Crc32c(crc_, data);
  written_ += data.size();
  return absl::OkStatus();
}

absl::StatusOr<std::string> SnapshotFileWriter::Commit(uint32_t crc32c) {
  if (fd_ < 0) return absl::FailedPreconditionError("snapshot file already closed");
  if (written_ != total_size_) {
    return absl::DataLossError(
        absl::StrCat("snapshot truncated: got ", written_, " of ", total_size_, " bytes"));
  }
  if (crc_ != crc32c) {
    return absl::DataLossError(
        absl::StrCat("snapshot checksum mismatch: got ", crc_, ", sender says ", crc32c));
  }
  if (::fsync(fd_) != 0) return ErrnoError("fsync", tmp_path_, errno);
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return ErrnoError("close", tmp_path_, errno);
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    return ErrnoError("rename", tmp_path_, errno);
  }
  committed_ = true;
  if (absl::Status s = FsyncDir(dir_); !s.ok()) return s;
  return final_path_;
}

}  // namespace quorum::server::transport
