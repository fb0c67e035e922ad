#include "server/http/metrics_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "server/http/health_check.h"
#include "server/http/prometheus_text.h"
#include "server/http/server_metrics.h"
#include "server/url.h"

namespace quorum::server::http {
namespace {

constexpr char kTextPlain[] = "text/plain; charset=utf-8";
// Probes and scrapes are rare and small: a few workers per listener.
constexpr size_t kWorkers = 4;

// Go's http.Error: the text plus a newline, and nosniff.
void GoError(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(text + "\n", kTextPlain);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::vector<std::string>& urls, const TlsFiles& tls, const ServiceDeps* deps) {
  std::unique_ptr<MetricsServer> ms(new MetricsServer(deps));
  for (const auto& s : urls) {
    auto url = ParseUrl(s);
    if (!url.ok()) return url.status();
    if (url->scheme == "unix" || url->scheme == "unixs") {
      return absl::InvalidArgumentError(
          "unix sockets are not supported for --listen-metrics-urls: " + s);
    }
    std::unique_ptr<httplib::Server> server;
    if (url->tls()) {
      auto ssl = std::make_unique<httplib::SSLServer>(
          tls.cert_file.c_str(), tls.key_file.c_str(),
          tls.client_cert_auth && !tls.trusted_ca_file.empty() ? tls.trusted_ca_file.c_str()
                                                               : nullptr);
      if (!ssl->is_valid()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot serve ", s, ": bad --cert-file/--key-file/--trusted-ca-file"));
      }
      server = std::move(ssl);
    } else {
      server = std::make_unique<httplib::Server>();
    }
    server->new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
    // httplib's default sets SO_REUSEPORT, which would let a second member
    // bind the same metrics port and take half of its probes; etcd's
    // listener refuses ("address already in use").
    server->set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
    });
    ms->Route(server.get());
    int port = url->port;
    if (port == 0) {
      port = server->bind_to_any_port(url->host);
    } else if (!server->bind_to_port(url->host, port)) {
      port = -1;
    }
    if (port < 0) {
      ms->Stop();
      return absl::UnavailableError(absl::StrCat("listen tcp ", url->HostPort(), ": cannot bind"));
    }
    ms->bound_.push_back(absl::StrCat(url->host, ":", port));
    ms->servers_.push_back(std::move(server));
  }
  for (auto& server : ms->servers_) {
    ms->threads_.emplace_back([s = server.get()] { s->listen_after_bind(); });
  }
  // httplib's stop() is a no-op until the listener runs: wait for it, so a
  // Stop right after Start cannot leave a thread to join forever.
  for (auto& server : ms->servers_) {
    while (!server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (const auto& b : ms->bound_) spdlog::info("serving /health and /metrics on {}", b);
  return ms;
}

void MetricsServer::Route(httplib::Server* s) {
  const auto health = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") {
      res.set_header("Allow", "GET");
      GoError(res, 405, "Method Not Allowed");
      return;
    }
    const HealthVerdict v = CheckHealth(*deps_);
    if (!v.healthy) {
      health_failures_.fetch_add(1);
      spdlog::warn("{}", v.why);
      GoError(res, 503, R"({"health":"false"})");
      return;
    }
    health_success_.fetch_add(1);
    res.set_content(R"({"health":"true"})", kTextPlain);
  };
  const auto metrics = [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderServerMetrics(*deps_, {health_success_.load(), health_failures_.load()}),
                    PrometheusText::kContentType);
  };
  // Every method reaches the handlers (etcd's mux does not route by method).
  s->Get("/health", health);
  s->Post("/health", health);
  s->Put("/health", health);
  s->Delete("/health", health);
  s->Patch("/health", health);
  s->Options("/health", health);
  s->Get("/metrics", metrics);
  s->Post("/metrics", metrics);
  // Unrouted paths: Go's NotFound text. Our own error statuses keep theirs.
  s->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (res.status != 404 || !res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        GoError(res, 404, "404 page not found");
        return httplib::Server::HandlerResponse::Handled;
      }));
}

MetricsServer::MetricsServer(const ServiceDeps* deps) : deps_(deps) {}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Stop() {
  for (auto& s : servers_) s->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace quorum::server::http
