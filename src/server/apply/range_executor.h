// Executes an etcd RangeRequest against a KvReader with etcd's semantics:
// limit (+1 fetched for `more`), revision, sort order/target (ASCEND implied
// when a non-KEY target has no order), min/max mod/create filters applied
// after fetching, keys_only, count_only; `count` ignores limit and filters.
#ifndef QUORUM_SERVER_APPLY_RANGE_EXECUTOR_H_
#define QUORUM_SERVER_APPLY_RANGE_EXECUTOR_H_

#include "absl/status/statusor.h"
#include "etcdserverpb/rpc.pb.h"
#include "server/apply/kv_reader.h"

namespace quorum::server {

absl::StatusOr<etcdserverpb::RangeResponse> ExecuteRange(const KvReader& reader,
                                                         const etcdserverpb::RangeRequest& r);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_RANGE_EXECUTOR_H_
