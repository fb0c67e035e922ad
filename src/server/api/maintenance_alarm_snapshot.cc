// Maintenance.Alarm, Maintenance.Hash and Maintenance.Snapshot.
#include <filesystem>

#include "mvcc/meta_keys.h"
#include "server/api/maintenance_service.h"
#include "server/api/snapshot_stream.h"
#include "server/errors.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace quorum::server {
namespace {

// A stream that fails at once (learners).
class FailedStream final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  explicit FailedStream(grpc::Status s) { Finish(std::move(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* ctx,
                                                    const etcdserverpb::AlarmRequest* req,
                                                    etcdserverpb::AlarmResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  // Every action, GET included, goes through raft as in etcd: the answer
  // reflects everything committed before it.
  internalpb::InternalRequest ir;
  *ir.mutable_alarm() = *req;
  // etcd 3.4 answers without a response header (etcdctl's fields printer
  // even crashes on that); clients see the same here.
  deps_->proposer->Propose(std::move(ir), [reactor, resp](
                                              absl::StatusOr<internalpb::InternalResponse> r) {
    if (!r.ok()) return reactor->Finish(ToGrpcStatus(r.status()));
    *resp = std::move(*r->mutable_alarm());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Hash(grpc::CallbackServerContext* ctx,
                                                   const etcdserverpb::HashRequest*,
                                                   etcdserverpb::HashResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  // etcd hashes its whole bbolt file but the consistent index; we hash every
  // record of the replicated state (as HashKV does for `kv`: crc32c over key
  // then value), column family by column family, through one RocksDB
  // snapshot, leaving out the applied raft index and term, which differ
  // between members only by timing. The revision is the one published when
  // the snapshot was taken (etcd reads it alongside, too).
  // Records a compaction left behind, and how far this member's Compactor
  // got with dropping them, differ between members by timing too: left out,
  // hashing again if a compaction was published meanwhile.
  int64_t rev = 0;
  uint32_t crc = 0;
  for (int attempt = 0;; ++attempt) {
    rev = deps_->store->Rev();
    int64_t compact = 0;
    absl::StatusOr<mvcc::KvStore::LiveRecords> live_or = deps_->store->Live(&compact);
    if (!live_or.ok()) {
      reactor->Finish(ToGrpcStatus(live_or.status()));
      return reactor;
    }
    const mvcc::KvStore::LiveRecords& live = *live_or;
    crc = 0;
    int64_t scheduled = -1;  // the compaction the snapshot holds
    auto st = deps_->backend->ScanConsistent(
        {mvcc::Cf::kKv, mvcc::Cf::kMeta, mvcc::Cf::kLease, mvcc::Cf::kAuth, mvcc::Cf::kMembers},
        [&](mvcc::Cf cf, std::string_view k, std::string_view v) {
          if (cf == mvcc::Cf::kMeta && k == mvcc::meta::kScheduledCompactRev && v.size() == 8) {
            scheduled = static_cast<int64_t>(util::DecodeFixed64BE(v.data()));
          }
          if (cf == mvcc::Cf::kMeta &&
              (k == mvcc::meta::kConsistentIndex || k == mvcc::meta::kConsistentTerm ||
               k == mvcc::meta::kFinishedCompactRev)) {
            return true;
          }
          if (cf == mvcc::Cf::kKv && !live(k)) return true;
          crc = util::Crc32c(crc, k);
          crc = util::Crc32c(crc, v);
          return true;
        });
    if (!st.ok()) {
      reactor->Finish(ToGrpcStatus(st));
      return reactor;
    }
    // A compacting group may reach the backend before it is published: the
    // filter must be the snapshot's compaction.
    if (deps_->store->CompactRev() == compact && scheduled == compact) break;
    if (attempt == 100) {
      reactor->Finish(ToGrpcStatus(
          absl::UnavailableError("etcdserver: compaction state is changing; try again")));
      return reactor;
    }
  }
  resp->set_hash(crc);
  resp->mutable_header()->set_revision(rev);
  deps_->Stamp(resp->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* MaintenanceService::Snapshot(
    grpc::CallbackServerContext*, const etcdserverpb::SnapshotRequest*) {
  if (deps_->member->IsLearner()) {
    return new FailedStream(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: rpc not supported for learner"));
  }
  const auto dir = std::filesystem::path(deps_->config->data_dir) / "member" / "snap" / "client";
  return new SnapshotStream(deps_->backend, dir.string());
}

}  // namespace quorum::server
