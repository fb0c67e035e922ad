// Encodes a Range answer whose key-values are still serialized as stored
// into the bytes of its etcdserverpb.RangeResponse, without building the
// message: what protobuf would write for the parsed response, byte for byte.
//
//   response := 0x0a varint(len(header)) header    field 1, always present
//               (0x12 varint(len(kv)) kv)*         field 2, stored mvccpb.KeyValue bytes
//               [0x18 0x01]                        field 3, if more
//               [0x20 varint(count)]               field 4, if != 0
//
// Why: a list of thousands of keys spent most of its server time parsing
// each stored KeyValue into a message only for gRPC to serialize it again.
#ifndef QUORUM_SERVER_API_RANGE_RESPONSE_ENCODER_H_
#define QUORUM_SERVER_API_RANGE_RESPONSE_ENCODER_H_

#include <grpcpp/support/byte_buffer.h>

#include "etcdserverpb/rpc.pb.h"
#include "server/apply/range_executor.h"

namespace quorum::server {

grpc::ByteBuffer EncodeRangeResponse(const etcdserverpb::ResponseHeader& header,
                                     const SerializedRangeResult& r);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_RANGE_RESPONSE_ENCODER_H_
