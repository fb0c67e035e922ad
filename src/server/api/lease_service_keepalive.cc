// LeaseService's keep-alive half: the LeaseKeepAlive stream (one reactor per
// client stream), the renewal on the leader and the forwarding from a
// follower (over LeaseKeepAliveForwarder), with retries re-armed on the
// service's timer. See lease_service.h.
#include <deque>

#include "server/api/lease_service.h"
#include "server/errors.h"

namespace quorum::server {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::LeaseKeepAliveResponse;

// One LeaseKeepAlive stream. Requests are answered in the order their
// renewals complete; a failed renewal ends the stream with its error (as
// etcd's does). Finish is called once no renewal is in flight and no write
// is pending, so no callback can outlive the reactor (deleted in OnDone).
class LeaseService::KeepAliveReactor final
    : public grpc::ServerBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveReactor(LeaseService* svc) : svc_(svc) { StartRead(&req_); }
  // A stream refused up front (e.g. on a learner).
  KeepAliveReactor(LeaseService* svc, grpc::Status refused) : svc_(svc) {
    finished_ = true;
    Finish(std::move(refused));
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Update([&] { reads_done_ = true; });
      return;
    }
    const int64_t id = req_.id();
    bool stop;
    {
      absl::MutexLock lock(&mu_);
      // A stream already failed (or finished with this read outstanding)
      // starts no renewal: its reply could outlive the reactor.
      stop = failed_ || finished_;
      // One for the renewal, one holding Finish off until the next read has
      // started: the renewal may fail on another thread meanwhile, and no
      // read may start after Finish.
      if (!stop) inflight_ += 2;
    }
    if (stop) return Update([&] { reads_done_ = true; });
    // etcd fills the header before renewing: an answer never shows a
    // revision written after the renewal (e.g. the lease's own revoke).
    etcdserverpb::ResponseHeader header;
    svc_->deps()->Stamp(&header);
    auto parked = std::make_shared<bool>(false);  // guarded by mu_
    svc_->KeepAliveOnce(
        id,
        [this, id, parked, header = std::move(header)](absl::StatusOr<int64_t> ttl) mutable {
          Reply(id, std::move(header), std::move(ttl), *parked);
        },
        [this, parked] { Park(*parked); });
    bool read = false;
    {
      absl::MutexLock lock(&mu_);
      // A client that sends without reading its answers: stop reading until
      // they drain (OnWriteDone), so the queue stays bounded. (The hold is
      // not an answer: - 1.)
      // Decided here, under the lock: once it is released another thread
      // may resume reading, and a later look at read_paused_ would take
      // that read for the end of the requests.
      if (failed_) {
        reads_done_ = true;
      } else if (PendingLocked() - 1 >= kMaxPending || parked_ >= kMaxParked) {
        read_paused_ = true;
      } else {
        read = true;
      }
    }
    if (read) StartRead(&req_);
    Update([&] { --inflight_; });
  }

  void OnWriteDone(bool ok) override {
    bool resume = false;
    Update([&] {
      writing_ = false;
      if (!ok) Fail(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      resume = MaybeResumeLocked();
    });
    if (!resume) return;
    StartRead(&req_);
    Update([&] { --inflight_; });
  }

  void OnDone() override { delete this; }

 private:
  // Renewals waiting for their lease's revoke (up to the 5 s deadline) are
  // not counted toward kMaxPending: on the leader one follower's forwarder
  // stream carries every client of that follower, and a mass expiry would
  // otherwise stop the reading of every live lease's keep-alive behind them.
  size_t PendingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() + static_cast<size_t>(inflight_ - parked_);
  }
  // True when a paused stream may read again; then holds Finish off until
  // the caller has started the read (and drops the hold after).
  bool MaybeResumeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!read_paused_ || failed_ || PendingLocked() >= kMaxPending / 2 ||
        parked_ >= kMaxParked / 2) {
      return false;
    }
    read_paused_ = false;
    ++inflight_;
    return true;
  }

  void Park(bool& parked) {
    bool resume = false;
    Update([&] {
      if (parked) return;  // parked again after a wake-up
      parked = true;
      ++parked_;
      resume = MaybeResumeLocked();
    });
    if (!resume) return;
    StartRead(&req_);
    Update([&] { --inflight_; });
  }

  void Reply(int64_t id, etcdserverpb::ResponseHeader header, absl::StatusOr<int64_t> ttl,
             bool& parked) {
    Update([&] {
      --inflight_;
      if (parked) --parked_;
      if (!ttl.ok()) return Fail(ToGrpcStatus(ttl.status()));
      LeaseKeepAliveResponse resp;
      *resp.mutable_header() = std::move(header);
      resp.set_id(id);
      resp.set_ttl(*ttl);
      queue_.push_back(std::move(resp));
    });
  }

  void Fail(grpc::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!failed_) status_ = std::move(s);
    failed_ = true;
    queue_.clear();
  }

  // Runs `fn` under the lock, then starts the next write or finishes the
  // stream (outside the lock: gRPC may run reactions inline).
  template <typename Fn>
  void Update(Fn fn) {
    bool write = false, finish = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      fn();
      if (finished_) return;
      if (!writing_ && !failed_ && !queue_.empty()) {
        writing_ = true;
        out_ = std::move(queue_.front());
        queue_.pop_front();
        write = true;
      } else if (!writing_ && inflight_ == 0 && (failed_ || (reads_done_ && queue_.empty()))) {
        finished_ = true;
        finish = true;
        status = status_;
      }
    }
    if (write) StartWrite(&out_);
    if (finish) Finish(status);
  }

  LeaseService* svc_;
  LeaseKeepAliveRequest req_;   // owned by the outstanding read
  LeaseKeepAliveResponse out_;  // owned by the outstanding write
  absl::Mutex mu_;
  std::deque<LeaseKeepAliveResponse> queue_ ABSL_GUARDED_BY(mu_);
  int inflight_ ABSL_GUARDED_BY(mu_) = 0;
  int parked_ ABSL_GUARDED_BY(mu_) = 0;  // of inflight_: waiting for a revoke
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  // Answers queued or being renewed (parked ones aside) past which requests
  // are not read.
  static constexpr size_t kMaxPending = 1024;
  // Parked renewals hold memory until their deadline: a separate, larger bound.
  static constexpr int kMaxParked = 64 * 1024;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

