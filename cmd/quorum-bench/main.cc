// quorum-bench: a load generator for etcd-v3-compatible servers (Quorum, etcd),
// with the sub-commands and flags of etcd's tools/benchmark:
//
//   quorum-bench [global flags] put|range|txn-put|txn-mixed|watch|watch-latency|
//                lease-keepalive|stm [flags]
//
// It speaks the plain etcd v3 gRPC API. Every run is bounded by its request
// count (--total, --put-total) and by --max-seconds. Progress goes to stderr; the
// summary (or one JSON object with --json) to stdout.
//
// Exit status: 0 ok, 1 error (flags, connection), 2 stopped by --max-seconds,
// 3 the server does not implement the API the workload needs.
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "cmd/quorum-bench/bench.h"
#include "cmd/quorum-bench/workloads.h"

namespace qbench {
namespace {

// Go-style durations ("300ms", "2s", "1m30s", "1.5h") or plain seconds ("2.5").
std::optional<double> ParseDuration(const std::string& in) {
  if (in.empty()) return std::nullopt;
  char* end = nullptr;
  double plain = std::strtod(in.c_str(), &end);
  if (end && *end == '\0') return plain;
  double total = 0;
  size_t i = 0;
  while (i < in.size()) {
    size_t j = i;
    while (j < in.size() && (std::isdigit(static_cast<unsigned char>(in[j])) || in[j] == '.')) ++j;
    if (j == i) return std::nullopt;
    double v = std::strtod(in.substr(i, j - i).c_str(), nullptr);
    size_t k = j;
    while (k < in.size() && std::isalpha(static_cast<unsigned char>(in[k]))) ++k;
    std::string unit = in.substr(j, k - j);
    double mul;
    if (unit == "ns") mul = 1e-9;
    else if (unit == "us" || unit == "\xc2\xb5s") mul = 1e-6;
    else if (unit == "ms") mul = 1e-3;
    else if (unit == "s") mul = 1;
    else if (unit == "m") mul = 60;
    else if (unit == "h") mul = 3600;
    else return std::nullopt;
    total += v * mul;
    i = k;
  }
  return total;
}

std::string StatusName(const Bench& b, bool connected) {
  if (!connected) return "error";
  if (b.unimplemented()) return "unimplemented";
  if (b.timed_out()) return "timeout";
  return "ok";
}

}  // namespace
}  // namespace qbench

