// Executes etcd requests that change state, and Txn in both forms, with
// etcd's apply semantics:
//  - every compare of a txn, nested ones on the chosen path included, is
//    evaluated against the state before the txn's first op;
//  - ops on the chosen path are checked (range revision, put's ignore_* and
//    lease) before any op runs, so a failing txn changes nothing;
//  - nested responses carry only a revision in their header.
// `writer` is null for read-only txns, which must contain no put/delete.
#ifndef QUORUM_SERVER_APPLY_TXN_EXECUTOR_H_
#define QUORUM_SERVER_APPLY_TXN_EXECUTOR_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "etcdserverpb/rpc.pb.h"
#include "server/apply/kv_reader.h"

namespace quorum::server {

// Answers whether a lease id is granted; the lessor arrives with issue #5.
using LeaseLookup = std::function<bool(int64_t)>;

class TxnExecutor {
 public:
  TxnExecutor(const KvReader& reader, mvcc::WriteTxn* writer, LeaseLookup leases)
      : reader_(reader), writer_(writer), leases_(std::move(leases)) {}

  // A put on its own (not in a txn): its lease is looked up first, as etcd's
  // applier does, then the ignore_* flags' key.
  absl::StatusOr<etcdserverpb::PutResponse> Put(const etcdserverpb::PutRequest& r);
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> DeleteRange(
      const etcdserverpb::DeleteRangeRequest& r);
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& r);

 private:
  // Depth-first compare outcomes of the txn and of nested txns on its path.
  void ComputePath(const etcdserverpb::TxnRequest& r, std::vector<bool>* path) const;
  bool Compare(const etcdserverpb::Compare& c) const;
  // etcd checks every put on the path first, then every range.
  enum class CheckPass { kPuts, kRanges };
  // Keys from which a delete earlier on the path removed everything
  // (range_end "\0"); etcd's duplicate-key check lets such a delete and a
  // put of a later key share a txn.
  using FromKeyDeletes = std::vector<std::string>;
  absl::Status CheckOps(const etcdserverpb::TxnRequest& r, const std::vector<bool>& path,
                        size_t* pos, CheckPass pass, FromKeyDeletes* from_key_deletes) const;
  absl::Status CheckPut(const etcdserverpb::PutRequest& r,
                        const FromKeyDeletes& from_key_deletes) const;
  absl::StatusOr<etcdserverpb::PutResponse> ApplyPut(const etcdserverpb::PutRequest& r);
  absl::Status ApplyTxn(const etcdserverpb::TxnRequest& r, const std::vector<bool>& path,
                        size_t* pos, etcdserverpb::TxnResponse* resp);

  const KvReader& reader_;
  mvcc::WriteTxn* writer_;
  LeaseLookup leases_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_TXN_EXECUTOR_H_
