// RecipeRuntime: what the v3lock / v3election services share -- a loopback
// client::Client connected to this member's own client URL (etcd's
// v3lock/v3election servers likewise run clientv3 recipes against the
// member itself), and the worker threads that run recipe calls.
//
// Recipe calls block (Lock and Campaign until the predecessor's key is gone,
// Observe for as long as the stream lives), so they must not occupy gRPC's
// callback threads: each call runs on its own worker thread, at most
// kMaxCalls at once (beyond that: ResourceExhausted). Workers poll
// Stopping() (through their Wait) and the RPC's cancellation, so Stop()
// ends them promptly; Stop() waits for them at most kStopTimeout.
//
// Lifecycle: constructed in Server::Create, Connect() after the client
// listener is bound (calls before that fail with Unavailable), Stop() before
// the client listener shuts down.
// Thread-safety: all methods are thread-safe.
#ifndef QUORUM_SERVER_API_RECIPE_RUNTIME_H_
#define QUORUM_SERVER_API_RECIPE_RUNTIME_H_

#include <cstddef>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/concurrency/wait.h"

namespace quorum::server {

class RecipeRuntime {
 public:
  static constexpr size_t kMaxCalls = 4096;
  static constexpr absl::Duration kStopTimeout = absl::Seconds(10);

  RecipeRuntime() = default;
  ~RecipeRuntime();  // Stop()

  RecipeRuntime(const RecipeRuntime&) = delete;
  RecipeRuntime& operator=(const RecipeRuntime&) = delete;

  absl::Status Connect(client::ClientOptions options);

  // Runs `fn` on a new worker thread with the loopback client and a Wait that
  // ends when the server stops or `ctx` is cancelled. Returns an error (and
  // does not run fn) when not connected, stopping, or at capacity.
  using Call = absl::AnyInvocable<void(client::Client&, const client::concurrency::Wait&) &&>;
  absl::Status Run(grpc::CallbackServerContext* ctx, Call fn);

  void Stop();

 private:
  // Shared with the workers: one still running after Stop() gave up waiting
  // (kStopTimeout) outlives this object and must not touch it.
  struct State {
    absl::Mutex mu;
    std::shared_ptr<client::Client> client ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    size_t running ABSL_GUARDED_BY(mu) = 0;
  };
  const std::shared_ptr<State> state_ = std::make_shared<State>();
};

// The lease a Lock or Campaign request's key gets. etcd's v3lock/v3election
// servers open a session on the request's lease, granting one of the
// session default TTL (60 s) when the request has none, and never renew it:
// without that, two lease-less callers would share the key "<name>/0", both
// be told they hold the lock, and a crashed holder would block it forever.
inline constexpr int64_t kRecipeSessionTtlSeconds = 60;
absl::StatusOr<int64_t> RecipeLease(client::Client& c, int64_t requested);

// A recipe's result as a gRPC status, as etcd's v3lock/v3election servers
// return their clientv3 errors: clientv3 turns a server error it knows
// ("etcdserver: ...") into a plain Go error, which grpc-go sends back with
// code Unknown; the recipes' own errors ("election: ...") are plain Go
// errors too. Anything else (Unavailable, cancellation) keeps its code.
inline grpc::Status RecipeStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  std::string msg(s.message());
  const bool plain = absl::StartsWith(msg, "etcdserver: ") || absl::StartsWith(msg, "election: ") ||
                     absl::StartsWith(msg, "mutex: ");
  return grpc::Status(plain ? grpc::StatusCode::UNKNOWN : static_cast<grpc::StatusCode>(s.code()),
                      msg);
}

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_RECIPE_RUNTIME_H_
