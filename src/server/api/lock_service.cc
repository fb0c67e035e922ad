#include "server/api/lock_service.h"

#include "client/concurrency/mutex.h"
#include "client/kv.h"

namespace quorum::server {

using client::concurrency::Wait;

grpc::ServerUnaryReactor* LockService::Lock(grpc::CallbackServerContext* ctx,
                                            const v3lockpb::LockRequest* req,
                                            v3lockpb::LockResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status st = runtime_->Run(ctx, [reactor, req, resp](client::Client& c, const Wait& wait) {
    absl::StatusOr<int64_t> lease = RecipeLease(c, req->lease());
    if (!lease.ok()) {
      reactor->Finish(RecipeStatus(lease.status()));
      return;
    }
    client::concurrency::Mutex m(c, *lease, req->name());
    absl::Status s = m.Lock(wait);
    if (s.ok()) {
      *resp->mutable_header() = m.Header();
      resp->set_key(m.Key());
    }
    reactor->Finish(RecipeStatus(s));
  });
  if (!st.ok()) reactor->Finish(RecipeStatus(st));
  return reactor;
}

grpc::ServerUnaryReactor* LockService::Unlock(grpc::CallbackServerContext* ctx,
                                              const v3lockpb::UnlockRequest* req,
                                              v3lockpb::UnlockResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status st = runtime_->Run(ctx, [reactor, req, resp](client::Client& c, const Wait&) {
    absl::StatusOr<etcdserverpb::DeleteRangeResponse> r = client::KvClient(c).Delete(req->key());
    if (r.ok()) *resp->mutable_header() = r->header();
    reactor->Finish(RecipeStatus(r.status()));
  });
  if (!st.ok()) reactor->Finish(RecipeStatus(st));
  return reactor;
}

}  // namespace quorum::server
