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

absl::StatusOr<std::string> ZstdDecompress(std::string_view in) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return absl::ResourceExhaustedError("zstd: no decompression context");
  std::string result;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  size_t last = 0;
  absl::Status status;
  for (;;) {
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    last = ZSTD_decompressStream(ctx, &out, &src);
    if (ZSTD_isError(last)) {
      status = absl::DataLossError(absl::StrCat("zstd: ", ZSTD_getErrorName(last)));
      break;
    }
    result.append(buf.data(), out.pos);
    // Done when the input is consumed and zstd had no more output to give
    // (a full output buffer may mean more is buffered inside).
    if (src.pos == src.size && out.pos < out.size) break;
  }
  ZSTD_freeDCtx(ctx);
  if (!status.ok()) return status;
  if (last != 0) return absl::DataLossError("zstd: input ends inside a frame");
  return result;
}

}  // namespace quorum::server
