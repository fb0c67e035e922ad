// Wire encoding of etcdserverpb.WatchResponse for the watch stream, without
// building protobuf objects per response: event responses are written
// straight into one gRPC slice from the events' shared encodings
// (mvcc::EventGroup::Encoded), so a thousand watchers of one event cost a
// thousand small memcpys, not a thousand message trees. The bytes are exactly
// what WatchResponse::SerializeAsString would produce (fields in number
// order, proto3 defaults omitted); watch_response_encoder_test.cc checks it.
//
// Fragmentation follows etcd's sendFragments: with `fragment` set and the
// whole response at or over `limit` bytes, events are cut into responses
// that stay under the limit (each carries at least one event); all but the
// last are marked fragment=true.
//
// Thread-safety: stateless functions, any thread.
#ifndef QUORUM_SERVER_API_WATCH_RESPONSE_ENCODER_H_
#define QUORUM_SERVER_API_WATCH_RESPONSE_ENCODER_H_

#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvcc/event_group.h"

namespace quorum::server {

// ResponseHeader fields of one response.
struct WatchHeader {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  int64_t revision = 0;
  uint64_t raft_term = 0;
};

// Appends to `out` the response(s) carrying `events` (in order) for one
// watcher. `events` must hold at least one event.
void EncodeEventResponses(const WatchHeader& header, int64_t watch_id,
                          absl::Span<const mvcc::EventRef> events, bool prev_kv, bool fragment,
                          size_t limit, std::vector<grpc::ByteBuffer>* out);

// A control response (created, canceled, compacted, progress) as built.
grpc::ByteBuffer EncodeResponse(const etcdserverpb::WatchResponse& resp);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_WATCH_RESPONSE_ENCODER_H_
