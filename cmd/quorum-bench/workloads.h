// The benchmark sub-commands (etcd tools/benchmark's names and flags).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cmd/quorum-bench/bench.h"
#include "cmd/quorum-bench/report.h"

namespace qbench {

// What a sub-command measured: one or more reports (printed in order, each after
// its title), `primary` names the headline one.
struct Outcome {
  std::vector<std::unique_ptr<Report>> reports;
  std::vector<std::string> titles;
  int primary = 0;

  Report* Add(std::string name, std::string title, int shards) {
    reports.push_back(std::make_unique<Report>(std::move(name), shards));
    titles.push_back(std::move(title));
    return reports.back().get();
  }
};

struct PutOptions {
  int key_size = 8;
  int val_size = 8;
  int64_t key_space = 1;
  bool sequential = false;
  double compact_interval = 0;  // seconds; 0 = never
  int64_t compact_delta = 1000;
};

struct RangeOptions {
  std::string key, end;
  std::string consistency = "l";
  int64_t limit = 0;
  bool count_only = false;
};

struct TxnPutOptions {
  int key_size = 8;
  int val_size = 8;
  int ops = 1;
  int64_t key_space = 1;
};

struct TxnMixedOptions {
  int key_size = 8;
  int val_size = 8;
  int64_t key_space = 1;
  double rw_ratio = 1;
  std::string consistency = "l";
  int64_t limit = 1000;
  std::string end_key;
};

struct WatchOptions {
  int streams = 10;
  int watch_per_stream = 100;
  int watched_key_total = 1;
  int key_size = 32;
  int val_size = 8;
  int64_t key_space = 1;
  bool sequential = false;
  int64_t put_total = 1000;
  double put_rate = 100;
  bool prev_kv = false;
};

struct WatchLatencyOptions {
  int64_t put_total = 1000;
  double put_rate = 100;
  int key_size = 32;
  int val_size = 32;
  int streams = 10;
  int watchers_per_stream = 10;
};

struct StmOptions {
  int64_t keys = 1;
  int keys_per_txn = 1;
  std::string isolation = "r";  // c: read committed, r: repeatable reads, s: serializable, ss: snapshot
};

void RunPut(Bench& b, const PutOptions& o, Outcome* out);
void RunRange(Bench& b, const RangeOptions& o, Outcome* out);
void RunTxnPut(Bench& b, const TxnPutOptions& o, Outcome* out);
void RunTxnMixed(Bench& b, const TxnMixedOptions& o, Outcome* out);
void RunWatch(Bench& b, const WatchOptions& o, Outcome* out);
void RunWatchLatency(Bench& b, const WatchLatencyOptions& o, Outcome* out);
void RunLeaseKeepAlive(Bench& b, Outcome* out);
void RunStm(Bench& b, const StmOptions& o, Outcome* out);

}  // namespace qbench
