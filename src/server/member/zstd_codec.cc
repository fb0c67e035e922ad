#include "server/member/zstd_codec.h"

#include <zstd.h>

#include "absl/strings/str_cat.h"

namespace quorum::server {

ZstdWriter::ZstdWriter(std::ostream* out, int level)
    : out_(out), ctx_(ZSTD_createCCtx()), buf_(ZSTD_CStreamOutSize(), '\0') {
  if (ctx_ == nullptr) {
    status_ = absl::ResourceExhaustedError("zstd: cannot create a compression context");
    return;
  }
  ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level);
  // A checksum per frame: corruption is caught by zstd before the record
  // parser sees the bytes (the records' own crc32c still covers them).
  ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
}

ZstdWriter::~ZstdWriter() { ZSTD_freeCCtx(ctx_); }

void ZstdWriter::Drain(std::string_view data, bool end) {
  if (!status_.ok()) return;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
    const size_t rc = ZSTD_compressStream2(ctx_, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(rc)) {
      status_ = absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(rc)));
      return;
    }
    out_->write(buf_.data(), static_cast<std::streamsize>(out.pos));
    // ZSTD_e_continue: done once the input is consumed; ZSTD_e_end: once the
    // frame is flushed completely (rc == 0).
    if (end ? rc == 0 : in.pos == in.size) return;
  }
}

void ZstdWriter::Write(std::string_view data) { Drain(data, /*end=*/false); }

absl::Status ZstdWriter::Finish() {
  Drain({}, /*end=*/true);
  return status_;
}

ZstdReader::ZstdReader(std::istream* in) : in_(in), ctx_(ZSTD_createDCtx()) {}

ZstdReader::~ZstdReader() { ZSTD_freeDCtx(ctx_); }

absl::StatusOr<size_t> ZstdReader::Read(char* dst, size_t n) {
  if (ctx_ == nullptr) return absl::ResourceExhaustedError("zstd: no decompression context");
  ZSTD_outBuffer out{dst, n, 0};
  while (out.pos == 0 && n > 0) {
    if (in_pos_ == in_buf_.size() && !eof_) {
      in_buf_.resize(ZSTD_DStreamInSize());
      in_->read(in_buf_.data(), static_cast<std::streamsize>(in_buf_.size()));
      in_buf_.resize(static_cast<size_t>(in_->gcount()));
      in_pos_ = 0;
      if (in_buf_.empty()) {
        if (in_->bad()) return absl::DataLossError("zstd: read error");
        eof_ = true;
      }
    }
    const bool drained = eof_ && in_pos_ == in_buf_.size();
    if (drained && frame_left_ == 0) break;  // the end, after whole frames
    ZSTD_inBuffer src{in_buf_.data(), in_buf_.size(), in_pos_};
    const size_t rc = ZSTD_decompressStream(ctx_, &out, &src);
    if (ZSTD_isError(rc)) return absl::DataLossError(absl::StrCat("zstd: ", ZSTD_getErrorName(rc)));
    const bool progress = src.pos != in_pos_ || out.pos > 0;
    in_pos_ = src.pos;
    // zstd's hint: 0 once a frame is complete (a call without input would
    // report the next frame's header size instead).
    if (progress) frame_left_ = rc;
    if (!progress && drained) return absl::DataLossError("zstd: input ends inside a frame");
  }
  return out.pos;
}

}  // namespace quorum::server
