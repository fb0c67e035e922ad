// Request validation done at the gRPC edge before anything is proposed, with
// etcd's rules and errors (etcd's v3rpc/key.go checks). Pure functions.
#ifndef QUORUM_SERVER_REQUEST_VALIDATION_H_
#define QUORUM_SERVER_REQUEST_VALIDATION_H_

#include "absl/status/status.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::server {

absl::Status CheckRangeRequest(const etcdserverpb::RangeRequest& r);
absl::Status CheckPutRequest(const etcdserverpb::PutRequest& r);
absl::Status CheckDeleteRequest(const etcdserverpb::DeleteRangeRequest& r);
// Op counts (--max-txn-ops), every nested op, and no key written twice or
// both written and deleted on one execution path.
absl::Status CheckTxnRequest(const etcdserverpb::TxnRequest& r, int max_txn_ops);

// True when both branches hold only ranges (a nested txn counts as a write,
// as in etcd).
bool IsTxnReadOnly(const etcdserverpb::TxnRequest& r);
// True when both branches hold only serializable ranges.
bool IsTxnSerializable(const etcdserverpb::TxnRequest& r);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_REQUEST_VALIDATION_H_
