#include "server/apply/applier.h"

#include "mvcc/errors.h"
#include "server/apply/range_executor.h"

namespace quorum::server {

using internalpb::InternalRequest;
using internalpb::InternalResponse;

absl::StatusOr<InternalResponse> Applier::ApplyOp(const InternalRequest& req) {
  InternalResponse out;
  if (req.op_case() == InternalRequest::kCompaction) {
    auto r = Compact(req.compaction());
    if (!r.ok()) return r.status();
    *out.mutable_compaction() = std::move(*r);
    return out;
  }
  if (req.op_case() == InternalRequest::kLeaseCheckpoint) {
    if (lessor_ != nullptr) {
      for (const auto& cp : req.lease_checkpoint().checkpoints()) {
        lessor_->Checkpoint(cp.id(), cp.remaining_ttl(), store_->PendingBatch());
      }
    }
    out.mutable_lease_checkpoint()->mutable_header()->set_revision(store_->CurrentRevForApply());
    return out;
  }
  if (req.op_case() == InternalRequest::kLeaseGrant) {
    auto r = LeaseGrant(req.lease_grant());
    if (!r.ok()) return r.status();
    *out.mutable_lease_grant() = std::move(*r);
    return out;
  }
  // A revoke deletes the lease's keys in this txn: one revision, with
  // delete events, as etcd's lessor does through its RangeDeleter.
  mvcc::LeaseId revoked = mvcc::kNoLease;
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
    case InternalRequest::kLeaseRevoke: {
      if (lessor_ == nullptr) {
        status = mvcc::ErrLeaseNotFound();
        break;
      }
      auto keys = lessor_->Keys(req.lease_revoke().id());
      status = keys.status();
      if (!keys.ok()) break;
      for (const auto& k : *keys) txn->DeleteRange(k, "");
      revoked = req.lease_revoke().id();
      break;
    }
    default:
      status = absl::UnimplementedError("etcdserver: unknown internal request");
  }
  auto changes = txn->End();
  if (lessor_ != nullptr) {
    // Puts attach keys to their lease (detaching them from a previous one),
    // deletes detach them.
    lessor_->ApplyChanges(changes);
    if (revoked != mvcc::kNoLease) {
      status = lessor_->Revoke(revoked, store_->PendingBatch());
      out.mutable_lease_revoke()->mutable_header()->set_revision(store_->CurrentRevForApply());
    }
  }
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<etcdserverpb::LeaseGrantResponse> Applier::LeaseGrant(
    const etcdserverpb::LeaseGrantRequest& r) {
  if (lessor_ == nullptr) return absl::UnimplementedError("etcdserver: leases are not enabled");
  auto ttl = lessor_->Grant(r.id(), r.ttl(), store_->PendingBatch());
  if (!ttl.ok()) return ttl.status();
  etcdserverpb::LeaseGrantResponse resp;
  resp.set_id(r.id());
  resp.set_ttl(*ttl);
  resp.mutable_header()->set_revision(store_->CurrentRevForApply());
  return resp;
}

absl::StatusOr<etcdserverpb::CompactionResponse> Applier::Compact(
    const etcdserverpb::CompactionRequest& r) {
  if (auto s = store_->Compact(r.revision()); !s.ok()) return s;
  etcdserverpb::CompactionResponse resp;
  resp.mutable_header()->set_revision(store_->CurrentRevForApply());
  return resp;
}

namespace {

// Runs `read` on a reader pinned to the latest published revision. If a
// commit compacted past that revision while the read ran, the read is
// repeated at the newer revision published by then: a request for the latest
// revision must never fail with ErrCompacted. A read of an explicit old
// revision still gets ErrCompacted once that revision is below the
// compaction, because the retry hits it again.
template <typename Read>
auto ReadAtLatest(const mvcc::KvStore* store, Read read) {
  for (int attempt = 0;; ++attempt) {
    StoreReader reader(store);
    auto r = read(reader);
    if (r.ok() || attempt == 100 || !mvcc::IsCompacted(r.status()) ||
        reader.Rev() >= store->CompactRev()) {
      return r;
    }
  }
}

}  // namespace

absl::StatusOr<etcdserverpb::RangeResponse> Applier::Range(
    const etcdserverpb::RangeRequest& r) const {
  return ReadAtLatest(store_, [&](const StoreReader& reader) { return ExecuteRange(reader, r); });
}

absl::StatusOr<SerializedRangeResult> Applier::RangeSerialized(
    const etcdserverpb::RangeRequest& r) const {
  return ReadAtLatest(store_,
                      [&](const StoreReader& reader) { return ExecuteRangeSerialized(reader, r); });
}

absl::StatusOr<etcdserverpb::TxnResponse> Applier::ReadOnlyTxn(
    const etcdserverpb::TxnRequest& r) const {
  return ReadAtLatest(store_, [&](const StoreReader& reader) {
    TxnExecutor exec(reader, nullptr, leases_);
    return exec.Txn(r);
  });
}

}  // namespace quorum::server
