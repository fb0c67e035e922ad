// Prometheus' text exposition format (version 0.0.4), just what /metrics
// needs: gauges and counters, each with its HELP and TYPE lines, written in
// name order as Go's client writes them.
#ifndef QUORUM_SERVER_HTTP_PROMETHEUS_TEXT_H_
#define QUORUM_SERVER_HTTP_PROMETHEUS_TEXT_H_

#include <map>
#include <string>

namespace quorum::server::http {

class PrometheusText {
 public:
  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

  // `label` is one name="value" pair or empty.
  void Gauge(const std::string& name, const std::string& help, double value,
             const std::string& label = "");
  void Counter(const std::string& name, const std::string& help, double value);
  std::string Render() const;

 private:
  void Add(const std::string& name, const std::string& help, const char* type, double value,
           const std::string& label);
  std::map<std::string, std::string> families_;  // name -> its lines
};

// name="value" with the value escaped as the format requires.
std::string Label(const std::string& name, const std::string& value);

}  // namespace quorum::server::http

#endif  // QUORUM_SERVER_HTTP_PROMETHEUS_TEXT_H_
