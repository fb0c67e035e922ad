// Go encoding/json rendering of etcd protobuf messages, byte-compatible with
// what etcdctl's `-w json` prints (json.Marshal of the gogoproto structs):
// fields in declaration order keyed by their proto name, zero values omitted
// (omitempty), absent sub-messages omitted, bytes as base64, 64-bit integers
// as JSON numbers, enums as numbers, and a oneof as
// {"<OneofName>":{"<FieldName>":...}} in Go's CamelCase.
#ifndef QUORUM_CMD_QUORUMCTL_JSON_H_
#define QUORUM_CMD_QUORUMCTL_JSON_H_

#include <google/protobuf/message.h>

#include <string>

namespace quorum::ctl {

std::string GoJson(const google::protobuf::Message& m);

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_JSON_H_
