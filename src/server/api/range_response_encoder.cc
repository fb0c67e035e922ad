#include "server/api/range_response_encoder.h"

#include <grpcpp/support/slice.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "server/api/wire_format.h"

namespace quorum::server {
namespace {

constexpr uint8_t kTagHeader = 0x0a;
constexpr uint8_t kTagKv = 0x12;
constexpr uint8_t kTagMore = 0x18;
constexpr uint8_t kTagCount = 0x20;

// Writes `total` bytes into slices of at most kChunk bytes. Why not one
// slice: a multi-megabyte allocation is a fresh mmap every time, and
// touching it page-faults once per 4 KiB; chunks this size come back from
// the allocator's free lists.
class ChunkedWriter {
 public:
  static constexpr size_t kChunk = 64 << 10;

  explicit ChunkedWriter(size_t total) : left_(total) {}

  void Put(const void* data, size_t n) {
    const auto* src = static_cast<const uint8_t*>(data);
    while (n > 0) {
      if (room_ == 0) NextChunk();
      const size_t k = std::min(n, room_);
      std::memcpy(p_, src, k);
      p_ += k;
      room_ -= k;
      src += k;
      n -= k;
    }
  }
  void PutVarint(uint64_t v) {
    uint8_t buf[10];
    Put(buf, static_cast<size_t>(wire::PutVarint(buf, v) - buf));
  }
  void PutByte(uint8_t b) { Put(&b, 1); }

  grpc::ByteBuffer Finish() { return grpc::ByteBuffer(slices_.data(), slices_.size()); }

 private:
  void NextChunk() {
    // The total is computed exactly; running past it would loop forever.
    if (left_ == 0) std::abort();
    const size_t size = std::min(kChunk, left_);
    left_ -= size;
    slices_.emplace_back(size);
    p_ = const_cast<uint8_t*>(slices_.back().begin());
    room_ = size;
  }

  size_t left_;  // bytes not yet given a chunk
  std::vector<grpc::Slice> slices_;
  uint8_t* p_ = nullptr;
  size_t room_ = 0;
};

}  // namespace

grpc::ByteBuffer EncodeRangeResponse(const etcdserverpb::ResponseHeader& header,
                                     const SerializedRangeResult& r) {
  const mvcc::ValueList& kvs = r.range.kvs;
  const size_t header_len = header.ByteSizeLong();
  const uint64_t count = static_cast<uint64_t>(r.range.count);
  size_t total = wire::LengthDelimitedSize(header_len) + (r.more ? 2 : 0) + wire::FieldSize(count);
  for (size_t i = 0; i < kvs.size(); ++i) total += wire::LengthDelimitedSize(kvs[i].size());

  ChunkedWriter w(total);
  w.PutByte(kTagHeader);
  w.PutVarint(header_len);
  uint8_t small[256];
  if (header_len <= sizeof(small)) {
    w.Put(small, static_cast<size_t>(header.SerializeWithCachedSizesToArray(small) - small));
  } else {
    const std::string bytes = header.SerializeAsString();
    w.Put(bytes.data(), bytes.size());
  }
  for (size_t i = 0; i < kvs.size(); ++i) {
    w.PutByte(kTagKv);
    w.PutVarint(kvs[i].size());
    w.Put(kvs[i].data(), kvs[i].size());
  }
  if (r.more) {
    w.PutByte(kTagMore);
    w.PutByte(1);
  }
  if (count != 0) {
    w.PutByte(kTagCount);
    w.PutVarint(count);
  }
  return w.Finish();
}

}  // namespace quorum::server
