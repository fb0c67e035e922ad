#include "server/api/lease_service_forward.h"

#include <deque>
#include <vector>

#include "absl/time/time.h"

namespace quorum::server {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::LeaseKeepAliveResponse;

// One client stream to a leader. Lifetime: owns itself (`self_`) from
// construction until OnDone; the forwarder holds further references. A hold
// (AddHold) covers writes started from outside reactions (Send); it is
// removed once the stream is broken and no such start is in progress, so
// OnDone never races a StartWrite.
class LeaseKeepAliveForwarder::Stream final
    : public grpc::ClientBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
 public:
  struct Pending {
    TtlDone done;
    Clock::time_point deadline;
  };

  Stream(LeaseKeepAliveForwarder* owner, std::shared_ptr<etcdserverpb::Lease::Stub> stub)
      : owner_(owner), stub_(std::move(stub)) {}

  // Under the forwarder's lock: binds the call (nothing runs yet), so Send
  // may start writes at once; Start() then starts the call.
  void Bind(std::shared_ptr<Stream> self) {
    self_ = std::move(self);
    stub_->async()->LeaseKeepAlive(&ctx_, this);
    AddHold();
  }
  void Start() {
    StartRead(&in_);
    StartCall();
  }

  // False when the stream is broken (the caller opens a new one).
  bool Send(int64_t id, Clock::time_point deadline, TtlDone& done) {
    bool start = false;
    {
      absl::MutexLock lock(&mu_);
      if (broken_) return false;
      pending_[id].push_back(Pending{std::move(done), deadline});
      queue_.push_back(id);
      if (!writing_) {
        writing_ = true;
        out_.set_id(queue_.front());
        queue_.pop_front();
        start = true;
        ++starting_;
      }
    }
    if (start) {
      StartWrite(&out_);
      bool release = false;
      {
        absl::MutexLock lock(&mu_);
        --starting_;
        release = ReleaseLocked();
      }
      if (release) RemoveHold();
    }
    return true;
  }

  void Cancel() {
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      broken_ = true;
      release = ReleaseLocked();
    }
    ctx_.TryCancel();
    if (release) RemoveHold();
  }

  // Takes the callbacks of requests past their deadline (their answers,
  // when they come, are dropped in turn). True when a request has gone
  // unanswered for `grace` past its deadline: the leader is stuck.
  bool TakeExpired(Clock::time_point now, Clock::duration grace, std::vector<TtlDone>* out) {
    absl::MutexLock lock(&mu_);
    bool stuck = false;
    for (auto& [id, q] : pending_) {
      for (auto& p : q) {
        if (p.deadline > now) continue;
        if (p.done) out->push_back(std::move(p.done));
        p.done = nullptr;
        if (p.deadline + grace <= now) stuck = true;
      }
    }
    return stuck;
  }

  void OnWriteDone(bool ok) override {
    bool more = false, release = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) broken_ = true;
      if (!broken_ && !queue_.empty()) {
        out_.set_id(queue_.front());
        queue_.pop_front();
        more = true;
      } else {
        writing_ = false;
      }
      release = ReleaseLocked();
    }
    if (more) StartWrite(&out_);
    if (release) RemoveHold();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool release = false;
      {
        absl::MutexLock lock(&mu_);
        broken_ = true;
        release = ReleaseLocked();
      }
      if (release) RemoveHold();
      return;
    }
    const int64_t id = in_.id();
    const int64_t ttl = in_.ttl();
    TtlDone done;  // stays empty for a request that expired here
    {
      absl::MutexLock lock(&mu_);
      auto it = pending_.find(id);
      if (it != pending_.end()) {
        done = std::move(it->second.front().done);
        it->second.pop_front();
        if (it->second.empty()) pending_.erase(it);
      }
    }
    StartRead(&in_);
    if (done) std::move(done)(ttl);
  }

  void OnDone(const grpc::Status& s) override {
    absl::flat_hash_map<int64_t, std::deque<Pending>> pending;
    {
      absl::MutexLock lock(&mu_);
      broken_ = true;
      pending.swap(pending_);
    }
    const absl::Status err = absl::UnavailableError(
        "etcdserver: lease keep-alive forwarding to the leader failed: " +
        (s.ok() ? std::string("stream closed") : s.error_message()));
    for (auto& [id, q] : pending) {
      for (auto& p : q) {
        if (p.done) std::move(p.done)(err);
      }
    }
    owner_->StreamDone(this);
    self_.reset();  // may delete this: last
  }

 private:
  // True once: the stream is broken, no outside start is in progress and
  // the hold has not been released yet.
  bool ReleaseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!broken_ || starting_ > 0 || released_) return false;
    released_ = true;
    return true;
  }

  LeaseKeepAliveForwarder* owner_;
  std::shared_ptr<etcdserverpb::Lease::Stub> stub_;
  std::shared_ptr<Stream> self_;
  grpc::ClientContext ctx_;
  LeaseKeepAliveRequest out_;  // owned by the outstanding write
  LeaseKeepAliveResponse in_;  // owned by the outstanding read
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, std::deque<Pending>> pending_ ABSL_GUARDED_BY(mu_);
  std::deque<int64_t> queue_ ABSL_GUARDED_BY(mu_);  // ids not yet written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  int starting_ ABSL_GUARDED_BY(mu_) = 0;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

void LeaseKeepAliveForwarder::Send(uint64_t leader, const std::string& target,
                                   std::shared_ptr<etcdserverpb::Lease::Stub> stub, int64_t id,
                                   Clock::time_point deadline, TtlDone done) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<std::shared_ptr<Stream>> replaced;
    std::shared_ptr<Stream> stream;
    bool fresh = false;
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_) break;
      if (leader != leader_) {
        // The leader moved: its streams' requests fail and are retried
        // toward the new one.
        for (auto& [t, s] : streams_) replaced.push_back(std::move(s));
        streams_.clear();
        leader_ = leader;
      }
      std::shared_ptr<Stream>& cur = streams_[target];
      // attempt > 0: the stream was broken; it is finishing on its own.
      if (cur == nullptr || attempt > 0) {
        cur = std::make_shared<Stream>(this, stub);
        cur->Bind(cur);
        live_.Add(cur);  // closed only with shutdown_ set, checked above
        ++opened_;
        fresh = true;
      }
      stream = cur;
    }
    for (auto& r : replaced) r->Cancel();
    if (fresh) stream->Start();
    if (stream->Send(id, deadline, done)) return;
  }
  std::move(done)(absl::UnavailableError("etcdserver: server stopped"));
}

void LeaseKeepAliveForwarder::Sweep() {
  std::vector<std::shared_ptr<Stream>> streams = live_.Live();
  const auto now = Clock::now();
  std::vector<TtlDone> expired;
  for (auto& s : streams) {
    // Only a stream whose leader stopped answering is cancelled: the
    // others carry every client's keep-alives and stay up.
    if (s->TakeExpired(now, kUnansweredGrace, &expired)) s->Cancel();
  }
  for (auto& done : expired) {
    std::move(done)(absl::DeadlineExceededError("etcdserver: request timed out"));
  }
}

void LeaseKeepAliveForwarder::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    streams_.clear();
  }
  live_.CloseAndWait([](Stream& s) { s.Cancel(); }, absl::Seconds(5));
}

void LeaseKeepAliveForwarder::StreamDone(Stream* s) { live_.Remove(s); }

}  // namespace quorum::server
