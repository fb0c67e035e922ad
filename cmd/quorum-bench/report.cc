#include "cmd/quorum-bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace qbench {

namespace {

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string JsonNum(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string JsonEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

Report::Report(std::string name, int shards) : name_(std::move(name)), shards_(shards) {
  for (auto& s : shards_) s.lats.reserve(1024);
}

void Report::Add(int shard, double seconds, Clock::time_point end) {
  Shard& s = shards_[shard];
  s.lats.push_back(seconds < 0 ? 0 : seconds);
  if (end > s.last_end) s.last_end = end;
}

void Report::AddError(int shard, const std::string& err, Clock::time_point end) {
  Shard& s = shards_[shard];
  ++s.errs[err];
  if (end > s.last_end) s.last_end = end;
}

void Report::Finalize() {
  size_t n = 0;
  Clock::time_point last = start_;
  for (auto& s : shards_) n += s.lats.size();
  lats_.reserve(n);
  for (auto& s : shards_) {
    lats_.insert(lats_.end(), s.lats.begin(), s.lats.end());
    for (auto& [e, c] : s.errs) {
      err_dist_[e] += c;
      errors_ += c;
    }
    if (s.last_end > last) last = s.last_end;
    s.lats.clear();
    s.lats.shrink_to_fit();
  }
  std::sort(lats_.begin(), lats_.end());
  total_ = std::chrono::duration<double>(last - start_).count();
  if (lats_.empty()) return;
  fastest_ = lats_.front();
  slowest_ = lats_.back();
  double sum = 0;
  for (double l : lats_) sum += l;
  average_ = sum / lats_.size();
  double var = 0;
  for (double l : lats_) var += (l - average_) * (l - average_);
  stddev_ = std::sqrt(var / lats_.size());
  rps_ = total_ > 0 ? lats_.size() / total_ : 0;
}

double Report::Percentile(double p) const {
  if (lats_.empty()) return 0;
  // Nearest rank: the smallest latency with at least p% of the results at or below it.
  double rank = std::ceil(p / 100.0 * lats_.size());
  size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  if (i >= lats_.size()) i = lats_.size() - 1;
  return lats_[i];
}

std::string Report::Text(bool precise) const {
  const char* num = precise ? "%g" : "%4.4f";
  auto secs = [&](double v) { return Fmt(num, v) + " secs"; };
  std::string s;
  if (!lats_.empty()) {
    s += "\nSummary:\n";
    s += "  Total:\t" + secs(total_) + ".\n";
    s += "  Slowest:\t" + secs(slowest_) + ".\n";
    s += "  Fastest:\t" + secs(fastest_) + ".\n";
    s += "  Average:\t" + secs(average_) + ".\n";
    s += "  Stddev:\t" + secs(stddev_) + ".\n";
    s += "  Requests/sec:\t" + Fmt(num, rps_) + "\n";

    // Histogram: 10 equal-width buckets between fastest and slowest (plus the top edge).
    constexpr int kBuckets = 10;
    std::vector<double> edges(kBuckets + 1);
    std::vector<int64_t> counts(kBuckets + 1, 0);
    double width = (slowest_ - fastest_) / kBuckets;
    for (int i = 0; i < kBuckets; ++i) edges[i] = fastest_ + width * i;
    edges[kBuckets] = slowest_;
    size_t b = 0;
    int64_t max = 0;
    for (size_t i = 0; i < lats_.size();) {
      if (lats_[i] <= edges[b] || b == edges.size() - 1) {
        ++counts[b];
        max = std::max(max, counts[b]);
        ++i;
      } else {
        ++b;
      }
    }
    s += "\nResponse time histogram:\n";
    for (size_t i = 0; i < edges.size(); ++i) {
      int bar = max > 0 ? static_cast<int>(counts[i] * 40 / max) : 0;
      std::string bars;
      for (int j = 0; j < bar; ++j) bars += "\xe2\x88\x8e";  // U+220E, as etcd draws it
      s += "  " + Fmt(num, edges[i]) + " [" + std::to_string(counts[i]) + "]\t|" + bars + "\n";
    }

    s += "\nLatency distribution:\n";
    for (double p : kPercentiles) {
      double v = Percentile(p);
      if (v > 0) s += "  " + Fmt("%g", p) + "% in " + secs(v) + ".\n";
    }
  }
  if (!err_dist_.empty()) {
    s += "\nError distribution:\n";
    for (auto& [e, c] : err_dist_) s += "  [" + std::to_string(c) + "]\t" + e + "\n";
  }
  if (lats_.empty() && err_dist_.empty()) s += "\n(no results)\n";
  return s;
}

std::string Report::Json() const {
  std::string s = "{";
  s += "\"name\":\"" + JsonEscape(name_) + "\"";
  s += ",\"count\":" + std::to_string(lats_.size());
  s += ",\"errors\":" + std::to_string(errors_);
  s += ",\"total_secs\":" + JsonNum(total_);
  s += ",\"slowest\":" + JsonNum(slowest_);
  s += ",\"fastest\":" + JsonNum(fastest_);
  s += ",\"average\":" + JsonNum(average_);
  s += ",\"stddev\":" + JsonNum(stddev_);
  s += ",\"rps\":" + JsonNum(rps_);
  s += ",\"percentiles\":{";
  bool first = true;
  for (double p : kPercentiles) {
    if (!first) s += ",";
    first = false;
    s += "\"" + Fmt("%g", p) + "\":" + JsonNum(Percentile(p));
  }
  s += "},\"error_dist\":{";
  first = true;
  for (auto& [e, c] : err_dist_) {
    if (!first) s += ",";
    first = false;
    s += "\"" + JsonEscape(e) + "\":" + std::to_string(c);
  }
  s += "}}";
  return s;
}

}  // namespace qbench
