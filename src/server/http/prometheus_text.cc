#include "server/http/prometheus_text.h"

#include <cmath>
#include <cstdio>

namespace quorum::server::http {
namespace {

// Integral values print as integers ("20480", not "20480.000000").
std::string FormatValue(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.17g", v);
  }
  return buf;
}

}  // namespace

std::string Label(const std::string& name, const std::string& value) {
  std::string out = name + "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void PrometheusText::Gauge(const std::string& name, const std::string& help, double value,
                           const std::string& label) {
  Add(name, help, "gauge", value, label);
}

void PrometheusText::Counter(const std::string& name, const std::string& help, double value) {
  Add(name, help, "counter", value, "");
}

void PrometheusText::Add(const std::string& name, const std::string& help, const char* type,
                         double value, const std::string& label) {
  std::string& lines = families_[name];
  lines = "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name +
          (label.empty() ? "" : "{" + label + "}") + " " + FormatValue(value) + "\n";
}

std::string PrometheusText::Render() const {
  std::string out;
  for (const auto& [name, lines] : families_) out += lines;
  return out;
}

}  // namespace quorum::server::http
