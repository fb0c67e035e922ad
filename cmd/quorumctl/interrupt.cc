#include "cmd/quorumctl/interrupt.h"

#include <signal.h>

#include <thread>

namespace quorum::ctl {

Interrupt::Interrupt() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Detached: the process exits with std::exit while it waits.
  std::thread([this, set] {
    int sig = 0;
    for (;;) {
      if (sigwait(&set, &sig) == 0 && sig == SIGINT) Fire();
    }
  }).detach();
}

void Interrupt::Fire() {
  absl::MutexLock l(&mu_);
  fired_ = true;
  if (cancel_ != nullptr) cancel_->TryCancel();
}

bool Interrupt::Fired() const {
  absl::MutexLock l(&mu_);
  return fired_;
}

bool Interrupt::WaitFor(absl::Duration d) const {
  absl::MutexLock l(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&fired_), d);
  return fired_;
}

void Interrupt::CancelOnInterrupt(grpc::ClientContext* ctx) {
  absl::MutexLock l(&mu_);
  cancel_ = ctx;
  if (fired_ && ctx != nullptr) ctx->TryCancel();
}

}  // namespace quorum::ctl
