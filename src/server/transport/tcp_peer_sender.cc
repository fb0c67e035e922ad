#include "server/transport/tcp_peer_sender.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/time/time.h"
#include "server/transport/tcp_link.h"

namespace quorum::server::transport {
namespace {

constexpr int kPollIntervalMs = 500;

// Serializes `msgs` (moved, not copied: this runs on the raft loop) into
// frames of at most about `max_bytes` each.
std::string EncodeFrames(std::vector<raftpb::Message> msgs, size_t max_bytes) {
  std::string out;
  raftpb::MessageBatch batch;
  size_t bytes = 0;
  auto flush = [&] {
    if (batch.messages_size() == 0) return;
    const size_t n = batch.ByteSizeLong();
    AppendTcpFrameHeader(&out, static_cast<uint32_t>(n));
    const size_t at = out.size();
    out.resize(at + n);
    batch.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + at));
    batch.Clear();
    bytes = 0;
  };
  for (auto& m : msgs) {
    const size_t n = m.ByteSizeLong();
    if (batch.messages_size() > 0 && bytes + n > max_bytes) flush();
    *batch.add_messages() = std::move(m);
    bytes += n;
  }
  flush();
  return out;
}

}  // namespace

bool TcpPeerSender::CanServe(const std::vector<std::string>& urls) {
  if (urls.empty()) return false;
  return std::all_of(urls.begin(), urls.end(), [](const std::string& u) {
    auto t = ParsePeerUrl(u);
    return t.ok() && !t->tls && t->dial.rfind("unix:", 0) != 0;
  });
}

TcpPeerSender::TcpPeerSender(SenderConfig cfg, std::vector<std::string> urls)
    : cfg_(std::move(cfg)), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), urls_(std::move(urls)) {
  if (wake_fd_ < 0) {
    spdlog::critical("eventfd: {}", std::strerror(errno));
    std::abort();
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "peer-tx");
    Run();
  });
}

TcpPeerSender::~TcpPeerSender() {
  Stop();
  close(wake_fd_);
}

void TcpPeerSender::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void TcpPeerSender::Enqueue(std::vector<raftpb::Message> msgs) {
  if (msgs.empty()) return;
  std::string frames = EncodeFrames(std::move(msgs), kMaxFrameBytes);
  bool report = false;
  bool wake = false;
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
    if (broken_ || (fd_ < 0 && !dialing_)) {
      report = true;
    } else if (fd_ < 0 || pending_off_ < pending_.size()) {
      // A connection being dialed, or earlier bytes still waiting: queue
      // behind them, in order.
      if (pending_.size() - pending_off_ + frames.size() > kMaxPendingBytes) {
        report = true;
      } else {
        pending_.append(frames);
      }
    } else {
      pending_ = std::move(frames);
      pending_off_ = 0;
      last_progress_ = std::chrono::steady_clock::now();
      if (!FlushLocked()) {
        broken_ = true;
        report = true;
        wake = true;
      } else if (pending_off_ < pending_.size()) {
        wake = true;  // the sender thread writes the rest when the socket drains
      }
    }
  }
  if (wake) Wake();
  if (report) cfg_.handler->ReportUnreachable(cfg_.peer_id);
}

