#include "cmd/quorum-bench/bench.h"

#include <grpc/support/time.h>
#include <grpcpp/security/credentials.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace qbench {

namespace {

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "Canceled";
    case grpc::StatusCode::UNKNOWN: return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT: return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND: return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS: return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED: return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FailedPrecondition";
    case grpc::StatusCode::ABORTED: return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE: return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED: return "Unimplemented";
    case grpc::StatusCode::INTERNAL: return "Internal";
    case grpc::StatusCode::UNAVAILABLE: return "Unavailable";
    case grpc::StatusCode::DATA_LOSS: return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED: return "Unauthenticated";
    default: return "Code(?)";
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "http://host:port" / "https://host:port" / "host:port" -> "host:port".
std::string Target(const std::string& ep, bool* tls) {
  std::string s = ep;
  *tls = false;
  if (s.rfind("https://", 0) == 0) {
    *tls = true;
    s = s.substr(8);
  } else if (s.rfind("http://", 0) == 0) {
    s = s.substr(7);
  } else if (s.rfind("unix://", 0) == 0 || s.rfind("unix:", 0) == 0) {
    return s;
  }
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

gpr_timespec ToGpr(Clock::time_point t) {
  auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(t - Clock::now()).count();
  if (d < 0) d = 0;
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(d, GPR_TIMESPAN));
}

class AlarmTask final : public Tag {
 public:
  AlarmTask(Bench* b, std::function<void()> fn) : b_(b), fn_(std::move(fn)) {}
  grpc::Alarm alarm;
  void Proceed(bool) override {
    Bench* b = b_;
    fn_();
    delete this;
    b->DoneInflight();
  }

 private:
  Bench* b_;
  std::function<void()> fn_;
};

}  // namespace

std::string StatusString(const grpc::Status& s) {
  return std::string("rpc error: code = ") + CodeName(s.error_code()) +
         " desc = " + s.error_message();
}

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

std::string VarintKey(int64_t v, int size) {
  std::string k(size > 0 ? size : 0, '\0');
  uint64_t ux = static_cast<uint64_t>(v) << 1;  // zigzag, as Go's PutVarint
  if (v < 0) ux = ~ux;
  int i = 0;
  while (ux >= 0x80) {
    if (i < size) k[i] = static_cast<char>(static_cast<uint8_t>(ux) | 0x80);
    ux >>= 7;
    ++i;
  }
  if (i < size) k[i] = static_cast<char>(ux);
  return k;
}

std::string RandomBytes(int n) {
  std::string s(n > 0 ? n : 0, '\0');
  auto& r = Rng();
  for (auto& c : s) c = static_cast<char>(r());
  return s;
}

Clock::time_point RateLimiter::Take() {
  auto now = Clock::now();
  if (interval_ <= 0) return now;
  std::lock_guard<std::mutex> l(mu_);
  auto t = std::max(now, next_);
  next_ = t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_));
  return t;
}

Bench::Bench(Options o) : opts_(std::move(o)) {
  if (opts_.conns < 1) opts_.conns = 1;
  if (opts_.clients < 1) opts_.clients = 1;
  int n = opts_.threads;
  if (n <= 0) n = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    workers_.push_back(std::move(w));
  }
  run_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(opts_.max_seconds));
  run_deadline_sys_ = std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          std::chrono::duration<double>(opts_.max_seconds));
}

Bench::~Bench() {
  if (!shut_down_) Shutdown();
}

