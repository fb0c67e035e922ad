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

// A range answered with its key-values still serialized as stored, for the
// response to carry them as they are (range_response_encoder.h).
struct SerializedRangeResult {
  mvcc::SerializedRange range;  // range.kvs already cut to the request's limit
  bool more = false;
};

// True when `r` asks for key-values in key order with their values and no
// filters, so that ExecuteRangeSerialized can answer it: what a list (get
// --prefix, a controller's initial list) asks. Count-only and sorted or
// filtered ranges go through ExecuteRange.
bool CanServeSerialized(const etcdserverpb::RangeRequest& r);

// ExecuteRange for requests CanServeSerialized accepts.
absl::StatusOr<SerializedRangeResult> ExecuteRangeSerialized(const StoreReader& reader,
                                                             const etcdserverpb::RangeRequest& r);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_RANGE_EXECUTOR_H_