int main(int argc, char** argv) {
  using namespace qbench;
  // Debian's absl checks lock order on every Mutex acquisition and release
  // under one global lock (gRPC's own mutexes included): about 5 % of the
  // generator's CPU, taken from the servers it shares the cores with.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Options opt;
  std::string dial_timeout = "10s", request_timeout = "30s";
  bool no_progress = false;

  CLI::App app{"quorum-bench: a benchmark tool for etcd-v3-compatible servers (Quorum, etcd)"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the sub-command
  app.add_option("--endpoints", opt.endpoints, "gRPC endpoints (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--conns", opt.conns, "Total number of gRPC connections")->capture_default_str();
  app.add_option("--clients", opt.clients, "Total number of gRPC clients")->capture_default_str();
  app.add_option("--total", opt.total, "Total number of requests")->capture_default_str();
  app.add_option("--rate", opt.rate, "Maximum requests per second over all clients (0 is no limit)")
      ->capture_default_str();
  app.add_flag("--precise", opt.precise, "Use full floating point precision");
  app.add_option("--dial-timeout", dial_timeout, "Dial timeout (e.g. 5s, 500ms)")->capture_default_str();
  app.add_option("--request-timeout", request_timeout, "Per-request deadline")->capture_default_str();
  app.add_flag("--json", opt.json, "Print one JSON object instead of the text summary");
  app.add_option("--max-seconds", opt.max_seconds, "Safety bound: stop the run after this many seconds")
      ->capture_default_str();
  app.add_flag("--target-leader", opt.target_leader, "Send all requests to the leader");
  app.add_option("--threads", opt.threads, "Completion-queue threads (0 = min(cores, 4))")
      ->capture_default_str();
  app.add_option("--cacert", opt.cacert, "CA bundle to verify servers (TLS)");
  app.add_option("--cert", opt.cert, "Client certificate (TLS)");
  app.add_option("--key", opt.key, "Client key (TLS)");
  app.add_flag("--no-progress", no_progress, "No progress on stderr");

  PutOptions put;
  auto* put_cmd = app.add_subcommand("put", "Benchmark put");
  std::string compact_interval = "0";
  put_cmd->add_option("--key-size", put.key_size, "Key size of put request")->capture_default_str();
  put_cmd->add_option("--val-size", put.val_size, "Value size of put request")->capture_default_str();
  put_cmd->add_option("--key-space-size", put.key_space, "Maximum possible keys")->capture_default_str();
  put_cmd->add_flag("--sequential-keys", put.sequential, "Use sequential keys");
  put_cmd->add_option("--compact-interval", compact_interval,
                      "Interval to compact database (do not compact if 0)")
      ->capture_default_str();
  put_cmd->add_option("--compact-index-delta", put.compact_delta, "Delta between current revision and compact revision")
      ->capture_default_str();

  RangeOptions range;
  auto* range_cmd = app.add_subcommand("range", "Benchmark range");
  range_cmd->add_option("key", range.key, "Key to range over")->required();
  range_cmd->add_option("end", range.end, "Range end (exclusive)");
  range_cmd->add_option("--consistency", range.consistency, "Linearizable(l) or Serializable(s)")
      ->check(CLI::IsMember({"l", "s"}))
      ->capture_default_str();
  range_cmd->add_option("--limit", range.limit, "Maximum number of results (0 is no limit)")
      ->capture_default_str();
  range_cmd->add_flag("--count-only", range.count_only, "Only returns the count of keys");

  TxnPutOptions txnput;
  auto* txnput_cmd = app.add_subcommand("txn-put", "Benchmark txn-put");
  txnput_cmd->add_option("--key-size", txnput.key_size, "Key size of txn put")->capture_default_str();
  txnput_cmd->add_option("--val-size", txnput.val_size, "Value size of txn put")->capture_default_str();
  txnput_cmd->add_option("--txn-ops", txnput.ops, "Number of puts per txn")->capture_default_str();
  txnput_cmd->add_option("--key-space-size", txnput.key_space, "Maximum possible keys")->capture_default_str();

  TxnMixedOptions mixed;
  auto* mixed_cmd = app.add_subcommand("txn-mixed", "Benchmark a mixed load of txn-put and txn-range");
  mixed_cmd->add_option("--key-size", mixed.key_size, "Key size")->capture_default_str();
  mixed_cmd->add_option("--val-size", mixed.val_size, "Value size")->capture_default_str();
  mixed_cmd->add_option("--key-space-size", mixed.key_space, "Maximum possible keys")->capture_default_str();
  mixed_cmd->add_option("--rw-ratio", mixed.rw_ratio, "Read/write ops ratio")->capture_default_str();
  mixed_cmd->add_option("--consistency", mixed.consistency, "Linearizable(l) or Serializable(s)")
      ->check(CLI::IsMember({"l", "s"}))
      ->capture_default_str();
  mixed_cmd->add_option("--limit", mixed.limit, "Read operation range result limit")->capture_default_str();
  mixed_cmd->add_option("--end-key", mixed.end_key, "Read operation range end key (empty: single key)");

  WatchOptions watch;
  auto* watch_cmd = app.add_subcommand("watch", "Benchmark watch (fan-out of events to many watchers)");
  watch_cmd->add_option("--streams", watch.streams, "Total watch streams")->capture_default_str();
  watch_cmd->add_option("--watch-per-stream", watch.watch_per_stream, "Total watchers per stream")
      ->capture_default_str();
  watch_cmd->add_option("--watched-key-total", watch.watched_key_total, "Number of watched keys")
      ->capture_default_str();
  watch_cmd->add_flag("--prevkv", watch.prev_kv, "PrevKV enabled on watch requests");
  watch_cmd->add_option("--put-total", watch.put_total, "Number of put requests")->capture_default_str();
  watch_cmd->add_option("--put-rate", watch.put_rate, "Number of keys to put per second")->capture_default_str();
  watch_cmd->add_option("--key-size", watch.key_size, "Key size of watch request")->capture_default_str();
  watch_cmd->add_option("--val-size", watch.val_size, "Value size of the puts (>= 8: a timestamp)")
      ->capture_default_str();
  watch_cmd->add_option("--key-space-size", watch.key_space, "Maximum possible keys")->capture_default_str();
  watch_cmd->add_flag("--sequential-keys", watch.sequential, "Use sequential keys");

  WatchLatencyOptions wl;
  auto* wl_cmd = app.add_subcommand("watch-latency", "Benchmark watch latency (put -> event)");
  wl_cmd->add_option("--put-total", wl.put_total, "Total number of put requests")->capture_default_str();
  wl_cmd->add_option("--put-rate", wl.put_rate, "Number of keys to put per second")->capture_default_str();
  wl_cmd->add_option("--key-size", wl.key_size, "Key size of watch response")->capture_default_str();
  wl_cmd->add_option("--val-size", wl.val_size, "Value size of watch response")->capture_default_str();
  wl_cmd->add_option("--streams", wl.streams, "Total watch streams")->capture_default_str();
  wl_cmd->add_option("--watchers-per-stream", wl.watchers_per_stream, "Total watchers per stream")
      ->capture_default_str();

  auto* ka_cmd = app.add_subcommand("lease-keepalive", "Benchmark lease keepalive (one stream per client)");

  StmOptions stm;
  std::string stm_locker = "stm";
  auto* stm_cmd = app.add_subcommand("stm", "Benchmark STM (read-modify-write transactions)");
  stm_cmd->add_option("--keys", stm.keys, "Total unique keys accessible by the benchmark")->capture_default_str();
  stm_cmd->add_option("--keys-per-txn", stm.keys_per_txn, "Number of keys to access per transaction")
      ->capture_default_str();
  stm_cmd->add_option("--isolation", stm.isolation,
                      "Read Committed (c), Repeatable Reads (r), Serializable (s), or Snapshot (ss)")
      ->check(CLI::IsMember({"c", "r", "s", "ss"}))
      ->capture_default_str();
  stm_cmd->add_option("--stm-locker", stm_locker, "Wrap STM transaction with a custom locking mechanism (stm)")
      ->check(CLI::IsMember({"stm"}))
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  auto dt = ParseDuration(dial_timeout);
  auto rt = ParseDuration(request_timeout);
  auto ci = ParseDuration(compact_interval);
  if (!dt || !rt || !ci) {
    std::cerr << "quorum-bench: bad duration (use e.g. 500ms, 5s, 1m)\n";
    return 1;
  }
  opt.dial_timeout = *dt;
  opt.request_timeout = *rt;
  put.compact_interval = *ci;
  opt.progress = !no_progress;
  if (opt.total < 0 || opt.conns < 1 || opt.clients < 1 || opt.max_seconds <= 0) {
    std::cerr << "quorum-bench: --total must be >= 0, --conns/--clients >= 1, --max-seconds > 0\n";
    return 1;
  }
  if (put.key_space <= 0 || txnput.key_space <= 0 || mixed.key_space <= 0 || watch.key_space <= 0) {
    std::cerr << "quorum-bench: expected positive --key-space-size\n";
    return 1;
  }

  std::string command = app.get_subcommands().front()->get_name();
  Bench bench(opt);
  Outcome out;
  std::string err;
  bool connected = bench.Connect(&err);
  if (!connected) {
    std::cerr << "quorum-bench: " << err << "\n";
  } else if (command == "put") {
    RunPut(bench, put, &out);
  } else if (command == "range") {
    RunRange(bench, range, &out);
  } else if (command == "txn-put") {
    RunTxnPut(bench, txnput, &out);
  } else if (command == "txn-mixed") {
    RunTxnMixed(bench, mixed, &out);
  } else if (command == "watch") {
    RunWatch(bench, watch, &out);
  } else if (command == "watch-latency") {
    RunWatchLatency(bench, wl, &out);
  } else if (command == "lease-keepalive") {
    RunLeaseKeepAlive(bench, &out);
  } else if (command == "stm") {
    RunStm(bench, stm, &out);
  }
  (void)put_cmd, (void)range_cmd, (void)txnput_cmd, (void)mixed_cmd, (void)watch_cmd, (void)wl_cmd,
      (void)ka_cmd, (void)stm_cmd;

  std::string status = StatusName(bench, connected);
  std::string reason = connected ? bench.stop_reason() : err;
  bool drained = bench.Shutdown();
  for (auto& r : out.reports) r->Finalize();

  if (opt.json) {
    std::string s = "{\"command\":\"" + JsonEscape(command) + "\",\"status\":\"" + status + "\"";
    s += ",\"reason\":\"" + JsonEscape(reason) + "\"";
    s += ",\"endpoints\":[";
    for (size_t i = 0; i < opt.endpoints.size(); ++i) {
      s += (i ? ",\"" : "\"") + JsonEscape(opt.endpoints[i]) + "\"";
    }
    s += "],\"conns\":" + std::to_string(opt.conns) + ",\"clients\":" + std::to_string(opt.clients);
    s += ",\"total\":" + std::to_string(opt.total);
    s += ",\"primary\":\"";
    if (!out.reports.empty()) s += JsonEscape(out.reports[out.primary]->name());
    s += "\",\"reports\":{";
    for (size_t i = 0; i < out.reports.size(); ++i) {
      if (i) s += ",";
      s += "\"" + JsonEscape(out.reports[i]->name()) + "\":" + out.reports[i]->Json();
    }
    s += "}}\n";
    std::fputs(s.c_str(), stdout);
  } else {
    for (size_t i = 0; i < out.reports.size(); ++i) {
      if (!out.titles[i].empty()) std::printf("%s%s\n", i ? "\n" : "", out.titles[i].c_str());
      std::fputs(out.reports[i]->Text(opt.precise).c_str(), stdout);
    }
    if (status != "ok") std::printf("\nstatus: %s%s%s\n", status.c_str(), reason.empty() ? "" : ": ", reason.c_str());
  }
  std::fflush(stdout);
  if (status != "ok" && !reason.empty()) std::fprintf(stderr, "quorum-bench: %s: %s\n", status.c_str(), reason.c_str());

  int code = status == "ok" ? 0 : status == "timeout" ? 2 : status == "unimplemented" ? 3 : 1;
  if (!drained) std::_Exit(code);  // calls still outstanding: do not tear down under them
  return code;
}
