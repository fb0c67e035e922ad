// Grammar of what EncodeEventResponses writes (protobuf wire format of
// etcdserverpb.WatchResponse; tag = field_number << 3 | wire_type):
//
//   response := 0x0a varint(len(header)) header      field 1, always present
//               [0x10 varint(watch_id)]              field 2, if != 0
//               [0x38 0x01]                          field 7, if fragment
//               (0x5a varint(len(event)) event)*     field 11, mvccpb.Event bytes
//   header   := [0x08 varint(cluster_id)] [0x10 varint(member_id)]
//               [0x18 varint(revision)] [0x20 varint(raft_term)]   (omitted if 0)
#include "server/api/watch_response_encoder.h"

#include <grpcpp/support/slice.h>

#include <cstring>
#include <string>

#include "server/api/wire_format.h"

namespace quorum::server {
namespace {

constexpr uint8_t kTagHeader = 0x0a;
constexpr uint8_t kTagWatchId = 0x10;
constexpr uint8_t kTagFragment = 0x38;
constexpr uint8_t kTagEvent = 0x5a;

using wire::FieldSize;
using wire::LengthDelimitedSize;
using wire::PutField;
using wire::PutVarint;
using wire::VarintSize;

size_t HeaderBodySize(const WatchHeader& h) {
  return FieldSize(h.cluster_id) + FieldSize(h.member_id) +
         FieldSize(static_cast<uint64_t>(h.revision)) + FieldSize(h.raft_term);
}

// One response under construction: the fixed prefix (header, id, flag)
// plus a run of events.
class ResponseWriter {
 public:
  ResponseWriter(const WatchHeader& h, int64_t watch_id) : h_(h), watch_id_(watch_id) {
    header_body_ = HeaderBodySize(h);
  }

  size_t PrefixSize(bool fragment) const {
    return LengthDelimitedSize(header_body_) + FieldSize(static_cast<uint64_t>(watch_id_)) +
           (fragment ? 2 : 0);
  }

  grpc::ByteBuffer Write(bool fragment, absl::Span<const std::string* const> events,
                         size_t events_size) const {
    const size_t total = PrefixSize(fragment) + events_size;
    grpc::Slice slice(total);
    uint8_t* p = const_cast<uint8_t*>(slice.begin());
    *p++ = kTagHeader;
    p = PutVarint(p, header_body_);
    p = PutField(p, 0x08, h_.cluster_id);
    p = PutField(p, 0x10, h_.member_id);
    p = PutField(p, 0x18, static_cast<uint64_t>(h_.revision));
    p = PutField(p, 0x20, h_.raft_term);
    p = PutField(p, kTagWatchId, static_cast<uint64_t>(watch_id_));
    if (fragment) {
      *p++ = kTagFragment;
      *p++ = 1;
    }
    // `p` now ends the prefix; the events fill the rest exactly.
    for (const std::string* ev : events) {
      *p++ = kTagEvent;
      p = PutVarint(p, ev->size());
      std::memcpy(p, ev->data(), ev->size());
      p += ev->size();
    }
    return grpc::ByteBuffer(&slice, 1);
  }

 private:
  const WatchHeader& h_;
  int64_t watch_id_;
  size_t header_body_;
};

}  // namespace

void EncodeEventResponses(const WatchHeader& header, int64_t watch_id,
                          absl::Span<const mvcc::EventRef> events, bool prev_kv, bool fragment,
                          size_t limit, std::vector<grpc::ByteBuffer>* out) {
  // Encoded events are owned by their groups, which `events` keeps alive.
  absl::InlinedVector<const std::string*, 8> evs;
  size_t events_size = 0;
  for (const mvcc::EventRef& ref : events) {
    for (uint32_t i : ref.events) {
      const std::string& e = ref.group->Encoded(i, prev_kv);
      evs.push_back(&e);
      events_size += LengthDelimitedSize(e.size());
    }
  }
  ResponseWriter w(header, watch_id);
  if (!fragment || evs.size() < 2 || w.PrefixSize(false) + events_size < limit) {
    out->push_back(w.Write(false, evs, events_size));
    return;
  }
  // etcd's sendFragments: add events while the response (measured with
  // fragment=true) stays under the limit; a fragment carries at least one.
  const size_t base = w.PrefixSize(true);
  size_t begin = 0, cur = 0;
  for (size_t i = 0; i < evs.size(); ++i) {
    const size_t field = LengthDelimitedSize(evs[i]->size());
    if (i > begin && base + cur + field >= limit) {
      out->push_back(w.Write(true, absl::MakeConstSpan(evs).subspan(begin, i - begin), cur));
      begin = i;
      cur = 0;
    }
    cur += field;
  }
  out->push_back(w.Write(false, absl::MakeConstSpan(evs).subspan(begin), cur));
}

grpc::ByteBuffer EncodeResponse(const etcdserverpb::WatchResponse& resp) {
  const std::string bytes = resp.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace quorum::server
