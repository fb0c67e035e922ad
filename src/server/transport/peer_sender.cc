#include "server/transport/peer_sender.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "internal/peer.grpc.pb.h"

namespace quorum::server::transport {
namespace {

using Clock = std::chrono::steady_clock;

// Why a call stopped being the current one.
enum class Retired {
  kNo,
  kFailed,   // a write failed: the call is over (OnDone brings the status)
  kStalled,  // cancelled by CancelIfStalled: handled as a failure
  kRedial,   // cancelled for new URLs: not a failure
  kStop,     // cancelled by Stop: not a failure
};

}  // namespace

// One RaftPeer.Stream call. Lives until gRPC's OnDone; the Core keeps a
// "hold" on it (AddHold) while it is the current call and around every
// operation started outside the Core's lock, so OnDone — and the delete —
// cannot come while anyone may still touch it.
class PeerSender::Core : public std::enable_shared_from_this<PeerSender::Core> {
 public:
  class Call final : public grpc::ClientWriteReactor<raftpb::MessageBatch> {
   public:
    Call(std::shared_ptr<Core> core, std::shared_ptr<grpc::Channel> channel)
        : core_(std::move(core)), channel_(std::move(channel)) {}

    void OnWriteDone(bool ok) override { core_->OnWriteDone(this, ok); }
    void OnDone(const grpc::Status& s) override {
      std::shared_ptr<Core> core = std::move(core_);
      core->OnDone(this, s);
      delete this;
    }

    grpc::ClientContext ctx;
    peerpb::StreamAck ack;
    // The frame being written; touched only by whoever set `writing`.
    raftpb::MessageBatch frame;
    // Guarded by Core::mu_.
    bool writing = false;
    Retired retired = Retired::kNo;
    Clock::time_point opened;
    Clock::time_point writing_since;

   private:
    std::shared_ptr<Core> core_;
    // Calls use their channel through a raw pointer: keep it alive.
    const std::shared_ptr<grpc::Channel> channel_;
  };

  Core(SenderConfig cfg, std::vector<std::string> urls, size_t max_queued)
      : cfg_(std::move(cfg)),
        max_queued_(std::max<size_t>(max_queued, 1)),
        dialer_(cfg_.peer_id, std::move(urls), cfg_.tls_creds) {}

  void Enqueue(std::vector<raftpb::Message> msgs) {
    Actions a;
    {
      absl::MutexLock l(&mu_);
      if (stopped_) return;
      size_t dropped = 0;
      if (in_backoff_) {
        // The stream is down: raft is better off knowing now than getting these late.
        dropped = msgs.size();
      } else {
        for (auto& m : msgs) {
          if (queue_.size() >= max_queued_) {
            ++dropped;
            continue;
          }
          queue_.push_back(std::move(m));
        }
      }
      if (dropped > 0) {
        dropped_ += dropped;
        a.report = true;
      }
      PumpLocked(&a);
    }
    Run(a);
  }

  void SetUrls(std::vector<std::string> urls) {
    dialer_.SetUrls(std::move(urls));
    Actions a;
    {
      absl::MutexLock l(&mu_);
      if (call_ != nullptr) RetireLocked(Retired::kRedial, &a);
      PumpLocked(&a);
    }
    Run(a);
  }

  void CancelIfStalled(Clock::time_point now) {
    Actions a;
    {
      absl::MutexLock l(&mu_);
      if (call_ == nullptr || !call_->writing || now - call_->writing_since <= kWriteStallTimeout) {
        return;
      }
      spdlog::warn("peer {:x}: raft message write stalled for more than {}s; cancelling stream",
                   cfg_.peer_id, kWriteStallTimeout.count());
      RetireLocked(Retired::kStalled, &a);
    }
    Run(a);
  }

  void Stop() {
    Actions a;
    grpc::Alarm* alarm = nullptr;
    {
      absl::MutexLock l(&mu_);
      if (!stopped_) {
        stopped_ = true;
        queue_.clear();
        if (call_ != nullptr) RetireLocked(Retired::kStop, &a);
        if (pending_alarms_ > 0) alarm = alarm_.get();  // not replaced once stopped_
      }
    }
    Run(a);
    if (alarm != nullptr) alarm->Cancel();
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(this, &Core::IdleLocked));
  }

