// Streaming zstd compression into an std::ostream and decompression from an
// std::istream: the codec of compressed state snapshot files
// (state_snapshot.h, "QSNAP002").
//
// Why zstd at level 1: a state file is every revision of every key; values
// that repeat across keys or revisions (serialized objects of one kind) shrink
// many times over at a few hundred MB/s, and incompressible blocks are stored
// raw, so the worst case costs little CPU and a few bytes per 128 KiB block.
#ifndef QUORUM_SERVER_MEMBER_ZSTD_CODEC_H_
#define QUORUM_SERVER_MEMBER_ZSTD_CODEC_H_

#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

typedef struct ZSTD_CCtx_s ZSTD_CCtx;
typedef struct ZSTD_DCtx_s ZSTD_DCtx;

namespace quorum::server {

// Compresses everything passed to Write() into one zstd frame on `out`.
// Not thread-safe.
class ZstdWriter {
 public:
  explicit ZstdWriter(std::ostream* out, int level = 1);
  ~ZstdWriter();
  ZstdWriter(const ZstdWriter&) = delete;
  ZstdWriter& operator=(const ZstdWriter&) = delete;

  void Write(std::string_view data);
  // Ends the frame; the first error of any call is returned here.
  absl::Status Finish();

 private:
  void Drain(std::string_view in, bool end);

  std::ostream* out_;
  ZSTD_CCtx* ctx_;
  std::string buf_;  // output staging, ZSTD_CStreamOutSize() bytes
  absl::Status status_;
};

// Decompresses one or more whole zstd frames read from `in`, a piece at a
// time (memory stays at zstd's window and two staging buffers, whatever the
// size of the file). Not thread-safe.
class ZstdReader {
 public:
  explicit ZstdReader(std::istream* in);
  ~ZstdReader();
  ZstdReader(const ZstdReader&) = delete;
  ZstdReader& operator=(const ZstdReader&) = delete;

  // Up to `n` decompressed bytes into `dst`; 0 only at the end of the input.
  // DataLoss when the input is not valid zstd or ends inside a frame.
  absl::StatusOr<size_t> Read(char* dst, size_t n);

 private:
  std::istream* in_;
  ZSTD_DCtx* ctx_;
  std::string in_buf_;   // compressed bytes read from in_
  size_t in_pos_ = 0;    // consumed part of in_buf_
  size_t frame_left_ = 0;  // zstd's last hint: nonzero inside a frame
  bool eof_ = false;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_ZSTD_CODEC_H_
