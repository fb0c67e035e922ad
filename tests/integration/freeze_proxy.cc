#include "freeze_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/numbers.h"

namespace quorum::integration {
namespace {

constexpr int kPollMs = 50;

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

// Copies what `from` has to `to`; false when either side is done.
bool Pump(int from, int to) {
  char buf[16384];
  const ssize_t n = read(from, buf, sizeof(buf));
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    const ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

FreezeProxy::FreezeProxy(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &target_port_)) {
    return;
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof(a);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return;
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

FreezeProxy::~FreezeProxy() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> relays;
  {
    absl::MutexLock l(&mu_);
    relays.swap(relays_);
  }
  for (std::thread& t : relays) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void FreezeProxy::Accept() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    absl::MutexLock l(&mu_);
    relays_.emplace_back([this, fd] { Relay(fd); });
  }
}

void FreezeProxy::Relay(int client_fd) {
  int member_fd = -1;
  if (!frozen_) {
    member_fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = Loopback(target_port_);
    if (connect(member_fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(member_fd);
      close(client_fd);
      return;
    }
  }
  while (!stopping_) {
    if (frozen_ || member_fd < 0) {
      // Frozen: read nothing, write nothing, close nothing.
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
      continue;
    }
    pollfd p[2] = {{client_fd, POLLIN, 0}, {member_fd, POLLIN, 0}};
    if (poll(p, 2, kPollMs) <= 0) continue;
    if (frozen_) continue;
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !Pump(client_fd, member_fd)) break;
    if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !Pump(member_fd, client_fd)) break;
  }
  if (member_fd >= 0) close(member_fd);
  close(client_fd);
}

}  // namespace quorum::integration