bool Bench::Connect(std::string* err) {
  if (opts_.endpoints.empty()) {
    *err = "no endpoints";
    return false;
  }
  std::shared_ptr<grpc::ChannelCredentials> tls_creds;
  auto creds_for = [&](bool tls) -> std::shared_ptr<grpc::ChannelCredentials> {
    if (!tls && opts_.cacert.empty()) return grpc::InsecureChannelCredentials();
    if (!tls_creds) {
      grpc::SslCredentialsOptions so;
      if (!opts_.cacert.empty()) so.pem_root_certs = ReadFile(opts_.cacert);
      if (!opts_.cert.empty()) so.pem_cert_chain = ReadFile(opts_.cert);
      if (!opts_.key.empty()) so.pem_private_key = ReadFile(opts_.key);
      tls_creds = grpc::SslCredentials(so);
    }
    return tls_creds;
  };
  auto dial = [&](const std::string& ep, int id) {
    bool tls = false;
    std::string target = Target(ep, &tls);
    grpc::ChannelArguments args;
    // One TCP connection per channel: no sharing through the global subchannel pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("quorum_bench.conn_id", id);
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    return grpc::CreateCustomChannel(target, creds_for(tls), args);
  };
  auto dial_deadline = [&] {
    return std::chrono::system_clock::now() +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(
               std::chrono::duration<double>(opts_.dial_timeout));
  };

  std::vector<std::string> eps = opts_.endpoints;
  if (opts_.target_leader) {
    std::string leader_ep;
    for (size_t i = 0; i < eps.size() && leader_ep.empty(); ++i) {
      auto ch = dial(eps[i], -1 - static_cast<int>(i));
      auto stub = etcdserverpb::Maintenance::NewStub(ch);
      grpc::ClientContext ctx;
      ctx.set_deadline(dial_deadline());
      etcdserverpb::StatusResponse resp;
      auto st = stub->Status(&ctx, etcdserverpb::StatusRequest(), &resp);
      if (st.ok() && resp.leader() != 0 && resp.leader() == resp.header().member_id()) {
        leader_ep = eps[i];
      }
    }
    if (leader_ep.empty()) {
      *err = "--target-leader: no endpoint reports itself as the leader";
      return false;
    }
    eps = {leader_ep};
  }

  for (int i = 0; i < opts_.conns; ++i) {
    const std::string& ep = eps[i % eps.size()];
    auto ch = dial(ep, i);
    if (!ch->WaitForConnected(dial_deadline())) {
      *err = "cannot connect to " + ep + " within --dial-timeout";
      return false;
    }
    kv_.push_back(etcdserverpb::KV::NewStub(ch));
    watch_.push_back(etcdserverpb::Watch::NewStub(ch));
    lease_.push_back(etcdserverpb::Lease::NewStub(ch));
    channels_.push_back(std::move(ch));
  }
  for (auto& w : workers_) {
    Worker* wp = w.get();
    w->thread = std::thread([this, wp] { WorkerLoop(wp); });
  }
  return true;
}

void Bench::WorkerLoop(Worker* w) {
  void* tag = nullptr;
  bool ok = false;
  while (w->cq.Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
}

void Bench::RunAt(Worker* w, Clock::time_point t, std::function<void()> fn) {
  auto* task = new AlarmTask(this, std::move(fn));
  AddInflight();
  task->alarm.Set(&w->cq, ToGpr(t), task);
}

std::chrono::system_clock::time_point Bench::RpcDeadline() const {
  auto d = std::chrono::system_clock::now() +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(
               std::chrono::duration<double>(opts_.request_timeout));
  return std::min(d, run_deadline_sys_ + std::chrono::seconds(1));
}

std::chrono::system_clock::time_point Bench::StreamDeadline() const {
  return run_deadline_sys_ + std::chrono::seconds(1);
}

void Bench::Stop(const std::string& reason) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_reason_.empty()) stop_reason_ = reason;
  }
  stopping_.store(true);
  CancelStreams();
}

std::string Bench::stop_reason() {
  std::lock_guard<std::mutex> l(mu_);
  return stop_reason_;
}

void Bench::Note(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED && !unimplemented_.exchange(true)) {
    Stop("the server does not implement this API (" + StatusString(s) + ")");
  }
}

void Bench::CancelStreams() {
  std::lock_guard<std::mutex> l(streams_mu_);
  for (auto& s : streams_) s->Cancel();
}

bool Bench::Wait(const std::function<bool()>& done, const std::function<int64_t()>& progress,
                 int64_t target, const std::string& label) {
  const bool tty = isatty(STDERR_FILENO);
  const auto every = tty ? std::chrono::milliseconds(250) : std::chrono::milliseconds(5000);
  auto start = Clock::now();
  auto last_print = start;
  bool printed = false;
  auto draw = [&](bool final) {
    if (!opts_.progress) return;
    int64_t p = progress ? progress() : 0;
    double frac = target > 0 ? std::min(1.0, static_cast<double>(p) / target) : 0;
    double el = std::chrono::duration<double>(Clock::now() - start).count();
    if (tty) {
      constexpr int kWidth = 40;
      int fill = static_cast<int>(frac * kWidth);
      std::string bar(fill, '=');
      if (fill < kWidth) bar += '>' + std::string(kWidth - fill - 1, ' ');
      std::fprintf(stderr, "\r%s %lld / %lld [%s] %6.2f%% %.0fs", label.c_str(),
                   static_cast<long long>(p), static_cast<long long>(target), bar.c_str(),
                   frac * 100, el);
      if (final) std::fputc('\n', stderr);
    } else {
      std::fprintf(stderr, "%s %lld / %lld (%.1f%%) %.1fs\n", label.c_str(),
                   static_cast<long long>(p), static_cast<long long>(target), frac * 100, el);
    }
    std::fflush(stderr);
    printed = true;
  };
  while (!done()) {
    auto now = Clock::now();
    if (now >= run_deadline_) {
      timed_out_.store(true);
      Stop("--max-seconds reached");
      break;
    }
    if (stopping()) break;
    if (now - last_print >= every) {
      draw(false);
      last_print = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 20 : 50));
  }
  if (printed || tty) draw(true);
  return done();
}

