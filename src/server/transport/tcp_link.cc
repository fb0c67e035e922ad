#include "server/transport/tcp_link.h"

#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/coding.h"

namespace quorum::server::transport {
namespace {

struct HostPort {
  std::string host;
  std::string port;
};

absl::StatusOr<HostPort> SplitHostPort(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("no port in ", s));
  HostPort hp{s.substr(0, colon), s.substr(colon + 1)};
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(hp.port, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in ", s));
  }
  return hp;
}

absl::Status Errno(const char* what, const std::string& target) {
  return absl::UnavailableError(absl::StrCat(what, " ", target, ": ", std::strerror(errno)));
}

}  // namespace

std::string EncodeTcpHello(const TcpHello& h) {
  std::string out(kTcpLinkMagic);
  util::PutFixed64BE(&out, h.cluster_id);
  util::PutFixed64BE(&out, h.from);
  util::PutFixed64BE(&out, h.to);
  return out;
}

absl::StatusOr<TcpHello> DecodeTcpHello(std::string_view bytes) {
  if (bytes.size() != kTcpHelloBytes || bytes.substr(0, kTcpLinkMagic.size()) != kTcpLinkMagic) {
    return absl::InvalidArgumentError("not a raft link hello");
  }
  const char* p = bytes.data() + kTcpLinkMagic.size();
  return TcpHello{util::DecodeFixed64BE(p), util::DecodeFixed64BE(p + 8),
                  util::DecodeFixed64BE(p + 16)};
}

void AppendTcpFrameHeader(std::string* dst, uint32_t payload_len) {
  char h[4] = {static_cast<char>(payload_len >> 24), static_cast<char>(payload_len >> 16),
               static_cast<char>(payload_len >> 8), static_cast<char>(payload_len)};
  dst->append(h, 4);
}

uint32_t DecodeTcpFrameLength(const char* header) {
  const auto* u = reinterpret_cast<const unsigned char*>(header);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

absl::StatusOr<int> DialTcp(const std::string& host_port, std::chrono::milliseconds timeout,
                            int cancel_fd) {
  auto hp = SplitHostPort(host_port);
  if (!hp.ok()) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(hp->host.c_str(), hp->port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", host_port, ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat("no address for ", host_port));
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last = Errno("socket for", host_port);
      continue;
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      pollfd p[2] = {{fd, POLLOUT, 0}, {cancel_fd, POLLIN, 0}};
      do {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        rc = left.count() > 0 ? poll(p, cancel_fd >= 0 ? 2 : 1, static_cast<int>(left.count())) : 0;
      } while (rc < 0 && errno == EINTR);
      if (cancel_fd >= 0 && (p[1].revents & POLLIN)) {
        close(fd);
        freeaddrinfo(res);
        return absl::CancelledError("dial cancelled");
      }
      int err = 0;
      socklen_t len = sizeof(err);
      if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        rc = 0;
      } else {
        errno = rc == 0 ? ETIMEDOUT : (err != 0 ? err : errno);
        rc = -1;
      }
    }
    if (rc != 0) {
      last = Errno("connect", host_port);
      close(fd);
      continue;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    freeaddrinfo(res);
    return fd;
  }
  freeaddrinfo(res);
  return last;
}

int BoundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

absl::StatusOr<std::vector<int>> ListenTcp(const std::string& host_port) {
  auto hp = SplitHostPort(host_port);
  if (!hp.ok()) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const char* host = hp->host.empty() ? nullptr : hp->host.c_str();
  if (int rc = getaddrinfo(host, hp->port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", host_port, ": ", gai_strerror(rc)));
  }
  size_t n = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) ++n;
  std::vector<int> fds;
  int bound_port = 0;  // with port 0: the port the first socket got
  absl::Status last = absl::UnavailableError(absl::StrCat("no address for ", host_port));
  auto fail = [&](absl::Status st) {
    for (int fd : fds) close(fd);
    freeaddrinfo(res);
    return st;
  };
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (bound_port != 0) {
      if (ai->ai_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_port = htons(bound_port);
      } else if (ai->ai_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_port = htons(bound_port);
      }
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // With an IPv4 address beside it, the IPv6 socket must not claim IPv4 too.
    if (ai->ai_family == AF_INET6 && n > 1) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
      const int err = errno;
      last = Errno("listen on", host_port);
      close(fd);
      if (err == EADDRINUSE) return fail(last);
      continue;  // e.g. no IPv6 on this host
    }
    if (bound_port == 0) bound_port = BoundPort(fd);
    fds.push_back(fd);
  }
  if (fds.empty()) return fail(last);
  freeaddrinfo(res);
  return fds;
}

}  // namespace quorum::server::transport
