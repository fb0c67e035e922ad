// StateSnapshotReader: the records of a state snapshot file (either
// encoding, state_snapshot.h), one at a time, read and decompressed as they
// are consumed: memory is one record and a few staging buffers, whatever
// the size of the file. Every record's shape is checked as it is read; the
// trailer's count and crc32c once Next() reaches it.
#ifndef QUORUM_SERVER_MEMBER_STATE_SNAPSHOT_READER_H_
#define QUORUM_SERVER_MEMBER_STATE_SNAPSHOT_READER_H_

#include <fstream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mvcc/backend/backend.h"
#include "server/member/zstd_codec.h"

namespace quorum::server {

// The file format's constants (docs/formats.md), shared with the writer.
inline constexpr char kSnapshotMagic[] = "QSNAP001";
inline constexpr char kSnapshotMagicZstd[] = "QSNAP002";  // body as zstd frames
inline constexpr unsigned char kSnapshotTrailerTag = 0xFF;
// The column families a snapshot holds and a restore replaces: never raft's.
inline constexpr mvcc::Cf kSnapshotStateCfs[] = {mvcc::Cf::kKv, mvcc::Cf::kMeta, mvcc::Cf::kLease,
                                                 mvcc::Cf::kAuth, mvcc::Cf::kMembers};

class StateSnapshotReader {
 public:
  struct Record {
    mvcc::Cf cf;
    std::string key;
    std::string value;
  };

  // NotFound when the file cannot be opened; DataLoss for a bad header.
  static absl::StatusOr<std::unique_ptr<StateSnapshotReader>> Open(const std::string& path);

  // The next record into `r` (true), or false once the trailer is read and
  // matches. DataLoss ("snapshot <path> is corrupt: ...") for anything else.
  absl::StatusOr<bool> Next(Record* r);

 private:
  explicit StateSnapshotReader(std::string path) : path_(std::move(path)) {}
  // Exactly `n` bytes of the body into `dst` (false: the body ended first).
  absl::StatusOr<bool> ReadBody(char* dst, size_t n);
  absl::Status Corrupt(const std::string& why) const;

  std::string path_;
  std::ifstream in_;
  std::unique_ptr<ZstdReader> zstd_;  // set for "QSNAP002"
  std::string buf_;                   // body bytes read ahead
  size_t pos_ = 0;                    // consumed part of buf_
  uint64_t count_ = 0;
  uint32_t crc_ = 0;
  bool done_ = false;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_STATE_SNAPSHOT_READER_H_
