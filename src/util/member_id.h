// Deterministic member and cluster identifiers. As in etcd, a member id is
// derived from the member's peer URLs and the cluster token, so every member
// computes the same ids for the same --initial-cluster without talking, and a
// cluster id is derived from the set of initial member ids.
#ifndef QUORUM_UTIL_MEMBER_ID_H_
#define QUORUM_UTIL_MEMBER_ID_H_

#include <cstdint>
#include <string>
#include <vector>

namespace quorum::util {

// First 8 bytes (big-endian) of SHA-1(sorted peer URLs joined + token + salt).
// `salt` is empty for bootstrap members and a timestamp for runtime-added ones.
uint64_t ComputeMemberId(std::vector<std::string> peer_urls,
                         const std::string& cluster_token,
                         const std::string& salt = "");

// First 8 bytes of SHA-1 over the sorted member ids (8 bytes BE each).
uint64_t ComputeClusterId(std::vector<uint64_t> member_ids);

// Lower-case hexadecimal without leading zeros, as etcdctl prints ids.
std::string IdToHex(uint64_t id);

}  // namespace quorum::util

#endif  // QUORUM_UTIL_MEMBER_ID_H_