grpc::ServerBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext* ctx) {
  if (deps_->member != nullptr && deps_->member->IsLearner()) {
    return new KeepAliveReactor(
        this, grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: rpc not supported for learner"));
  }
  return new KeepAliveReactor(this);
}

void LeaseService::KeepAliveOnce(int64_t id, TtlDone done, OnPark on_park) {
  RenewOrForward(id, Clock::now() + opts_.forward_timeout, std::move(done), on_park);
}

void LeaseService::RenewOrForward(int64_t id, Clock::time_point deadline, TtlDone done,
                                  const OnPark& on_park) {
  auto r = lessor_->Renew(id);
  if (r.ok()) return std::move(done)(*r);
  if (mvcc::IsLeaseExpired(r.status())) return AwaitRevoke(id, deadline, std::move(done), on_park);
  if (absl::IsNotFound(r.status())) {
    // The grant may be committed but not applied here yet: a client granted
    // by a follower that applied first, renewing at once, would be told its
    // new lease is gone. As etcd's leader does (waitAppliedIndex), apply
    // everything known committed before answering "not found". A local
    // wait: a leader without quorum still answers an unknown lease at once.
    // (Also after a revoke: "not found" goes out once its deletes are applied.)
    deps_->proposer->WaitApplied(
        [this, id, deadline, on_park, done = std::move(done)](absl::Status s) mutable {
          if (!s.ok()) return std::move(done)(s);
          auto again = lessor_->Renew(id);
          if (again.ok()) return std::move(done)(*again);
          if (absl::IsNotFound(again.status())) return std::move(done)(0);
          if (mvcc::IsLeaseExpired(again.status())) {
            return AwaitRevoke(id, deadline, std::move(done), on_park);
          }
          // Leadership moved meanwhile: the new leader's lessor answers.
          if (mvcc::IsNotPrimary(again.status())) {
            return Forward(id, deadline, std::move(done), on_park);
          }
          std::move(done)(again.status());
        });
    return;
  }
  Forward(id, deadline, std::move(done), on_park);
}

void LeaseService::AwaitRevoke(int64_t id, Clock::time_point deadline, TtlDone done,
                               const OnPark& on_park) {
  if (on_park) on_park();
  auto p = std::make_shared<ParkedRenewal>(ParkedRenewal{id, deadline, on_park, std::move(done)});
  bool closed;
  {
    absl::MutexLock lock(&park_mu_);
    closed = parking_closed_;
    if (!closed) parked_[id].insert(p);
  }
  if (closed) return std::move(p->done)(ErrStopped());
  // etcd's request timeout bounds the wait.
  const bool armed = After(deadline - Clock::now(), [this, p] {
    if (TtlDone d = Unpark(p)) std::move(d)(stopped_.load() ? ErrStopped() : ErrTimeout());
  });
  if (!armed) {
    if (TtlDone d = Unpark(p)) std::move(d)(ErrStopped());
    return;
  }
  // Revoked, demoted or reloaded between the Renew and the parking: that
  // notification came too early to see this renewal.
  if (!mvcc::IsLeaseExpired(lessor_->Renew(id).status())) LeaseRevoked(id);
}

void LeaseService::LeaseRevoked(mvcc::LeaseId id) {
  std::vector<Parked> woken;
  {
    absl::MutexLock lock(&park_mu_);
    auto it = parked_.find(id);
    if (it == parked_.end()) return;
    woken.assign(it->second.begin(), it->second.end());
    parked_.erase(it);
  }
  Wake(std::move(woken));
}

void LeaseService::AllLeasesChanged() {
  std::vector<Parked> woken;
  {
    absl::MutexLock lock(&park_mu_);
    for (auto& [id, ps] : parked_) woken.insert(woken.end(), ps.begin(), ps.end());
    parked_.clear();
  }
  if (!woken.empty()) Wake(std::move(woken));
}

void LeaseService::Wake(std::vector<Parked> parked) {
  // Off the apply / raft thread (a renewal may wait for the apply): one
  // timer task renews them all again. A parked renewal is answered once:
  // its deadline task finds its callback taken.
  auto woken = std::make_shared<std::vector<Parked>>(std::move(parked));
  const bool armed = After(Clock::duration::zero(), [this, woken] {
    for (auto& p : *woken) {
      TtlDone d = Unpark(p);
      if (!d) continue;
      if (stopped_.load()) {
        std::move(d)(ErrStopped());
      } else {
        RenewOrForward(p->id, p->deadline, std::move(d), p->on_park);
      }
    }
  });
  if (armed) return;
  for (auto& p : *woken) {
    if (TtlDone d = Unpark(p)) std::move(d)(ErrStopped());
  }
}

LeaseService::TtlDone LeaseService::Unpark(const Parked& p) {
  absl::MutexLock lock(&park_mu_);
  if (!p->done) return nullptr;
  auto it = parked_.find(p->id);
  if (it != parked_.end()) {
    it->second.erase(p);
    if (it->second.empty()) parked_.erase(it);
  }
  TtlDone d = std::move(p->done);
  p->done = nullptr;
  return d;
}

void LeaseService::CloseParking() {
  std::vector<Parked> all;
  {
    absl::MutexLock lock(&park_mu_);
    parking_closed_ = true;
    for (auto& [id, ps] : parked_) all.insert(all.end(), ps.begin(), ps.end());
    parked_.clear();
  }
  for (auto& p : all) {
    if (TtlDone d = Unpark(p)) std::move(d)(ErrStopped());
  }
}

void LeaseService::Forward(int64_t id, Clock::time_point deadline, TtlDone done,
                           const OnPark& on_park) {
  if (stopped_.load()) return std::move(done)(ErrStopped());
  // Past its deadline (woken late, or after a leader move): answered here,
  // not sent to a leader whose answer would come too late.
  if (Clock::now() >= deadline) return std::move(done)(ErrTimeout());
  Targets targets = LeaderTargets();
  if (targets == nullptr) {
    return RetryLater(id, deadline, std::move(done), ErrNoLeader(), on_park);
  }
  ForwardTo(std::move(targets), 0, id, deadline, std::move(done), on_park);
}

void LeaseService::ForwardTo(Targets targets, size_t i, int64_t id, Clock::time_point deadline,
                             TtlDone done, const OnPark& on_park) {
  const LeaderTarget& t = (*targets)[i];
  forwarder_.Send(t.leader, t.name, t.stub, id, deadline,
                  [this, targets, i, id, deadline, on_park,
                   done = std::move(done)](absl::StatusOr<int64_t> ttl) mutable {
                    if (ttl.ok()) {
                      NoteAnswered((*targets)[i].name);
                      return std::move(done)(*ttl);
                    }
                    if (stopped_.load()) return std::move(done)(ErrStopped());
                    // Failed at its deadline (Sweep): not sent on.
                    if (Clock::now() >= deadline) return std::move(done)(ErrTimeout());
                    // A new leader: its URLs, not the old leader's next one
                    // (whose stream would replace the new leader's).
                    if (LeaderMoved(targets)) {
                      return Forward(id, deadline, std::move(done), on_park);
                    }
                    // The leader may be reachable over another URL it
                    // advertises; after the last one, pause.
                    if (i + 1 < targets->size()) {
                      return ForwardTo(targets, i + 1, id, deadline, std::move(done), on_park);
                    }
                    // etcd's LeaseRenew answers ErrTimeout, not the
                    // forwarding error, when the deadline ends its retries.
                    RetryLater(id, deadline, std::move(done), ErrTimeout(), on_park);
                  });
}

void LeaseService::RetryLater(int64_t id, Clock::time_point deadline, TtlDone done,
                              absl::Status last, const OnPark& on_park) {
  if (stopped_.load() || Clock::now() + opts_.retry_pause >= deadline) {
    return std::move(done)(stopped_.load() ? ErrStopped() : last);
  }
  // On the timer, not asleep on a thread: during an election every
  // keep-alive of every client retries here at once. The task owns `done`
  // until it runs; if the timer is gone it is answered here.
  auto task = std::make_shared<TtlDone>(std::move(done));
  const bool armed = After(opts_.retry_pause, [this, id, deadline, task, on_park] {
    if (stopped_.load()) return std::move(*task)(ErrStopped());
    RenewOrForward(id, deadline, std::move(*task), on_park);
  });
  if (!armed) std::move(*task)(ErrStopped());
}

}  // namespace quorum::server
