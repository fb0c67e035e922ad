// Tests: a 127.0.0.1 port that accepts TCP connections (into the backlog)
// but never speaks. A gRPC channel to it never becomes READY and calls to it
// hang until their deadline, as with a member that is paused or whose
// network drops everything.
#ifndef QUORUM_UTIL_BLACK_HOLE_FOR_TEST_H_
#define QUORUM_UTIL_BLACK_HOLE_FOR_TEST_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace quorum::util {

class BlackHole {
 public:
  BlackHole() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 && listen(fd_, 64) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
  }
  ~BlackHole() { close(fd_); }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

}  // namespace quorum::util

#endif  // QUORUM_UTIL_BLACK_HOLE_FOR_TEST_H_
