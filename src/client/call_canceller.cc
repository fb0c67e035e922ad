#include "client/call_canceller.h"

namespace quorum::client {

void CallCanceller::Cancel() {
  absl::MutexLock l(&mu_);
  cancelled_ = true;
  if (ctx_ != nullptr) ctx_->TryCancel();
}

bool CallCanceller::Cancelled() const {
  absl::MutexLock l(&mu_);
  return cancelled_;
}

bool CallCanceller::Attach(grpc::ClientContext* ctx) {
  absl::MutexLock l(&mu_);
  if (cancelled_) return false;
  ctx_ = ctx;
  return true;
}

void CallCanceller::Detach() {
  absl::MutexLock l(&mu_);
  ctx_ = nullptr;
}

namespace {
thread_local CallCanceller* current_canceller = nullptr;
}  // namespace

CallCancelScope::CallCancelScope(CallCanceller* canceller) : previous_(current_canceller) {
  current_canceller = canceller;
}

CallCancelScope::~CallCancelScope() { current_canceller = previous_; }

CallCanceller* CallCancelScope::Current() { return current_canceller; }

}  // namespace quorum::client
