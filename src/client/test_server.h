// TestServer: an in-process gRPC server on 127.0.0.1 (port 0) serving fake
// etcd services that a client unit test defines (a KV whose first Range
// fails, a Lease that stops answering...). Tests only.
//
// Handlers that block must poll ServerContext::IsCancelled(): the destructor
// cancels every call still running (Shutdown with a 1 s deadline).
// BlackHole: a port that accepts connections and never answers.
#ifndef QUORUM_CLIENT_TEST_SERVER_H_
#define QUORUM_CLIENT_TEST_SERVER_H_

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "util/black_hole_for_test.h"

namespace quorum::client {

class TestServer {
 public:
  explicit TestServer(const std::vector<grpc::Service*>& services) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    for (grpc::Service* s : services) b.RegisterService(s);
    server_ = b.BuildAndStart();
  }
  ~TestServer() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  bool ok() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

using util::BlackHole;  // util/black_hole_for_test.h

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_TEST_SERVER_H_
