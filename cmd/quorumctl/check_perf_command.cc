// `check perf`: etcdctl 3.4's check. For 60 s, `clients` workers put random
// 256-byte (base64) keys with 1 KiB values under --prefix, together limited to
// `limit` puts/s; then the prefix is deleted (optionally compacted and
// defragmented) and the run passes when throughput > 90% of the limit, the
// slowest put took <= 500 ms and the latency stddev <= 100 ms. Same loads,
// flags, output lines and exit codes as etcdctl. QUORUMCTL_CHECK_PERF_SECONDS
// shortens the run (for tests; etcdctl always runs 60 s).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/kv.h"
#include "client/maintenance.h"
#include "cmd/quorumctl/check_perf.h"
#include "cmd/quorumctl/ctl.h"

namespace quorum::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// Go's time.Duration.String() of whole seconds ("5s", "1m0s", "1h0m5s").
std::string GoSeconds(int64_t s) {
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m", s % 60, "s");
  return absl::StrCat(s / 3600, "h", s % 3600 / 60, "m", s % 60, "s");
}

// The line etcdctl's progress bar (cheggaaa/pb v1, no terminal width, so no
// bar) rewrites on stdout every 200 ms: " 7 / 60   11.67% 00m53s". `current`
// counts whole seconds; the time left is pb's estimate: the time from the
// start to the last change of the count (`changed_at`) per unit counted,
// times the units left, less the time since that change -- so it counts down
// within each second (59, 58, 58, 58, 58, 58, 57, ...) -- truncated to whole
// seconds and omitted when under 1 s. The last line shows the time taken.
std::string ProgressLine(int current, int total, double elapsed, double changed_at, bool done) {
  std::string line =
      absl::StrFormat("\r %d / %d  %6.2f%%", current, total, 100.0 * current / total);
  if (done) return absl::StrCat(line, " ", GoSeconds(static_cast<int64_t>(elapsed)), "\n");
  if (current > 0) {
    const double left = (total - current) * (changed_at / current) - (elapsed - changed_at);
    const int64_t whole = static_cast<int64_t>(left);
    if (whole > 0) {
      absl::StrAppend(&line, whole >= 3600 ? absl::StrFormat(" %dh%02dm%02ds", whole / 3600,
                                                             whole % 3600 / 60, whole % 60)
                                           : absl::StrFormat(" %02dm%02ds", whole / 60, whole % 60));
    }
  }
  return line;
}

// Prints ProgressLine on stdout (as etcdctl does, terminal or not) until
// `seconds` have passed since `start`.
void ShowProgress(Clock::time_point start, int seconds) {
  int shown = 0;
  double changed_at = 0;  // when the count last changed, as the bar saw it
  for (int tick = 0;; ++tick) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const int current = std::min(seconds, static_cast<int>(elapsed));
    if (current != shown) {
      shown = current;
      changed_at = elapsed;
    }
    const bool done = current >= seconds;
    std::fputs(ProgressLine(current, seconds, elapsed, changed_at, done).c_str(), stdout);
    std::fflush(stdout);
    if (done) return;
    std::this_thread::sleep_until(
        std::min(start + std::chrono::milliseconds(200) * (tick + 1),
                 start + std::chrono::seconds(seconds)));
  }
}

struct Load {
  int limit, clients;
};

const Load* FindLoad(const std::string& name) {
  static const std::map<std::string, Load> kLoads = {
      {"s", {150, 50}}, {"m", {1000, 200}}, {"l", {8000, 500}}, {"xl", {15000, 1000}}};
  static const std::map<std::string, std::string> kAlias = {
      {"small", "s"}, {"medium", "m"}, {"large", "l"}, {"xLarge", "xl"},
      {"s", "s"},     {"m", "m"},      {"l", "l"},     {"xl", "xl"}};
  auto a = kAlias.find(name);
  if (a == kAlias.end()) return nullptr;
  return &kLoads.at(a->second);
}

// golang.org/x/time/rate with burst 1: one start every 1/limit seconds.
class Limiter {
 public:
  explicit Limiter(int per_second)
      : interval_(std::chrono::nanoseconds(1000000000LL / per_second)), next_(Clock::now()) {}
  Clock::time_point Reserve() {
    absl::MutexLock l(&mu_);
    const auto at = std::max(next_, Clock::now());
    next_ = at + interval_;
    return at;
  }

 private:
  absl::Mutex mu_;
  Clock::duration interval_;
  Clock::time_point next_ ABSL_GUARDED_BY(mu_);
};

struct Results {
  absl::Mutex mu;
  std::vector<double> latencies ABSL_GUARDED_BY(mu);  // seconds
  std::map<std::string, int> errors ABSL_GUARDED_BY(mu);
};

