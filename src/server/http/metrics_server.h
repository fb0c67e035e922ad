// MetricsServer: etcd's --listen-metrics-urls. One HTTP/1.1 listener per URL
// (cpp-httplib; https:// ones with the client TLS files, as etcd does)
// serving exactly what etcd 3.4 serves there:
//   GET /health  -> 200 {"health":"true"}, or 503 {"health":"false"}
//                   (http/health_check.h); other methods 405 "Method Not Allowed"
//   GET /metrics -> Prometheus text (http/server_metrics.h)
//   anything else -> 404 "404 page not found"
// Kubernetes probes /health here (kubeadm: http://127.0.0.1:2381).
// Thread-safety: Start and Stop from one thread; handlers run on the
// listeners' own small thread pools.
#ifndef QUORUM_SERVER_HTTP_METRICS_SERVER_H_
#define QUORUM_SERVER_HTTP_METRICS_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/api/service_deps.h"
#include "server/tls.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace quorum::server::http {

class MetricsServer {
 public:
  // Binds every URL (or fails, binding none) and starts serving.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::vector<std::string>& urls,
                                                              const TlsFiles& tls,
                                                              const ServiceDeps* deps);
  ~MetricsServer();
  // Stops listening and waits for requests in progress (a /health check
  // takes at most a second).
  void Stop();
  // host:port actually bound, per URL (port 0 picks one).
  const std::vector<std::string>& bound() const { return bound_; }

 private:
  explicit MetricsServer(const ServiceDeps* deps);
  void Route(httplib::Server* s);

  const ServiceDeps* deps_;
  std::atomic<uint64_t> health_success_{0};
  std::atomic<uint64_t> health_failures_{0};
  std::vector<std::unique_ptr<httplib::Server>> servers_;
  std::vector<std::thread> threads_;
  std::vector<std::string> bound_;
};

}  // namespace quorum::server::http

#endif  // QUORUM_SERVER_HTTP_METRICS_SERVER_H_
