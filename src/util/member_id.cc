#include "util/member_id.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "util/coding.h"

namespace quorum::util {
namespace {

uint64_t Sha1Prefix(const std::string& data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return DecodeFixed64BE(reinterpret_cast<const char*>(digest));
}

}  // namespace

uint64_t ComputeMemberId(std::vector<std::string> peer_urls,
                         const std::string& cluster_token,
                         const std::string& salt) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string data;
  for (const auto& u : peer_urls) data += u;
  data += cluster_token;
  data += salt;
  uint64_t id = Sha1Prefix(data);
  return id == 0 ? 1 : id;  // 0 means "no member" on the wire.
}

uint64_t ComputeClusterId(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string data;
  for (uint64_t id : member_ids) PutFixed64BE(&data, id);
  uint64_t id = Sha1Prefix(data);
  return id == 0 ? 1 : id;
}

std::string IdToHex(uint64_t id) { return absl::StrCat(absl::Hex(id)); }

}  // namespace quorum::util
