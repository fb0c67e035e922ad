// LockService: etcd's v3lockpb.Lock service on the Mutex recipe, as etcd's
// v3lock server does with clientv3/concurrency.
//
//  - Lock(name, lease): runs Mutex(name, lease).Lock on a RecipeRuntime
//    worker and answers once held with the lock key ("<name>/<lease hex>",
//    which the caller owns until it unlocks or its lease ends). The caller
//    keeps the lease alive. An unknown lease fails with Unknown
//    "etcdserver: requested lease not found"; a cancelled call withdraws its
//    key.
//  - Unlock(key): deletes the key.
//
// Thread-safety: gRPC calls handlers concurrently; the runtime is shared.
#ifndef QUORUM_SERVER_API_LOCK_SERVICE_H_
#define QUORUM_SERVER_API_LOCK_SERVICE_H_

#include "server/api/recipe_runtime.h"
#include "v3lockpb/v3lock.grpc.pb.h"

namespace quorum::server {

class LockService final : public v3lockpb::Lock::CallbackService {
 public:
  // `runtime` is not owned and must outlive the service.
  explicit LockService(RecipeRuntime* runtime) : runtime_(runtime) {}

  grpc::ServerUnaryReactor* Lock(grpc::CallbackServerContext* ctx,
                                 const v3lockpb::LockRequest* req,
                                 v3lockpb::LockResponse* resp) override;
  grpc::ServerUnaryReactor* Unlock(grpc::CallbackServerContext* ctx,
                                   const v3lockpb::UnlockRequest* req,
                                   v3lockpb::UnlockResponse* resp) override;

 private:
  RecipeRuntime* runtime_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_LOCK_SERVICE_H_
