// Big-endian fixed-width integer coding, used for every persisted key whose
// byte order must equal its numeric order (revisions, raft indexes, meta
// counters). Pure functions, thread-safe.
#ifndef QUORUM_UTIL_CODING_H_
#define QUORUM_UTIL_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace quorum::util {

// Appends the 8 big-endian bytes of `v` to `dst`.
void PutFixed64BE(std::string* dst, uint64_t v);

// Reads 8 big-endian bytes at `src[0..8)`; the caller guarantees the length.
uint64_t DecodeFixed64BE(const char* src);

// Returns the 8-byte big-endian encoding of `v`.
std::string EncodeFixed64BE(uint64_t v);

}  // namespace quorum::util

#endif  // QUORUM_UTIL_CODING_H_
