#include "server/api/kv_service.h"

#include "server/api/quota_gate.h"
#include "server/api/range_response_encoder.h"
#include "server/errors.h"
#include "server/request_validation.h"

namespace quorum::server {

using internalpb::InternalRequest;
using internalpb::InternalResponse;

template <typename Resp, typename Extract>
void KvService::ProposeAndReply(grpc::ServerUnaryReactor* reactor, InternalRequest req,
                                Resp* resp, Extract extract) {
  if (static_cast<int64_t>(req.ByteSizeLong()) > deps_->config->max_request_bytes) {
    reactor->Finish(ToGrpcStatus(ErrRequestTooLarge()));
    return;
  }
  const ServiceDeps* deps = deps_;
  // No lock is held here, and a reactor may finish inside its handler.
  deps_->proposer->ProposeNow(
      std::move(req), [reactor, resp, deps, extract](absl::StatusOr<InternalResponse> r) mutable {
        if (!r.ok()) {
          reactor->Finish(ToGrpcStatus(r.status()));
          return;
        }
        extract(&*r, resp);
        deps->Stamp(resp->mutable_header());
        reactor->Finish(grpc::Status::OK);
      });
}

namespace {

template <typename Resp>
void StampResponse(const ServiceDeps* deps, Resp* resp) {
  deps->Stamp(resp->mutable_header());
}
// An encoded response carries its header already.
void StampResponse(const ServiceDeps*, grpc::ByteBuffer*) {}

// Range's answer as response bytes: encoded straight from the stored
// key-values when the request allows it, else built and serialized.
absl::StatusOr<grpc::ByteBuffer> ReadRange(const ServiceDeps* deps,
                                           const etcdserverpb::RangeRequest& req) {
  if (CanServeSerialized(req)) {
    auto r = deps->applier->RangeSerialized(req);
    if (!r.ok()) return r.status();
    etcdserverpb::ResponseHeader h;
    h.set_revision(r->range.rev);
    deps->Stamp(&h);
    return EncodeRangeResponse(h, *r);
  }
  auto r = deps->applier->Range(req);
  if (!r.ok()) return r.status();
  deps->Stamp(r->mutable_header());
  grpc::ByteBuffer out;
  bool own_buffer = false;
  grpc::Status s = grpc::SerializationTraits<etcdserverpb::RangeResponse>::Serialize(
      *r, &out, &own_buffer);
  if (!s.ok()) return absl::InternalError(s.error_message());
  return out;
}

}  // namespace

template <typename Resp, typename Read>
void KvService::ServeRead(grpc::ServerUnaryReactor* reactor, bool serializable, Resp* resp,
                         Read read) {
  auto serve = [deps = deps_, reactor, resp, read]() {
    auto r = read();
    if (!r.ok()) return reactor->Finish(ToGrpcStatus(r.status()));
    *resp = std::move(*r);
    StampResponse(deps, resp);
    reactor->Finish(grpc::Status::OK);
  };
  if (serializable) {
    serve();  // local state, possibly stale: what serializable asks for
    return;
  }
  // Linearizable: wait until everything committed before now is applied.
  deps_->proposer->ReadBarrier([reactor, serve](absl::Status s) mutable {
    if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
    serve();
  });
}

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* ctx,
                                           const grpc::ByteBuffer* raw, grpc::ByteBuffer* resp) {
  auto* reactor = ctx->DefaultReactor();
  // Shared: a linearizable read finishes after this returns.
  auto req = std::make_shared<etcdserverpb::RangeRequest>();
  grpc::ByteBuffer in(*raw);  // Deserialize consumes its buffer; this copy shares the slices
  if (!grpc::SerializationTraits<etcdserverpb::RangeRequest>::Deserialize(&in, req.get()).ok()) {
    // grpc-go's code and the start of its text (the rest names Go's parser).
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "grpc: error unmarshalling request"));
    return reactor;
  }
  if (!req->serializable() && deps_->RejectOnLearner(reactor)) return reactor;
  if (auto ws = deps_->CheckWireSize(*req); !ws.ok()) {
    reactor->Finish(ws);
    return reactor;
  }
  if (auto s = CheckRangeRequest(*req); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  ServeRead(reactor, req->serializable(), resp,
            [deps = deps_, req] { return ReadRange(deps, *req); });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* ctx,
                                         const etcdserverpb::PutRequest* req,
                                         etcdserverpb::PutResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (auto ws = deps_->CheckWireSize(*req); !ws.ok()) {
    reactor->Finish(ws);
    return reactor;
  }
  if (RejectOverQuota(deps_, *req, reactor)) return reactor;
  if (auto s = CheckPutRequest(*req); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  InternalRequest ir;
  *ir.mutable_put() = *req;
  ProposeAndReply(reactor, std::move(ir), resp,
                  [](InternalResponse* r, etcdserverpb::PutResponse* out) {
                    *out = std::move(*r->mutable_put());
                  });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* ctx,
                                                 const etcdserverpb::DeleteRangeRequest* req,
                                                 etcdserverpb::DeleteRangeResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (auto ws = deps_->CheckWireSize(*req); !ws.ok()) {
    reactor->Finish(ws);
    return reactor;
  }
  if (auto s = CheckDeleteRequest(*req); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  InternalRequest ir;
  *ir.mutable_delete_range() = *req;
  ProposeAndReply(reactor, std::move(ir), resp,
                  [](InternalResponse* r, etcdserverpb::DeleteRangeResponse* out) {
                    *out = std::move(*r->mutable_delete_range());
                  });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* ctx,
                                         const etcdserverpb::TxnRequest* req,
                                         etcdserverpb::TxnResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  if (auto ws = deps_->CheckWireSize(*req); !ws.ok()) {
    reactor->Finish(ws);
    return reactor;
  }
  if (RejectOverQuota(deps_, *req, reactor)) return reactor;
  if (auto s = CheckTxnRequest(*req, deps_->config->max_txn_ops); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (IsTxnReadOnly(*req)) {
    ServeRead(reactor, IsTxnSerializable(*req), resp,
              [deps = deps_, req] { return deps->applier->ReadOnlyTxn(*req); });
    return reactor;
  }
  InternalRequest ir;
  *ir.mutable_txn() = *req;
  ProposeAndReply(reactor, std::move(ir), resp,
                  [](InternalResponse* r, etcdserverpb::TxnResponse* out) {
                    *out = std::move(*r->mutable_txn());
                  });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* ctx,
                                             const etcdserverpb::CompactionRequest* req,
                                             etcdserverpb::CompactionResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_->RejectOnLearner(reactor)) return reactor;
  InternalRequest ir;
  *ir.mutable_compaction() = *req;
  if (!req->physical()) {
    ProposeAndReply(reactor, std::move(ir), resp,
                    [](InternalResponse* r, etcdserverpb::CompactionResponse* out) {
                      *out = std::move(*r->mutable_compaction());
                    });
    return reactor;
  }
  // physical: as etcd, answer once this member's backend has dropped the
  // compacted records (the Compactor does that after the group commits).
  const ServiceDeps* deps = deps_;
  const int64_t rev = req->revision();
  deps_->proposer->Propose(
      std::move(ir), [reactor, resp, deps, rev](absl::StatusOr<InternalResponse> r) mutable {
        if (!r.ok()) return reactor->Finish(ToGrpcStatus(r.status()));
        *resp = std::move(*r->mutable_compaction());
        deps->store->WhenCompacted(rev, [reactor, resp, deps](absl::Status s) {
          if (!s.ok()) return reactor->Finish(ToGrpcStatus(s));
          deps->Stamp(resp->mutable_header());
          reactor->Finish(grpc::Status::OK);
        });
      });
  return reactor;
}

}  // namespace quorum::server
