// ReadSnapshotFile against damaged files.
#include "client/snapshot_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>

namespace quorum::client {
namespace {

std::string WriteTemp(const std::string& bytes) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("snapshot_file_test." + std::to_string(getpid())))
                         .string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// Caps this process's address space at its current size + `extra` while it
// lives, so an allocation of gigabytes fails instead of swapping the host.
class AddressSpaceCap {
 public:
  explicit AddressSpaceCap(size_t extra) {
    getrlimit(RLIMIT_AS, &old_);
    long pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    rlimit cap = old_;
    cap.rlim_cur = static_cast<rlim_t>(pages) * sysconf(_SC_PAGESIZE) + extra;
    if (cap.rlim_cur < old_.rlim_cur) setrlimit(RLIMIT_AS, &cap);
  }
  ~AddressSpaceCap() { setrlimit(RLIMIT_AS, &old_); }

 private:
  rlimit old_{};
};

// ReadSnapshotFile with the address space capped 512 MiB above its use:
// an allocation of a corrupt length throws bad_alloc (reported in `bad_alloc`).
absl::StatusOr<SnapshotFileStatus> ReadUnderACap(const std::string& path, bool* bad_alloc) {
  AddressSpaceCap cap(size_t{512} << 20);
  try {
    return ReadSnapshotFile(path);
  } catch (const std::bad_alloc&) {
    *bad_alloc = true;
    return absl::ResourceExhaustedError("bad_alloc");
  }
}

// A key length of ~4 GiB in a 20-byte file is reported as corrupt; nothing
// of that size is allocated (it used to be, and aborted quorumctl with
// bad_alloc under a memory limit).
TEST(ReadSnapshotFile, CorruptLengthIsNotAllocated) {
  const std::string path = WriteTemp(std::string("QSNAP001\x00\xff\xff\xff\xf0" "abc", 16));
  bool bad_alloc = false;
  absl::StatusOr<SnapshotFileStatus> st = ReadUnderACap(path, &bad_alloc);
  std::filesystem::remove(path);
  ASSERT_FALSE(bad_alloc) << "allocated the corrupt length";
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss) << st.status();
  EXPECT_NE(st.status().message().find("truncated key"), std::string::npos) << st.status();
}

TEST(ReadSnapshotFile, CorruptValueLengthIsNotAllocated) {
  // One record: cf 0, key "k", value length 0xfffffff0 with 3 bytes behind.
  const std::string path =
      WriteTemp(std::string("QSNAP001\x00\x00\x00\x00\x01k\xff\xff\xff\xf0xyz", 21));
  bool bad_alloc = false;
  absl::StatusOr<SnapshotFileStatus> st = ReadUnderACap(path, &bad_alloc);
  std::filesystem::remove(path);
  ASSERT_FALSE(bad_alloc) << "allocated the corrupt length";
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss) << st.status();
  EXPECT_NE(st.status().message().find("truncated value"), std::string::npos) << st.status();
}

// A Quorum file is read as one even when its data happens to hold bbolt's
// magic where bbolt keeps its second meta (4 KiB + 16): the QSNAP001 header
// decides first. (This file's records are zeros: Quorum's reader reports
// them, bbolt's would have said "file size too small".)
TEST(ReadSnapshotStatus, QuorumHeaderWinsOverBboltMagicInTheData) {
  std::string bytes = "QSNAP001" + std::string(8184, '\0');
  const std::string magic("\xED\xDA\x0C\xED", 4);
  bytes.replace(4096 + 16, 4, magic);
  const std::string path = WriteTemp(bytes);
  absl::StatusOr<SnapshotFileStatus> st = ReadSnapshotStatus(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("bad column family"), std::string::npos) << st.status();
}

}  // namespace
}  // namespace quorum::client