bool Bench::Shutdown() {
  if (shut_down_) return true;
  shut_down_ = true;
  stopping_.store(true);
  CancelStreams();
  bool drained = true;
  if (!workers_.empty() && workers_[0]->thread.joinable()) {
    // Every RPC has a deadline at most ~1 s past the run deadline.
    auto bound = std::max(Clock::now(), run_deadline_) + std::chrono::seconds(5);
    while (inflight_.load() > 0) {
      if (Clock::now() > bound) {
        drained = false;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!drained) return false;  // leave the threads; the caller exits the process
    for (auto& w : workers_) w->cq.Shutdown();
    for (auto& w : workers_) w->thread.join();
  } else {
    for (auto& w : workers_) {
      w->cq.Shutdown();
      void* tag;
      bool ok;
      while (w->cq.Next(&tag, &ok)) {
      }
    }
  }
  std::lock_guard<std::mutex> l(streams_mu_);
  streams_.clear();
  return drained;
}

namespace {

struct LoopState {
  Bench* b;
  Report* report;
  RateLimiter* limiter;
  Issue issue;
  int64_t total;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> completed{0};
  std::atomic<int> active{0};
};

// One step of client c: take a ticket and issue it (or retire the client). Touches
// nothing of `s` after retiring, so `s` may be freed once every client retired.
void LoopStep(LoopState* s, int c) {
  Bench* b = s->b;
  Worker* w = b->worker(c);
  if (b->stopping()) {
    s->active.fetch_sub(1);
    return;
  }
  int64_t ticket = s->next.fetch_add(1);
  if (ticket >= s->total) {
    s->active.fetch_sub(1);
    return;
  }
  auto go = [s, c, ticket, w] {
    if (s->b->stopping()) {
      s->active.fetch_sub(1);
      return;
    }
    auto start = Clock::now();
    s->issue(c, ticket, [s, c, w, start](const grpc::Status& status) {
      auto end = Clock::now();
      if (status.ok()) {
        s->report->Add(w->index, std::chrono::duration<double>(end - start).count(), end);
      } else {
        s->report->AddError(w->index, StatusString(status), end);
        s->b->Note(status);
      }
      s->completed.fetch_add(1, std::memory_order_relaxed);
      LoopStep(s, c);
    });
  };
  if (s->limiter) {
    auto when = s->limiter->Take();
    if (when > Clock::now() + std::chrono::microseconds(50)) {
      b->RunAt(w, when, std::move(go));
      return;
    }
  }
  go();
}

}  // namespace

int64_t ClosedLoop(Bench& b, Report& report, int clients, int64_t total, RateLimiter* limiter,
                   Issue issue, const std::string& label) {
  // Freed at the end unless clients are still running past every bound (then the
  // process exits without tearing down; see main).
  auto* s = new LoopState;
  s->b = &b;
  s->report = &report;
  s->limiter = limiter && limiter->limited() ? limiter : nullptr;
  s->issue = std::move(issue);
  s->total = total;

  report.SetStart(Clock::now());
  s->active.store(clients);
  for (int c = 0; c < clients; ++c) {
    b.Post(b.worker(c), [s, c] { LoopStep(s, c); });
  }
  b.Wait([s] { return s->active.load() == 0; }, [s] { return s->completed.load(); }, total, label);
  // After a stop (deadline, unimplemented), wait for the clients' last calls.
  auto bound = b.run_deadline() + std::chrono::seconds(3);
  while (s->active.load() > 0 && Clock::now() < bound) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int64_t completed = s->completed.load();
  if (s->active.load() == 0) delete s;
  return completed;
}

}  // namespace qbench
