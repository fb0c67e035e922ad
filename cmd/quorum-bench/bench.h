// quorum-bench runtime: connections, completion-queue worker threads, async
// unary calls and bidi streams, rate limiting and closed-loop clients.
//
// Threading model: W worker threads, each draining its own CompletionQueue.
// Every logical client (and every stream) is bound to one worker; all of its
// callbacks run on that worker's thread, so per-client state needs no locks.
// 1000 clients are 1000 small state machines spread over W threads, each with
// one RPC outstanding — no thread per client.
//
// Every RPC carries a deadline no later than the run deadline (--max-seconds),
// so a run always ends: when the deadline passes the runtime stops issuing,
// cancels its streams and waits for the outstanding calls to come back.
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cmd/quorum-bench/report.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace qbench {

struct Options {
  std::vector<std::string> endpoints{"127.0.0.1:2379"};
  int conns = 1;
  int clients = 1;
  int64_t total = 10000;
  double rate = 0;            // requests/s over all clients; 0 = unlimited
  bool precise = false;
  double dial_timeout = 10;   // seconds
  bool json = false;
  double max_seconds = 300;   // safety bound for the whole run
  double request_timeout = 30;
  bool target_leader = false;
  int threads = 0;            // completion-queue threads; 0 = min(cores, 4)
  bool progress = true;
  std::string cacert, cert, key;
};

// A completion-queue tag.
class Tag {
 public:
  virtual void Proceed(bool ok) = 0;

 protected:
  ~Tag() = default;
};

struct Worker {
  int index = 0;
  grpc::CompletionQueue cq;
  std::thread thread;
};

// Token bucket with burst 1: successive Take()s are 1/rate apart.
class RateLimiter {
 public:
  explicit RateLimiter(double rate) : interval_(rate > 0 ? 1.0 / rate : 0) {}
  bool limited() const { return interval_ > 0; }
  Clock::time_point Take();

 private:
  double interval_;
  std::mutex mu_;
  Clock::time_point next_{};
};

class StreamBase {
 public:
  virtual ~StreamBase() = default;
  virtual void Cancel() = 0;  // thread-safe
};

// "rpc error: code = Unavailable desc = ..." (the shape etcd's tool prints).
std::string StatusString(const grpc::Status& s);
// Go's binary.PutVarint(k, v) into a key of `size` bytes (rest zero).
std::string VarintKey(int64_t v, int size);
std::string RandomBytes(int n);
// A per-thread random generator.
std::mt19937_64& Rng();

class Bench {
 public:
  explicit Bench(Options o);
  ~Bench();
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  // Dials --conns channels (round-robin over --endpoints, or all to the leader with
  // --target-leader) and starts the worker threads. Starts the run clock.
  bool Connect(std::string* err);

  const Options& opts() const { return opts_; }
  int num_workers() const { return static_cast<int>(workers_.size()); }
  Worker* worker(int i) { return workers_[i % workers_.size()].get(); }
  int num_conns() const { return static_cast<int>(kv_.size()); }
  etcdserverpb::KV::Stub* kv(int conn) { return kv_[conn % kv_.size()].get(); }
  etcdserverpb::Watch::Stub* watch(int conn) { return watch_[conn % watch_.size()].get(); }
  etcdserverpb::Lease::Stub* lease(int conn) { return lease_[conn % lease_.size()].get(); }

  // Runs fn on w's thread at time t (at once if t is not in the future).
  void RunAt(Worker* w, Clock::time_point t, std::function<void()> fn);
  void Post(Worker* w, std::function<void()> fn) { RunAt(w, Clock::now(), std::move(fn)); }

  // Starts a unary call on w; `prep(ctx, cq)` returns the PrepareAsyncX reader.
  // `done(status, response)` runs on w's thread.
  template <class Resp, class Prep>
  void Unary(Worker* w, Prep&& prep, std::function<void(const grpc::Status&, Resp&)> done);

  std::chrono::system_clock::time_point RpcDeadline() const;
  std::chrono::system_clock::time_point StreamDeadline() const;
  Clock::time_point run_deadline() const { return run_deadline_; }

  // Stop issuing new work; cancels streams. Idempotent, thread-safe.
  void Stop(const std::string& reason);
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  std::string stop_reason();
  // Looks at an RPC's status: UNIMPLEMENTED stops the run (the server lacks the service).
  void Note(const grpc::Status& s);
  bool unimplemented() const { return unimplemented_.load(); }
  bool timed_out() const { return timed_out_.load(); }

  // Main thread: waits until done() or the run deadline, drawing progress
  // (progress() of target) on stderr. Returns done().
  bool Wait(const std::function<bool()>& done, const std::function<int64_t()>& progress,
            int64_t target, const std::string& label);

  // Keeps a stream alive until Shutdown (its tags may still be queued).
  template <class S>
  S* Own(std::unique_ptr<S> s) {
    std::lock_guard<std::mutex> l(streams_mu_);
    S* p = s.get();
    streams_.push_back(std::move(s));
    return p;
  }

  // Stops, cancels streams, waits for outstanding operations, stops the worker
  // threads. Returns false if operations were still outstanding at the bound.
  bool Shutdown();

  void AddInflight() { inflight_.fetch_add(1, std::memory_order_relaxed); }
  void DoneInflight() { inflight_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  void WorkerLoop(Worker* w);
  void CancelStreams();

  Options opts_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> kv_;
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> watch_;
  std::vector<std::unique_ptr<etcdserverpb::Lease::Stub>> lease_;
  Clock::time_point run_deadline_{};
  std::chrono::system_clock::time_point run_deadline_sys_{};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> unimplemented_{false};
  std::atomic<bool> timed_out_{false};
  std::atomic<int64_t> inflight_{0};
  std::mutex mu_;
  std::string stop_reason_;
  std::mutex streams_mu_;
  std::vector<std::unique_ptr<StreamBase>> streams_;
  bool shut_down_ = false;
};

// ---- unary calls -----------------------------------------------------------

template <class Resp>
class UnaryCall final : public Tag {
 public:
  grpc::ClientContext ctx;
  Resp resp;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> rpc;
  std::function<void(const grpc::Status&, Resp&)> done;
  Bench* bench = nullptr;

  void Proceed(bool) override {
    Bench* b = bench;
    done(status, resp);
    delete this;
    b->DoneInflight();
  }
};

template <class Resp, class Prep>
void Bench::Unary(Worker* w, Prep&& prep, std::function<void(const grpc::Status&, Resp&)> done) {
  auto* c = new UnaryCall<Resp>;
  c->bench = this;
  c->done = std::move(done);
  c->ctx.set_deadline(RpcDeadline());
  AddInflight();
  c->rpc = prep(&c->ctx, &w->cq);
  c->rpc->StartCall();
  c->rpc->Finish(&c->resp, &c->status, c);
}

// ---- bidi streams ------------------------------------------------------------

// A bidi stream bound to one worker. Send() and the callbacks run on that
// worker's thread; writes are queued (one outstanding write at a time), one
// read is always outstanding once the stream is up.
template <class Req, class Resp>
class BidiStream final : public StreamBase {
 public:
  using Rpc = grpc::ClientAsyncReaderWriter<Req, Resp>;

  BidiStream(Bench* b, Worker* w) : b_(b), w_(w) {}

  std::function<void()> on_start;                      // stream established
  std::function<void(Resp&)> on_read;                  // each response
  std::function<void(const grpc::Status&)> on_done;    // final status

  Worker* worker() const { return w_; }
  bool finished() const { return finished_; }

  // On w's thread. `prep(ctx, cq)` returns PrepareAsyncX(ctx, cq).
  template <class Prep>
  void Start(Prep&& prep) {
    ctx_.set_deadline(b_->StreamDeadline());
    rpc_ = prep(&ctx_, &w_->cq);
    b_->AddInflight();
    rpc_->StartCall(&start_tag_);
  }

  void Send(Req req) {
    wq_.push_back(std::move(req));
    MaybeWrite();
  }

  void Cancel() override { ctx_.TryCancel(); }

 private:
  struct OpTag final : Tag {
    OpTag(BidiStream* s, void (BidiStream::*fn)(bool)) : s(s), fn(fn) {}
    void Proceed(bool ok) override { (s->*fn)(ok); }
    BidiStream* s;
    void (BidiStream::*fn)(bool);
  };

  void OnStart(bool ok) {
    if (!ok) {
      DoFinish();
    } else {
      started_ = true;
      if (on_start) on_start();
      b_->AddInflight();
      rpc_->Read(&resp_, &read_tag_);
      MaybeWrite();
    }
    b_->DoneInflight();
  }
  void MaybeWrite() {
    if (!started_ || writing_ || closed_ || wq_.empty()) return;
    writing_ = true;
    b_->AddInflight();
    rpc_->Write(wq_.front(), &write_tag_);  // serialized at once
    wq_.pop_front();
  }
  void OnWrite(bool ok) {
    writing_ = false;
    if (ok) MaybeWrite();
    b_->DoneInflight();
  }
  void OnRead(bool ok) {
    if (!ok) {
      DoFinish();
    } else {
      if (on_read) on_read(resp_);
      b_->AddInflight();
      rpc_->Read(&resp_, &read_tag_);
    }
    b_->DoneInflight();
  }
  void DoFinish() {
    if (closed_) return;
    closed_ = true;
    b_->AddInflight();
    rpc_->Finish(&status_, &finish_tag_);
  }
  void OnFinish(bool) {
    finished_ = true;
    b_->Note(status_);
    if (on_done) on_done(status_);
    b_->DoneInflight();
  }

  Bench* b_;
  Worker* w_;
  grpc::ClientContext ctx_;
  std::unique_ptr<Rpc> rpc_;
  Resp resp_;
  grpc::Status status_;
  std::deque<Req> wq_;
  bool started_ = false, writing_ = false, closed_ = false, finished_ = false;
  OpTag start_tag_{this, &BidiStream::OnStart};
  OpTag read_tag_{this, &BidiStream::OnRead};
  OpTag write_tag_{this, &BidiStream::OnWrite};
  OpTag finish_tag_{this, &BidiStream::OnFinish};
};

// ---- closed-loop clients -------------------------------------------------------

// Each of `clients` clients (client c on worker c) takes tickets 0..total-1 from a
// shared counter and issues one request per ticket, waiting for its completion
// before the next, paced by `limiter` when limited. `issue(client, ticket,
// finish)` runs on the client's worker and must call finish(status) exactly once,
// on that worker's thread. Latency (issue -> finish) and errors go to `report`.
using Finish = std::function<void(const grpc::Status&)>;
using Issue = std::function<void(int client, int64_t ticket, Finish finish)>;

// Runs the loop to completion (or the run deadline); returns the number of finished requests.
int64_t ClosedLoop(Bench& b, Report& report, int clients, int64_t total, RateLimiter* limiter,
                   Issue issue, const std::string& label);

}  // namespace qbench
