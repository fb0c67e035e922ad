#include "server/api/watch_service.h"

#include "server/api/watch_stream.h"

namespace quorum::server {
namespace {

// Learners refuse watch streams, as etcd's do.
class RejectedStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RejectedStream() {
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: rpc not supported for learner"));
  }
  void OnDone() override { delete this; }
};

}  // namespace

WatchService::WatchService(const ServiceDeps* deps, mvcc::WatchableStore* watchable,
                           std::chrono::milliseconds progress_interval)
    : deps_(deps),
      watchable_(watchable),
      progress_interval_(progress_interval),
      load_(WatchStream::kCoalesceWindow, kBusyEvents, kStillBusyEvents) {
  progress_thread_ = std::thread([this] { ProgressLoop(); });
}

bool WatchService::CountEvents(size_t events) {
  absl::MutexLock lock(&load_mu_);
  load_.Count(events, WatchLoadMeter::Clock::now());
  return load_.busy();
}

WatchService::~WatchService() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  progress_thread_.join();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WatchService::Watch(grpc::CallbackServerContext* ctx) {
  if (deps_->member->IsLearner()) return new RejectedStream();
  auto* s = new WatchStream(this, deps_, watchable_);
  Register(s);
  return s;
}

void WatchService::Register(WatchStream* s) {
  absl::MutexLock lock(&mu_);
  streams_.insert(s);
}

void WatchService::Unregister(WatchStream* s) {
  absl::MutexLock lock(&mu_);
  streams_.erase(s);
}

void WatchService::ProgressLoop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(progress_interval_));
    if (stopping_) return;
    // Streams unregister under mu_, so every pointer here is alive.
    for (WatchStream* s : streams_) s->SendProgress();
  }
}

}  // namespace quorum::server
