// Ctrl-C handling for the commands that must clean up on SIGINT (lock
// releases the lock, elect resigns), as etcdctl's signal.Notify does.
//
// The constructor blocks SIGINT in the calling thread -- so it must run
// before any other thread (gRPC's included) is started, which then inherit
// the mask -- and starts a thread that sigwait()s for it. Commands that are
// content with the default action (watch, keep-alive) do not create one.
//
// Thread-safety: all methods are thread-safe. One instance per process.
#ifndef QUORUM_CMD_QUORUMCTL_INTERRUPT_H_
#define QUORUM_CMD_QUORUMCTL_INTERRUPT_H_

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quorum::ctl {

class Interrupt {
 public:
  Interrupt();
  Interrupt(const Interrupt&) = delete;
  Interrupt& operator=(const Interrupt&) = delete;

  bool Fired() const ABSL_LOCKS_EXCLUDED(mu_);
  // Waits up to `d`; true once SIGINT has arrived.
  bool WaitFor(absl::Duration d) const ABSL_LOCKS_EXCLUDED(mu_);
  // The call to cancel when SIGINT arrives (nullptr: none). A context set
  // after the signal is cancelled at once.
  void CancelOnInterrupt(grpc::ClientContext* ctx) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Fire() ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* cancel_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_INTERRUPT_H_
