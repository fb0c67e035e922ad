// Protobuf wire-format pieces for the hand-written response encoders
// (watch_response_encoder.h, range_response_encoder.h), which splice stored
// message bytes into responses instead of building message objects.
#ifndef QUORUM_SERVER_API_WIRE_FORMAT_H_
#define QUORUM_SERVER_API_WIRE_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace quorum::server::wire {

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline uint8_t* PutVarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// A varint field as proto3 writes it: nothing when the value is 0.
inline size_t FieldSize(uint64_t v) { return v == 0 ? 0 : 1 + VarintSize(v); }

inline uint8_t* PutField(uint8_t* p, uint8_t tag, uint64_t v) {
  if (v == 0) return p;
  *p++ = tag;
  return PutVarint(p, v);
}

// Tag, length and `len` bytes of a length-delimited field.
inline size_t LengthDelimitedSize(size_t len) { return 1 + VarintSize(len) + len; }

}  // namespace quorum::server::wire

#endif  // QUORUM_SERVER_API_WIRE_FORMAT_H_
