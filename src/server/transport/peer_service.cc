#include "server/transport/peer_service.h"

#include "server/transport/inbound_messages.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/transport/peer_channel.h"
#include "server/transport/snapshot_file_writer.h"

namespace quorum::server::transport {
namespace {

// The decimal uint64 in metadata `key`, if present and well-formed.
std::optional<uint64_t> MetadataId(const grpc::ServerContextBase& ctx, const char* key) {
  auto it = ctx.client_metadata().find(key);
  if (it == ctx.client_metadata().end()) return std::nullopt;
  uint64_t v = 0;
  if (!absl::SimpleAtoi(std::string(it->second.data(), it->second.size()), &v)) return std::nullopt;
  return v;
}

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

class PeerService::CallScope {
 public:
  CallScope(PeerService* svc, grpc::ServerContextBase* ctx) : svc_(svc), ctx_(ctx) {
    absl::MutexLock l(&svc_->mu_);
    registered_ = !svc_->stopped_;
    if (registered_) svc_->calls_.insert(ctx_);
  }
  ~CallScope() {
    if (!registered_) return;
    absl::MutexLock l(&svc_->mu_);
    svc_->calls_.erase(ctx_);
  }
  bool registered() const { return registered_; }

 private:
  PeerService* const svc_;
  grpc::ServerContextBase* const ctx_;
  bool registered_ = false;
};

PeerService::PeerService(PeerServiceConfig cfg, Handler* handler)
    : cfg_(std::move(cfg)), handler_(handler) {}

PeerService::~PeerService() { Stop(); }

void PeerService::Stop() {
  absl::MutexLock l(&mu_);
  stopped_ = true;
  for (grpc::ServerContextBase* ctx : calls_) ctx->TryCancel();
  // Handlers see the cancellation at their next Read and return promptly.
  mu_.Await(absl::Condition(
      +[](absl::flat_hash_set<grpc::ServerContextBase*>* calls) { return calls->empty(); },
      &calls_));
}

PeerService::Caller PeerService::Authenticate(const grpc::ServerContextBase& ctx) const {
  Caller c;
  c.peer = ctx.peer();
  c.member_id = MetadataId(ctx, kMemberIdKey).value_or(0);
  std::optional<uint64_t> cluster = MetadataId(ctx, kClusterIdKey);
  if (!cluster || *cluster != cfg_.cluster_id) {
    spdlog::warn("rejecting peer {} (member {:x}): cluster ID mismatch (theirs {}, ours {:x})",
                 c.peer, c.member_id,
                 cluster ? absl::StrCat(absl::Hex(*cluster)) : std::string("missing"),
                 cfg_.cluster_id);
    c.status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, kClusterIdMismatch);
  }
  return c;
}

// Reads frames until the call ends; registered with the service (for Stop)
// from creation until OnDone.
class PeerService::MessageStream final : public grpc::ServerReadReactor<raftpb::MessageBatch> {
 public:
  MessageStream(PeerService* svc, grpc::CallbackServerContext* ctx)
      : svc_(svc), ctx_(ctx), scope_(std::make_unique<CallScope>(svc, ctx)) {
    if (!scope_->registered()) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "transport stopped"));
      return;
    }
    Caller caller = svc_->Authenticate(*ctx);
    if (!caller.status.ok()) {
      Finish(caller.status);
      return;
    }
    spdlog::debug("peer {:x} ({}) opened a raft message stream", caller.member_id, caller.peer);
    from_ = caller.member_id;
    StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(ctx_->IsCancelled() ? grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled")
                                 : grpc::Status::OK);
      return;
    }
    std::vector<raftpb::Message> msgs;
    TakeMessagesFor(svc_->cfg_.member_id, from_, &batch_, &msgs);
    batch_.Clear();
    if (!msgs.empty()) svc_->handler_->OnMessages(std::move(msgs));
    StartRead(&batch_);
  }

  void OnDone() override {
    scope_.reset();  // after this the service may be gone
    delete this;
  }

 private:
  PeerService* const svc_;
  grpc::CallbackServerContext* const ctx_;
  std::unique_ptr<CallScope> scope_;
  raftpb::MessageBatch batch_;
  uint64_t from_ = 0;  // the peer's member id, from the stream's metadata (0: not sent)
};

grpc::ServerReadReactor<raftpb::MessageBatch>* PeerService::Stream(
    grpc::CallbackServerContext* ctx, peerpb::StreamAck* /*ack*/) {
  return new MessageStream(this, ctx);
}

grpc::Status PeerService::SendSnapshot(grpc::ServerContext* ctx,
                                       grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                                       peerpb::SnapshotAck* ack) {
  CallScope scope(this, ctx);
  if (!scope.registered()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "transport stopped");
  Caller caller = Authenticate(*ctx);
  if (!caller.status.ok()) return caller.status;
  grpc::Status st = ReceiveSnapshot(caller, reader, ack);
  if (!st.ok()) {
    spdlog::warn("rejected snapshot from peer {:x} ({}): {}", caller.member_id, caller.peer,
                 st.error_message());
  }
  return st;
}

grpc::Status PeerService::ReceiveSnapshot(const Caller& caller,
                                          grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                                          peerpb::SnapshotAck* ack) {
  peerpb::SnapshotChunk chunk;
  if (!reader->Read(&chunk)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "snapshot stream without header");
  }
  if (!chunk.has_message() || chunk.message().type() != raftpb::MsgSnap) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "first snapshot chunk must carry the MsgSnap message");
  }
  raftpb::Message msg = std::move(*chunk.mutable_message());
  if (msg.to() != cfg_.member_id) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("snapshot addressed to member ",
                                     absl::StrCat(absl::Hex(msg.to())), ", not to us"));
  }
  const auto& meta = msg.snapshot().metadata();
  const uint64_t total_size = chunk.total_size();
  auto writer =
      SnapshotFileWriter::Create(cfg_.snapshot_dir, meta.term(), meta.index(), total_size);
  if (!writer.ok()) return ToGrpc(writer.status());
  spdlog::info("receiving snapshot term {} index {} ({} bytes) from peer {:x}", meta.term(),
               meta.index(), total_size, caller.member_id);

  std::optional<uint32_t> crc;
  // The header may carry data too; every chunk may.
  while (true) {
    if (!chunk.data().empty()) {
      if (absl::Status s = (*writer)->Append(chunk.offset(), chunk.data()); !s.ok()) {
        return ToGrpc(s);
      }
    }
    if (chunk.done()) {
      crc = chunk.crc32c();
      break;
    }
    chunk.Clear();
    if (!reader->Read(&chunk)) break;
  }
  if (!crc) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("snapshot stream ended after ", (*writer)->written(), " of ",
                                     total_size, " bytes without its trailer"));
  }
  auto path = (*writer)->Commit(*crc);
  if (!path.ok()) return ToGrpc(path.status());
  ack->set_bytes_received((*writer)->written());
  msg.mutable_snapshot()->set_data(*path);
  spdlog::info("received snapshot term {} index {} from peer {:x}: {}", meta.term(), meta.index(),
               caller.member_id, *path);
  std::vector<raftpb::Message> msgs;
  msgs.push_back(std::move(msg));
  handler_->OnMessages(std::move(msgs));
  return grpc::Status::OK;
}

}  // namespace quorum::server::transport
