// SnapshotFileWriter: writes one received snapshot to disk, atomically.
//
// File names (in the snapshot directory), hex like etcd's snap files:
//   %016x-%016x.snap            term-index: the committed snapshot
//   %016x-%016x.snap.tmp.<n>    being received (n: per-process sequence, so a
//                               retry never collides with a stalled transfer)
// Commit() checks the size and CRC-32C, fsyncs the file, renames it to the
// final name and fsyncs the directory. An uncommitted writer removes its
// temporary file. RemoveStaleTempFiles() clears leftovers of a crash.
//
// Thread-safety: one writer per transfer, used by one thread.
#ifndef QUORUM_SERVER_TRANSPORT_SNAPSHOT_FILE_WRITER_H_
#define QUORUM_SERVER_TRANSPORT_SNAPSHOT_FILE_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace quorum::server::transport {

class SnapshotFileWriter {
 public:
  // Creates `dir` if needed and opens a new temporary file for term-index.
  static absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> Create(const std::string& dir,
                                                                    uint64_t term, uint64_t index,
                                                                    uint64_t total_size);
  static std::string FinalName(uint64_t term, uint64_t index);
  // The index in a FinalName, or nullopt for any other name.
  static std::optional<uint64_t> IndexOfName(std::string_view name);
  static void RemoveStaleTempFiles(const std::string& dir);

  ~SnapshotFileWriter();
  SnapshotFileWriter(const SnapshotFileWriter&) = delete;
  SnapshotFileWriter& operator=(const SnapshotFileWriter&) = delete;

  // Appends data that must start at `offset` (== bytes written so far) and
  // stay within total_size.
  absl::Status Append(uint64_t offset, std::string_view data);
  // Verifies size and checksum, makes the file durable under its final
  // name and returns that path.
  absl::StatusOr<std::string> Commit(uint32_t crc32c);
  uint64_t written() const { return written_; }

 private:
  SnapshotFileWriter(std::string dir, std::string final_path, std::string tmp_path, int fd,
                     uint64_t total_size);

  const std::string dir_;
  const std::string final_path_;
  const std::string tmp_path_;
  int fd_;  // -1 once closed
  const uint64_t total_size_;
  uint64_t written_ = 0;
  uint32_t crc_ = 0;  // of the bytes written so far
  bool committed_ = false;
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_SNAPSHOT_FILE_WRITER_H_