 private:
  // What to do once mu_ is released: gRPC may run a reactor's callbacks
  // inline in the thread that starts an operation, and they take mu_.
  struct Actions {
    Call* cancel = nullptr;   // TryCancel, then drop the current-call hold
    Call* release = nullptr;  // drop the current-call hold
    Call* start = nullptr;    // StartCall (an extra hold is held for it)
    Call* write = nullptr;    // StartWrite(&frame) (an extra hold is held for it)
    bool report = false;      // ReportUnreachable
  };

  void Run(const Actions& a) {
    if (a.cancel != nullptr) {
      a.cancel->ctx.TryCancel();
      a.cancel->RemoveHold();
    }
    if (a.release != nullptr) a.release->RemoveHold();
    if (a.start != nullptr) {
      a.start->StartCall();
      a.start->RemoveHold();
    }
    if (a.write != nullptr) {
      a.write->StartWrite(&a.write->frame);
      a.write->RemoveHold();
    }
    if (a.report) cfg_.handler->ReportUnreachable(cfg_.peer_id);
  }

  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return live_calls_ == 0 && pending_alarms_ == 0;
  }

  // Starts the next write when there is something to send and no write in
  // flight, opening the call first when there is none.
  void PumpLocked(Actions* a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (stopped_ || in_backoff_ || queue_.empty()) return;
    if (call_ != nullptr && call_->writing) return;
    if (call_ == nullptr && !OpenLocked(a)) return;
    Call* c = call_;
    c->frame.Clear();
    size_t bytes = 0;
    size_t taken = 0;
    for (; taken < queue_.size(); ++taken) {
      const size_t n = queue_[taken].ByteSizeLong();
      if (c->frame.messages_size() > 0 && bytes + n > kMaxFrameBytes) break;
      *c->frame.add_messages() = std::move(queue_[taken]);
      bytes += n;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
    c->writing = true;
    c->writing_since = Clock::now();
    c->AddHold();
    a->write = c;
  }

  bool OpenLocked(Actions* a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::shared_ptr<grpc::Channel> channel = dialer_.Channel();
    if (channel == nullptr) {
      FailLocked(absl::FailedPreconditionError("no usable peer URL"), Clock::now(), a);
      return false;
    }
    auto* c = new Call(shared_from_this(), channel);
    AddIdentityMetadata(&c->ctx, cfg_.cluster_id, cfg_.member_id);
    c->opened = Clock::now();
    auto stub = peerpb::RaftPeer::NewStub(channel);
    stub->async()->Stream(&c->ctx, &c->ack, c);
    c->AddHold();  // while it is call_
    c->AddHold();  // for a->start
    ++live_calls_;
    call_ = c;
    a->start = c;
    return true;
  }

  // call_ stops being current; its hold is dropped once mu_ is released.
  void RetireLocked(Retired why, Actions* a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Call* c = call_;
    call_ = nullptr;
    c->retired = why;
    if (why == Retired::kFailed) {
      a->release = c;
    } else {
      a->cancel = c;
    }
    if (why == Retired::kFailed || why == Retired::kStalled) {
      // Nothing goes out until the failure is handled (in OnDone).
      in_backoff_ = true;
      DropQueueLocked(a);
    }
  }

  void DropQueueLocked(Actions* a) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.empty()) return;
    dropped_ += queue_.size();
    queue_.clear();
    a->report = true;
  }

  void OnWriteDone(Call* c, bool ok) {
    Actions a;
    {
      absl::MutexLock l(&mu_);
      c->writing = false;
      if (call_ == c) {
        if (ok) {
          if (!last_error_.empty()) {
            spdlog::info("peer {:x}: raft message stream to {} is up", cfg_.peer_id,
                         dialer_.CurrentUrl());
            last_error_.clear();
          }
          PumpLocked(&a);
        } else {
          dropped_ += static_cast<uint64_t>(c->frame.messages_size());  // raft copes
          RetireLocked(Retired::kFailed, &a);
        }
      }
    }
    Run(a);
  }

  void OnDone(Call* c, const grpc::Status& s) {
    Actions a;
    {
      absl::MutexLock l(&mu_);
      if (call_ == c) call_ = nullptr;  // cannot happen while it holds a hold
      if (!stopped_ && (c->retired == Retired::kFailed || c->retired == Retired::kStalled)) {
        absl::Status st = s.ok() ? absl::UnavailableError("stream closed by peer")
                                 : absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                                                s.error_message());
        FailLocked(st, c->opened, &a);
      }
    }
    Run(a);
    absl::MutexLock l(&mu_);
    --live_calls_;  // only now: Stop() waits for this, and Run may call the handler
  }

  // A stream could not be opened or broke: log, report, back off.
  void FailLocked(const absl::Status& s, Clock::time_point opened, Actions* a)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    LogFailureLocked(s);
    dialer_.Failed();
    a->report = true;
    in_backoff_ = true;
    DropQueueLocked(a);
    // A stream that worked for a while starts the backoff over; one that
    // keeps failing right away (peer down, or rejecting us) backs off further.
    if (Clock::now() - opened > kMaxBackoff) backoff_ = kMinBackoff;
    const auto wait = backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(kMaxBackoff));
    alarm_ = std::make_unique<grpc::Alarm>();
    ++pending_alarms_;
    // At least kMinBackoff ahead, so the callback cannot run inline under mu_.
    alarm_->Set(gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                             gpr_time_from_millis(wait.count(), GPR_TIMESPAN)),
                [self = shared_from_this()](bool) { self->OnBackoffDone(); });
  }

  void OnBackoffDone() {
    Actions a;
    {
      absl::MutexLock l(&mu_);
      in_backoff_ = false;
      PumpLocked(&a);
    }
    Run(a);
    absl::MutexLock l(&mu_);
    --pending_alarms_;
  }

  void LogFailureLocked(const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::string err(s.message());
    if (s.code() == absl::StatusCode::kFailedPrecondition && err == kClusterIdMismatch) {
      err = "peer rejected us: cluster ID mismatch (is it a member of another cluster?)";
    }
    if (err == last_error_) {
      spdlog::debug("peer {:x}: raft message stream to {} failed: {}", cfg_.peer_id,
                    dialer_.CurrentUrl(), err);
      return;
    }
    spdlog::warn(
        "peer {:x}: raft message stream to {} failed ({}): {} ({} messages dropped so far)",
        cfg_.peer_id, dialer_.CurrentUrl(), absl::StatusCodeToString(s.code()), err, dropped_);
    last_error_ = err;
  }

  const SenderConfig cfg_;
  const size_t max_queued_;
  Dialer dialer_;

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Set from a stream failure until its backoff has passed: messages are dropped.
  bool in_backoff_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<raftpb::Message> queue_ ABSL_GUARDED_BY(mu_);  // size() <= max_queued_
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;               // total, for logs
  Call* call_ ABSL_GUARDED_BY(mu_) = nullptr;               // the current call
  int live_calls_ ABSL_GUARDED_BY(mu_) = 0;                 // created, OnDone not yet run
  std::chrono::milliseconds backoff_ ABSL_GUARDED_BY(mu_) = kMinBackoff;
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
  int pending_alarms_ ABSL_GUARDED_BY(mu_) = 0;  // set, callback not finished
  // Last failure logged, to log each distinct failure once.
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

PeerSender::PeerSender(SenderConfig cfg, std::vector<std::string> urls, size_t max_queued)
    : core_(std::make_shared<Core>(std::move(cfg), std::move(urls), max_queued)) {}

PeerSender::~PeerSender() { Stop(); }

void PeerSender::Enqueue(std::vector<raftpb::Message> msgs) { core_->Enqueue(std::move(msgs)); }

void PeerSender::SetUrls(std::vector<std::string> urls) { core_->SetUrls(std::move(urls)); }

void PeerSender::CancelIfStalled(std::chrono::steady_clock::time_point now) {
  core_->CancelIfStalled(now);
}

void PeerSender::Stop() { core_->Stop(); }

}  // namespace quorum::server::transport
