#include "server/apply/applier.h"

#include "server/apply/range_executor.h"

namespace quorum::server {

using internalpb::InternalRequest;
using internalpb::InternalResponse;

absl::StatusOr<InternalResponse> Applier::Apply(const InternalRequest& req) {
  InternalResponse out;
  if (req.op_case() == InternalRequest::kCompaction) {
    auto r = Compact(req.compaction());
    if (!r.ok()) return r.status();
    *out.mutable_compaction() = std::move(*r);
    return out;
  }
  auto txn = store_->Write();
  WriteTxnReader reader(txn.get(), store_);
  TxnExecutor exec(reader, txn.get(), leases_);
  absl::Status status;
  switch (req.op_case()) {
    case InternalRequest::kPut: {
      auto r = exec.Put(req.put());
      if (r.ok()) *out.mutable_put() = std::move(*r);
      status = r.status();
      break;
    }
    case InternalRequest::kDeleteRange: {
      auto r = exec.DeleteRange(req.delete_range());
      if (r.ok()) *out.mutable_delete_range() = std::move(*r);
      status = r.status();
      break;
    }
    case InternalRequest::kTxn: {
      auto r = exec.Txn(req.txn());
      if (r.ok()) *out.mutable_txn() = std::move(*r);
      status = r.status();
      break;
    }
    default:
      status = absl::UnimplementedError("etcdserver: unknown internal request");
  }
  txn->End();
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<etcdserverpb::CompactionResponse> Applier::Compact(
    const etcdserverpb::CompactionRequest& r) {
  if (auto s = store_->Compact(r.revision()); !s.ok()) return s;
  etcdserverpb::CompactionResponse resp;
  resp.mutable_header()->set_revision(store_->CurrentRevForApply());
  return resp;
}

absl::StatusOr<etcdserverpb::RangeResponse> Applier::Range(
    const etcdserverpb::RangeRequest& r) const {
  StoreReader reader(store_);
  return ExecuteRange(reader, r);
}

absl::StatusOr<etcdserverpb::TxnResponse> Applier::ReadOnlyTxn(
    const etcdserverpb::TxnRequest& r) const {
  StoreReader reader(store_);
  TxnExecutor exec(reader, nullptr, leases_);
  return exec.Txn(r);
}

}  // namespace quorum::server