void RunCheckPerf(Context& ctx, const FlagValues& f, const std::vector<std::string>&) {
  const Load* load = FindLoad(f.String("load"));
  if (load == nullptr) {
    ExitWithError(kExitBadFeature, "unknown load option " + f.String("load"));
  }
  const std::string prefix = f.String("prefix");
  int seconds = 60;
  if (const char* s = std::getenv("QUORUMCTL_CHECK_PERF_SECONDS"); s != nullptr && std::atoi(s) > 0) {
    seconds = std::atoi(s);
  }
  client::Client& cli = ctx.Client();
  client::KvClient kv(cli);
  client::GetOptions count;
  count.prefix = true;
  count.count_only = true;
  auto existing = kv.Get(prefix, count);
  if (!existing.ok()) ExitWithError(kExitError, ErrorText(existing.status()));
  if (existing->count() > 0) {
    ExitWithError(kExitInvalidInput, absl::StrCat("prefix \"", prefix,
                                                  "\" has keys. Delete with etcdctl del --prefix ",
                                                  prefix, " first"));
  }

  // A few connections carry every worker's calls (gRPC multiplexes them).
  std::vector<std::unique_ptr<client::Client>> conns;
  for (int i = 0; i < std::min(load->clients, 8); ++i) conns.push_back(ctx.MustClient(ctx.Endpoints()));
  Limiter limiter(load->limit);
  Results results;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  const std::string value(1024, '\0');
  std::vector<std::thread> workers;
  for (int w = 0; w < load->clients; ++w) {
    workers.emplace_back([&, w] {
      client::KvClient wkv(*conns[w % conns.size()]);
      std::mt19937_64 rng(std::random_device{}() + w);
      std::string raw(256, '\0');
      for (;;) {
        const auto at = limiter.Reserve();
        if (at >= end) return;
        std::this_thread::sleep_until(at);
        for (auto& c : raw) c = static_cast<char>(rng());
        std::string key = absl::Base64Escape(raw);
        while (!key.empty() && key.back() == '=') key.pop_back();  // Go's RawStdEncoding
        const auto t0 = Clock::now();
        auto r = wkv.Put(prefix + key, value);
        const double took = std::chrono::duration<double>(Clock::now() - t0).count();
        absl::MutexLock l(&results.mu);
        if (r.ok()) {
          results.latencies.push_back(took);
        } else {
          ++results.errors[ErrorText(r.status())];
        }
      }
    });
  }
  ShowProgress(start, seconds);
  for (auto& t : workers) t.join();
  const double total = std::chrono::duration<double>(Clock::now() - start).count();

  client::DeleteOptions del;
  del.prefix = true;
  auto dresp = kv.Delete(prefix, del);
  if (!dresp.ok()) ExitWithError(kExitError, ErrorText(dresp.status()));
  if (f.Bool("auto-compact")) {
    auto c = kv.Compact(dresp->header().revision());
    if (!c.ok()) ExitWithError(kExitError, ErrorText(c.status()));
  }
  if (f.Bool("auto-defrag")) {
    for (const auto& ep : ctx.Endpoints()) {
      auto d = client::MaintenanceClient(cli).Defragment(ep);
      if (!d.ok()) {
        std::fprintf(stderr, "Failed to defragment etcd member[%s] (%s)\n", ep.c_str(),
                     ErrorText(d.status()).c_str());
      } else {
        std::printf("Finished defragmenting etcd member[%s]\n", ep.c_str());
      }
    }
  }

  absl::MutexLock l(&results.mu);
  const auto& lat = results.latencies;
  const double rps = total > 0 ? static_cast<double>(lat.size()) / total : 0;
  double slowest = 0, mean = 0, var = 0;
  for (double x : lat) {
    slowest = std::max(slowest, x);
    mean += x;
  }
  if (!lat.empty()) mean /= static_cast<double>(lat.size());
  for (double x : lat) var += (x - mean) * (x - mean);
  const double stddev = lat.empty() ? 0 : std::sqrt(var / static_cast<double>(lat.size()));

  bool ok = true;
  if (!results.errors.empty()) {
    std::printf("FAIL: too many errors\n");
    for (const auto& [e, n] : results.errors) std::printf("FAIL: ERROR(%s) -> %d\n", e.c_str(), n);
    ok = false;
  }
  if (rps / load->limit <= 0.9) {
    std::printf("FAIL: Throughput too low: %d writes/s\n", static_cast<int>(rps) + 1);
    ok = false;
  } else {
    std::printf("PASS: Throughput is %d writes/s\n", static_cast<int>(rps) + 1);
  }
  if (slowest > 0.5) {
    std::printf("Slowest request took too long: %fs\n", slowest);
    ok = false;
  } else {
    std::printf("PASS: Slowest request took %fs\n", slowest);
  }
  if (stddev > 0.1) {
    std::printf("Stddev too high: %fs\n", stddev);
    ok = false;
  } else {
    std::printf("PASS: Stddev is %fs\n", stddev);
  }
  std::printf(ok ? "PASS\n" : "FAIL\n");
  std::fflush(stdout);
  if (!ok) std::exit(kExitError);
}

}  // namespace

CommandSpec CheckPerfCommand() {
  return {"check perf",
          "Check the performance of the etcd cluster",
          "check perf [options]",
          "",
          {{"load", 0, FlagKind::kString, "s",
            "The performance check's workload model. Accepted workloads: s(small), m(medium), "
            "l(large), xl(xLarge)"},
           {"prefix", 0, FlagKind::kString, "/etcdctl-check-perf/",
            "The prefix for writing the performance check's keys."},
           {"auto-compact", 0, FlagKind::kBool, "false",
            "Compact storage with last revision after test is finished."},
           {"auto-defrag", 0, FlagKind::kBool, "false",
            "Defragment storage after test is finished."},
           {"help", 'h', FlagKind::kBool, "false", "help for perf"}},
          RunCheckPerf};
}

}  // namespace quorum::ctl
