// FreezeProxy: a TCP relay on 127.0.0.1 in front of one member's client
// port, which a test can freeze: from then on it relays nothing, in either
// direction, on the connections it has or accepts later, and closes none --
// to a client, the member looks stopped (SIGSTOP) or cut off by a network
// that drops everything, while its TCP connection still looks up. The
// in-process cluster cannot SIGSTOP one member of the test's own process.
//
// Thread-safety: Freeze() from any thread; one thread per connection plus an
// acceptor, all joined by the destructor (each loop polls every 50 ms).
#ifndef QUORUM_TESTS_INTEGRATION_FREEZE_PROXY_H_
#define QUORUM_TESTS_INTEGRATION_FREEZE_PROXY_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace quorum::integration {

class FreezeProxy {
 public:
  // Relays to `target` ("127.0.0.1:port").
  explicit FreezeProxy(const std::string& target);
  ~FreezeProxy();
  FreezeProxy(const FreezeProxy&) = delete;
  FreezeProxy& operator=(const FreezeProxy&) = delete;

  bool ok() const { return port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void Freeze() { frozen_ = true; }

 private:
  void Accept();
  void Relay(int client_fd);

  int target_port_ = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<std::thread> relays_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::integration

#endif  // QUORUM_TESTS_INTEGRATION_FREEZE_PROXY_H_
