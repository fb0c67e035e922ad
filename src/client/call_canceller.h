// CallCanceller: ends, from another thread, the Client calls a thread makes
// while a CallCancelScope names it -- the C++ stand-in for cancelling a Go
// context that a clientv3 call runs under.
//
// Who uses it: background loops that must stop at once (Watcher::Close,
// LeaseKeepAlive::Stop join a thread that may be inside Client::Invoke,
// waiting for a connection or an answer, for up to command_timeout).
//
// Once Cancel() has run, the call in flight fails with Cancelled "context
// canceled" (its gRPC context is cancelled; a wait for a connection notices
// within kPollInterval), and so does every later call under the scope.
//
// Thread-safety: Cancel()/Cancelled() from any thread; the scope is
// per-thread (like CallDeadlineScope) and nests, the innermost applies.
#ifndef QUORUM_CLIENT_CALL_CANCELLER_H_
#define QUORUM_CLIENT_CALL_CANCELLER_H_

#include <grpcpp/client_context.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quorum::client {

inline constexpr char kCallCancelledMessage[] = "context canceled";

class CallCanceller {
 public:
  // How often a wait for a connection checks for a cancel.
  static constexpr absl::Duration kPollInterval = absl::Milliseconds(100);

  CallCanceller() = default;
  CallCanceller(const CallCanceller&) = delete;
  CallCanceller& operator=(const CallCanceller&) = delete;

  void Cancel() ABSL_LOCKS_EXCLUDED(mu_);
  bool Cancelled() const ABSL_LOCKS_EXCLUDED(mu_);

  // For Client::Invoke: registers the call in flight; false (nothing
  // registered) when already cancelled. Detach() before `ctx` dies.
  bool Attach(grpc::ClientContext* ctx) ABSL_LOCKS_EXCLUDED(mu_);
  void Detach() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
};

class CallCancelScope {
 public:
  explicit CallCancelScope(CallCanceller* canceller);
  ~CallCancelScope();
  CallCancelScope(const CallCancelScope&) = delete;
  CallCancelScope& operator=(const CallCancelScope&) = delete;
  // The canceller in force on this thread (null when none).
  static CallCanceller* Current();

 private:
  CallCanceller* previous_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_CALL_CANCELLER_H_