bool TcpPeerSender::FlushLocked() {
  while (pending_off_ < pending_.size()) {
    ssize_t n = send(fd_, pending_.data() + pending_off_, pending_.size() - pending_off_,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      pending_off_ += static_cast<size_t>(n);
      last_progress_ = std::chrono::steady_clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;
  }
  if (pending_off_ == pending_.size()) {
    pending_.clear();
    pending_off_ = 0;
  } else if (pending_off_ > (1 << 20) && pending_off_ * 2 > pending_.size()) {
    pending_.erase(0, pending_off_);
    pending_off_ = 0;
  }
  return true;
}

void TcpPeerSender::SetUrls(std::vector<std::string> urls) {
  {
    absl::MutexLock l(&mu_);
    if (urls == urls_) return;
    urls_ = std::move(urls);
    current_ = 0;
    urls_changed_ = true;
  }
  Wake();
}

void TcpPeerSender::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

void TcpPeerSender::Backoff(std::chrono::milliseconds d) {
  absl::MutexLock l(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_ || urls_changed_; };
  mu_.AwaitWithTimeout(absl::Condition(&done), absl::FromChrono(d));
}

int TcpPeerSender::Connect(std::string* url) {
  // A stale wake-up would cancel the dial at once; Stop and SetUrls are
  // re-checked below under the lock after draining.
  uint64_t v;
  while (read(wake_fd_, &v, sizeof(v)) > 0) {
  }
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return -1;
    urls_changed_ = false;
    if (urls_.empty()) return -1;
    *url = urls_[current_ % urls_.size()];
  }
  auto target = ParsePeerUrl(*url);
  if (!target.ok() || target->tls) return -1;
  auto fd = DialTcp(target->dial, kConnectTimeout, wake_fd_);
  if (!fd.ok()) {
    spdlog::debug("raft link to {:x}: {}", cfg_.peer_id, std::string(fd.status().message()));
    absl::MutexLock l(&mu_);
    if (!urls_changed_) ++current_;  // try the next URL next time
    return -1;
  }
  const int buf = kSocketBufferBytes;
  setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
  // Data unacknowledged this long fails the connection (a peer host that
  // died or was partitioned away); keepalive covers a quiet link.
  const unsigned int user_timeout_ms = static_cast<unsigned int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(kWriteStallTimeout).count());
  setsockopt(*fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
  int one = 1, idle = 5, intvl = 2, cnt = 3;
  setsockopt(*fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  setsockopt(*fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(*fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
  setsockopt(*fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
  const std::string hello = EncodeTcpHello({cfg_.cluster_id, cfg_.member_id, cfg_.peer_id});
  if (send(*fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
    close(*fd);
    return -1;
  }
  return *fd;
}

void TcpPeerSender::Run() {
  auto backoff = kMinBackoff;
  bool was_connected = true;  // log the first failure once
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopped_) return;
    }
    {
      absl::MutexLock l(&mu_);
      dialing_ = true;
    }
    std::string url;
    const int fd = Connect(&url);
    if (fd < 0) {
      bool dropped;
      {
        absl::MutexLock l(&mu_);
        dialing_ = false;
        dropped = !pending_.empty();
        pending_.clear();
        pending_off_ = 0;
      }
      if (dropped) cfg_.handler->ReportUnreachable(cfg_.peer_id);
      if (was_connected) spdlog::info("raft link to {:x} is down; redialing", cfg_.peer_id);
      was_connected = false;
      Backoff(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    spdlog::info("raft link to {:x} connected at {}", cfg_.peer_id, url);
    was_connected = true;
    const auto connected_at = std::chrono::steady_clock::now();
    Serve(fd);
    bool stopped;
    {
      absl::MutexLock l(&mu_);
      fd_ = -1;
      dialing_ = false;
      broken_ = false;
      pending_.clear();
      pending_off_ = 0;
      stopped = stopped_;
    }
    close(fd);
    if (stopped) return;
    spdlog::info("raft link to {:x} closed", cfg_.peer_id);
    cfg_.handler->ReportUnreachable(cfg_.peer_id);
    // A link that lived was accepted: redial soon. One closed at once (the
    // peer rejects our hello: another cluster, a re-added member, an old
    // build) backs off like a failed dial instead of redialing 20 times a second.
    if (std::chrono::steady_clock::now() - connected_at > kMaxBackoff) backoff = kMinBackoff;
    Backoff(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void TcpPeerSender::Serve(int fd) {
  {
    absl::MutexLock l(&mu_);
    fd_ = fd;
    dialing_ = false;
    // Frames queued while dialing go first; the socket is empty, so the
    // first write takes them unless they are megabytes.
    last_progress_ = std::chrono::steady_clock::now();
    if (!FlushLocked()) return;
  }
  while (true) {
    bool want_out;
    {
      absl::MutexLock l(&mu_);
      if (stopped_ || broken_ || urls_changed_) return;
      want_out = pending_off_ < pending_.size();
      if (want_out && std::chrono::steady_clock::now() - last_progress_ > kWriteStallTimeout) {
        spdlog::warn("raft link to {:x}: writes stalled for {} s; reconnecting", cfg_.peer_id,
                     kWriteStallTimeout.count());
        return;
      }
    }
    pollfd p[2] = {{fd, static_cast<short>(POLLRDHUP | (want_out ? POLLOUT : 0)), 0},
                   {wake_fd_, POLLIN, 0}};
    int rc = poll(p, 2, kPollIntervalMs);
    if (rc < 0 && errno != EINTR) return;
    if (p[1].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &v, sizeof(v));
    }
    // The receiver never writes: readable means closed (or a broken peer).
    if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLIN)) return;
    if (p[0].revents & POLLOUT) {
      absl::MutexLock l(&mu_);
      if (!FlushLocked()) return;
    }
  }
}

}  // namespace quorum::server::transport
