#include "server/transport/peer_listener.h"

#include <fcntl.h>
#include <grpcpp/server_posix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "server/transport/tcp_link.h"

namespace quorum::server::transport {
namespace {

// A connection that sends nothing for this long is closed unclassified.
constexpr int kClassifyTimeoutMs = 10'000;
// At most this many connections wait to be classified at once.
constexpr size_t kMaxClassifying = 64;

enum class Kind { kRaftLink, kOther, kClosed };

// Peeks at the first bytes until they can only be a raft link hello or
// cannot be one. Consumes nothing. Gives up when `wake_fd` becomes readable
// (the listener stops) or after kClassifyTimeoutMs.
Kind Peek(int fd, int wake_fd) {
  char buf[kTcpLinkMagic.size()];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kClassifyTimeoutMs);
  size_t seen = 0;  // bytes that were already queued at the last peek
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Kind::kClosed;
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (seen > 0) {
      // Some bytes are queued, so POLLIN stays set: wait briefly instead.
      if (poll(&p[1], 1, 1) > 0) return Kind::kClosed;
    } else if (poll(p, 2, static_cast<int>(left.count())) <= 0 || (p[1].revents & POLLIN)) {
      if (p[1].revents & POLLIN) return Kind::kClosed;
      continue;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Kind::kClosed;
    seen = static_cast<size_t>(n);
    if (std::memcmp(buf, kTcpLinkMagic.data(), seen) != 0) return Kind::kOther;
    if (seen == sizeof(buf)) return Kind::kRaftLink;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<PeerListener>> PeerListener::Listen(const std::string& host_port) {
  auto fds = ListenTcp(host_port);
  if (!fds.ok()) return fds.status();
  return std::unique_ptr<PeerListener>(new PeerListener(std::move(*fds), host_port));
}

PeerListener::PeerListener(std::vector<int> fds, std::string host_port)
    : listen_fds_(std::move(fds)), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), host_port_(std::move(host_port)) {}

PeerListener::~PeerListener() {
  Stop();
  close(wake_fd_);
}

int PeerListener::port() const { return BoundPort(listen_fds_.front()); }

void PeerListener::Start(grpc::Server* grpc_server, std::function<void(int fd)> on_raft_link) {
  grpc_server_ = grpc_server;
  on_raft_link_ = std::move(on_raft_link);
  accept_thread_ = std::thread([this] { Accept(); });
}

void PeerListener::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  if (accept_thread_.joinable()) accept_thread_.join();
  for (int fd : listen_fds_) close(fd);  // the port is free once Stop returns
  std::list<Classifier> classifiers;
  {
    absl::MutexLock l(&mu_);
    classifiers.swap(classifiers_);
  }
  for (auto& c : classifiers) c.thread.join();
}

void PeerListener::Accept() {
  while (true) {
    std::vector<pollfd> p;
    p.push_back({wake_fd_, POLLIN, 0});
    for (int l : listen_fds_) p.push_back({l, POLLIN, 0});
    if (poll(p.data(), p.size(), -1) < 0 && errno != EINTR) {
      spdlog::error("peer listener {}: poll: {}", host_port_, std::strerror(errno));
      return;
    }
    if (p[0].revents & POLLIN) return;
    for (size_t i = 1; i < p.size(); ++i) {
      if (p[i].revents & POLLIN) Take(p[i].fd);
    }
  }
}

void PeerListener::Take(int listen_fd) {
  int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE) usleep(100'000);
    return;
  }
  absl::MutexLock l(&mu_);
  if (stopped_) {
    close(fd);
    return;
  }
  // Classifying waits for the client's first bytes: off this thread, so
  // a silent client never holds up the others. Connections are rare
  // (one per peer and protocol, plus snapshots).
  for (auto it = classifiers_.begin(); it != classifiers_.end();) {
    if (it->done.HasBeenNotified()) {
      it->thread.join();
      it = classifiers_.erase(it);
    } else {
      ++it;
    }
  }
  if (classifiers_.size() >= kMaxClassifying) {
    // Members open a handful of connections; this many silent ones is a
    // misbehaving client, not a peer.
    spdlog::warn("peer listener {}: {} connections not yet identified; refusing another",
                 host_port_, classifiers_.size());
    close(fd);
    return;
  }
  Classifier& c = classifiers_.emplace_back();
  c.thread = std::thread([this, fd, &c] {
    Classify(fd);
    c.done.Notify();
  });
}

void PeerListener::Classify(int fd) {
  const Kind kind = Peek(fd, wake_fd_);
  {
    absl::MutexLock l(&mu_);
    if (stopped_) {
      close(fd);
      return;
    }
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  switch (kind) {
    case Kind::kClosed:
      close(fd);
      return;
    case Kind::kRaftLink:
      on_raft_link_(fd);
      return;
    case Kind::kOther:
      // gRPC's endpoints expect non-blocking sockets.
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      grpc::AddInsecureChannelFromFd(grpc_server_, fd);
      return;
  }
}

}  // namespace quorum::server::transport
