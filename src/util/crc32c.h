// CRC-32C (Castagnoli), the checksum etcd uses for HashKV. Table-driven,
// thread-safe, incremental: Crc32c(Crc32c(0, a), b) == Crc32c(0, a + b).
#ifndef QUORUM_UTIL_CRC32C_H_
#define QUORUM_UTIL_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace quorum::util {

uint32_t Crc32c(uint32_t crc, std::string_view data);

}  // namespace quorum::util

#endif  // QUORUM_UTIL_CRC32C_H_
