// Latency report of one benchmark phase, shaped like etcd's tools/benchmark
// report: Total, Slowest, Fastest, Average, Stddev, Requests/sec, a 10-bucket
// response-time histogram, percentiles and an error distribution.
//
// Results are recorded into per-thread shards (no locks on the hot path); the
// shards are merged once, after the phase has finished.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qbench {

using Clock = std::chrono::steady_clock;

class Report {
 public:
  Report(std::string name, int shards);

  // Thread-compatible per shard: each shard is written by one thread only.
  void Add(int shard, double seconds, Clock::time_point end);
  void AddError(int shard, const std::string& err, Clock::time_point end);

  // The phase's start (Total is measured from here to the last result).
  void SetStart(Clock::time_point t) { start_ = t; }
  Clock::time_point start() const { return start_; }

  // Merges shards and computes the statistics. Call once, after all writers stopped.
  void Finalize();

  const std::string& name() const { return name_; }
  int64_t count() const { return static_cast<int64_t>(lats_.size()); }
  int64_t errors() const { return errors_; }
  double total_secs() const { return total_; }
  double rps() const { return rps_; }
  double Percentile(double p) const;

  // etcd-like text summary; `precise` prints full floating point precision.
  std::string Text(bool precise) const;
  // One JSON object (no trailing newline).
  std::string Json() const;

 private:
  struct Shard {
    std::vector<double> lats;
    std::map<std::string, int64_t> errs;
    Clock::time_point last_end{};
  };

  std::string name_;
  std::vector<Shard> shards_;
  Clock::time_point start_{};

  // Filled by Finalize().
  std::vector<double> lats_;  // sorted
  std::map<std::string, int64_t> err_dist_;
  int64_t errors_ = 0;
  double total_ = 0, slowest_ = 0, fastest_ = 0, average_ = 0, stddev_ = 0, rps_ = 0;
};

inline constexpr double kPercentiles[] = {10, 25, 50, 75, 90, 95, 99, 99.9};

std::string JsonEscape(const std::string& s);

}  // namespace qbench
