// Server: the composition root of one member. Create() opens the backend and
// store, builds identity from the config, wires applier + proposer + gRPC
// services; Start() listens on --listen-client-urls; Shutdown() stops taking
// requests, drains, and closes the store.
// Thread-safety: Create/Start/Wait on one thread; Shutdown from any thread.
#ifndef QUORUM_SERVER_SERVER_H_
#define QUORUM_SERVER_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config.h"

namespace quorum::server {

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerConfig config);
  ~Server();

  absl::Status Start();
  // Blocks until Shutdown() has finished.
  void Wait();
  void Shutdown();

  // Client addresses actually bound (host:port), for tests using port 0.
  std::vector<std::string> BoundClientAddresses() const;
  uint64_t MemberId() const;
  uint64_t ClusterId() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_SERVER_H_
