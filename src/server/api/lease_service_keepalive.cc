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
    svc_->KeepAliveOnce(id, [this, id, header = std::move(header)](
                                absl::StatusOr<int64_t> ttl) mutable {
      Reply(id, std::move(header), std::move(ttl));
    });
    bool read = false;
    {
      absl::MutexLock lock(&mu_);
      // A client that sends without reading its answers: stop reading until
      // they drain (OnWriteDone), so the queue stays bounded. (The hold is
      // not an answer: - 1.)
      if (failed_) {
      } else if (queue_.size() + inflight_ - 1 >= kMaxPending) {
        read_paused_ = true;
      } else {
        read = true;
      }
    }
    if (read) StartRead(&req_);
    Update([&] {
      --inflight_;
      if (!read && !read_paused_) reads_done_ = true;
    });
  }

  void OnWriteDone(bool ok) override {
    bool resume = false;
    Update([&] {
      writing_ = false;
      if (!ok) Fail(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      if (read_paused_ && !failed_ && queue_.size() + inflight_ < kMaxPending / 2) {
        read_paused_ = false;
        resume = true;
        ++inflight_;  // holds Finish off until the read has started
      }
    });
    if (!resume) return;
    StartRead(&req_);
    Update([&] { --inflight_; });
  }

  void OnDone() override { delete this; }

 private:
  void Reply(int64_t id, etcdserverpb::ResponseHeader header, absl::StatusOr<int64_t> ttl) {
    Update([&] {
      --inflight_;
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
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  // Answers queued or being renewed past which requests are not read.
  static constexpr size_t kMaxPending = 1024;
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

void LeaseService::KeepAliveOnce(int64_t id, TtlDone done) {
  RenewOrForward(id, Clock::now() + opts_.forward_timeout, std::move(done));
}

void LeaseService::RenewOrForward(int64_t id, Clock::time_point deadline, TtlDone done) {
  auto r = lessor_->Renew(id);
  if (r.ok()) return std::move(done)(*r);
  if (mvcc::IsLeaseExpired(r.status())) return AwaitRevoke(id, deadline, std::move(done));
  if (absl::IsNotFound(r.status())) {
    // The grant may be committed but not applied here yet: a client granted
    // by a follower that applied first, renewing at once, would be told its
    // new lease is gone. As etcd's leader does (waitAppliedIndex), apply
    // everything known committed before answering "not found". A local
    // wait: a leader without quorum still answers an unknown lease at once.
    // (Also after a revoke: "not found" goes out once its deletes are applied.)
    deps_->proposer->WaitApplied(
        [this, id, deadline, done = std::move(done)](absl::Status s) mutable {
          if (!s.ok()) return std::move(done)(s);
          auto again = lessor_->Renew(id);
          if (again.ok()) return std::move(done)(*again);
          if (absl::IsNotFound(again.status())) return std::move(done)(0);
          if (mvcc::IsLeaseExpired(again.status())) {
            return AwaitRevoke(id, deadline, std::move(done));
          }
          // Leadership moved meanwhile: the new leader's lessor answers.
          if (mvcc::IsNotPrimary(again.status())) return Forward(id, deadline, std::move(done));
          std::move(done)(again.status());
        });
    return;
  }
  Forward(id, deadline, std::move(done));
}

void LeaseService::AwaitRevoke(int64_t id, Clock::time_point deadline, TtlDone done) {
  // Renewing again every retry pause ends the wait as soon as either holds
  // (not found -> TTL 0 once applied; not primary -> forwarded), without a
  // thread or a lessor callback per waiting renewal. If neither happens by
  // the deadline: etcd's request timeout.
  RetryLater(id, deadline, std::move(done), ErrTimeout());
}

void LeaseService::Forward(int64_t id, Clock::time_point deadline, TtlDone done) {
  if (stopped_.load()) return std::move(done)(ErrStopped());
  Targets targets = LeaderTargets();
  if (targets == nullptr) return RetryLater(id, deadline, std::move(done), ErrTimeout());
  ForwardTo(std::move(targets), 0, id, deadline, std::move(done));
}

void LeaseService::ForwardTo(Targets targets, size_t i, int64_t id, Clock::time_point deadline,
                             TtlDone done) {
  const LeaderTarget& t = (*targets)[i];
  forwarder_.Send(t.name, t.stub, id, deadline,
                  [this, targets, i, id, deadline,
                   done = std::move(done)](absl::StatusOr<int64_t> ttl) mutable {
                    if (ttl.ok()) {
                      NoteAnswered((*targets)[i].name);
                      return std::move(done)(*ttl);
                    }
                    // The leader may be reachable over another URL it
                    // advertises; after the last one, pause.
                    if (i + 1 < targets->size() && !stopped_.load()) {
                      return ForwardTo(targets, i + 1, id, deadline, std::move(done));
                    }
                    RetryLater(id, deadline, std::move(done), ttl.status());
                  });
}

void LeaseService::RetryLater(int64_t id, Clock::time_point deadline, TtlDone done,
                              absl::Status last) {
  if (stopped_.load() || Clock::now() + opts_.retry_pause >= deadline) {
    return std::move(done)(stopped_.load() ? ErrStopped() : last);
  }
  // On the timer, not asleep on a thread: during an election every
  // keep-alive of every client retries here at once. The task owns `done`
  // until it runs; if the timer is gone it is answered here.
  auto task = std::make_shared<TtlDone>(std::move(done));
  const bool armed = After(opts_.retry_pause, [this, id, deadline, task] {
    if (stopped_.load()) return std::move(*task)(ErrStopped());
    RenewOrForward(id, deadline, std::move(*task));
  });
  if (!armed) std::move(*task)(ErrStopped());
}

}  // namespace quorum::server
