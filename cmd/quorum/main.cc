// quorum: the member daemon. Flags -> ServerConfig -> Server; SIGTERM or
// SIGINT shuts the member down cleanly.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "cmd/quorum/flags.h"
#include "server/server.h"
#include "util/release_memory.h"

int main(int argc, char** argv) {
  quorum::util::UseFixedMmapThreshold();
  quorum::server::ServerConfig cfg;
  quorum::cmd::ProcessSettings proc;
  if (int rc = quorum::cmd::ParseFlags(argc, argv, &cfg, &proc); rc >= 0) return rc;
  // As etcd: what flag parsing reports is logged before --log-level applies.
  for (const auto& w : proc.warnings) spdlog::warn("{}", w);
  spdlog::set_level(proc.log_level);
  // gRPC reads its TLS 1.2 cipher list once, when it first builds TLS
  // credentials: set before the server exists.
  if (!proc.openssl_ciphers.empty()) setenv("GRPC_SSL_CIPHER_SUITES", proc.openssl_ciphers.c_str(), 1);
  // Debian's absl ships with mutex deadlock detection on, which takes a
  // global lock on every Mutex acquisition; our lock order is documented and
  // tested instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Block the shutdown signals before any thread starts, then wait for them
  // on a dedicated thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = quorum::server::Server::Create(cfg);
  if (!server.ok()) {
    spdlog::critical("cannot start: {}", std::string(server.status().message()));
    return 1;
  }
  if (auto s = (*server)->Start(); !s.ok()) {
    spdlog::critical("cannot serve: {}", std::string(s.message()));
    return 1;
  }
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (done.load()) return;  // woken because the server stopped by itself
    spdlog::info("received signal {}, shutting down", sig);
    (*server)->Shutdown();
  });
  (*server)->Wait();
  // The member may stop on its own (removed from the cluster): wake the
  // signal thread so it can exit.
  done.store(true);
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  server->reset();
  return 0;
}
