#include "util/coding.h"

namespace quorum::util {

void PutFixed64BE(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, sizeof(buf));
}

uint64_t DecodeFixed64BE(const char* src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(src[i]);
  }
  return v;
}

std::string EncodeFixed64BE(uint64_t v) {
  std::string s;
  s.reserve(8);
  PutFixed64BE(&s, v);
  return s;
}

}  // namespace quorum::util
