#include "mvcc/revision.h"

#include "util/coding.h"

namespace quorum::mvcc {

std::string EncodeRevKey(Revision rev, bool tombstone) {
  std::string out;
  out.reserve(kTombstoneRevKeyLen);
  util::PutFixed64BE(&out, static_cast<uint64_t>(rev.main));
  out.push_back('_');
  util::PutFixed64BE(&out, static_cast<uint64_t>(rev.sub));
  if (tombstone) out.push_back('t');
  return out;
}

void AppendRevKey(Revision rev, std::string* out) {
  util::PutFixed64BE(out, static_cast<uint64_t>(rev.main));
  out->push_back('_');
  util::PutFixed64BE(out, static_cast<uint64_t>(rev.sub));
}

std::optional<DecodedRevKey> DecodeRevKey(std::string_view key) {
  if (key.size() != kRevKeyLen && key.size() != kTombstoneRevKeyLen) {
    return std::nullopt;
  }
  if (key[8] != '_') return std::nullopt;
  if (key.size() == kTombstoneRevKeyLen && key[17] != 't') return std::nullopt;
  DecodedRevKey d;
  d.rev.main = static_cast<int64_t>(util::DecodeFixed64BE(key.data()));
  d.rev.sub = static_cast<int64_t>(util::DecodeFixed64BE(key.data() + 9));
  d.tombstone = key.size() == kTombstoneRevKeyLen;
  return d;
}

}  // namespace quorum::mvcc
