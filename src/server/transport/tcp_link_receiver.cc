#include "server/transport/tcp_link_receiver.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "internal/raft.pb.h"
#include "server/transport/inbound_messages.h"
#include "server/transport/server_options.h"
#include "server/transport/tcp_link.h"
#include "server/transport/tcp_peer_sender.h"

namespace quorum::server::transport {
namespace {

constexpr size_t kReadChunk = 256 << 10;
constexpr int kHelloTimeoutSeconds = 5;

// Reads exactly n bytes; false on EOF, error or timeout.
bool ReadFull(int fd, char* dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, dst + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

void SetRecvTimeout(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

// A peer that vanished without closing (partition, power loss) is noticed
// within about a minute instead of holding a thread forever.
void EnableKeepalive(int fd) {
  int one = 1, idle = 30, intvl = 5, cnt = 4;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

}  // namespace

TcpLinkReceiver::TcpLinkReceiver(uint64_t cluster_id, uint64_t member_id, Handler* handler)
    : cluster_id_(cluster_id), member_id_(member_id), handler_(handler) {}

TcpLinkReceiver::~TcpLinkReceiver() { Stop(); }

void TcpLinkReceiver::Serve(int fd) {
  absl::MutexLock l(&mu_);
  if (stopped_) {
    close(fd);
    return;
  }
  ReapLocked();
  Conn& c = conns_.emplace_back();
  c.fd = fd;
  c.thread = std::thread([this, &c] {
    pthread_setname_np(pthread_self(), "peer-rx");
    Read(&c);
  });
}

void TcpLinkReceiver::ReapLocked() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (it->done) {
      it->thread.join();
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

void TcpLinkReceiver::Stop() {
  std::list<Conn> conns;
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& c : conns_) {
      if (c.fd >= 0) shutdown(c.fd, SHUT_RDWR);  // wakes the reading thread
    }
    conns.swap(conns_);
  }
  for (auto& c : conns) c.thread.join();
}

void TcpLinkReceiver::Read(Conn* c) {
  const int fd = c->fd;
  auto finish = [&] {
    absl::MutexLock l(&mu_);
    close(fd);
    c->fd = -1;
    c->done = true;
  };
  SetRecvTimeout(fd, kHelloTimeoutSeconds);
  std::string hello(kTcpHelloBytes, '\0');
  if (!ReadFull(fd, hello.data(), hello.size())) return finish();
  auto h = DecodeTcpHello(hello);
  if (!h.ok()) return finish();
  if (h->cluster_id != cluster_id_ || h->to != member_id_) {
    spdlog::warn("rejected raft link from member {:x}: cluster ID mismatch (theirs {:x} to {:x}, "
                 "ours {:x} at {:x})",
                 h->from, h->cluster_id, h->to, cluster_id_, member_id_);
    return finish();
  }
  SetRecvTimeout(fd, 0);
  EnableKeepalive(fd);
  const int rcvbuf = TcpPeerSender::kSocketBufferBytes;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

  std::string buf(kReadChunk, '\0');
  size_t start = 0, end = 0;  // unparsed bytes are buf[start, end)
  auto compact = [&] {
    std::memmove(buf.data(), buf.data() + start, end - start);
    end -= start;
    start = 0;
  };
  raftpb::MessageBatch batch;
  size_t want = kReadChunk;  // what the incomplete frame at `start` needs
  while (true) {
    if (end == buf.size()) {
      compact();
      // Full of one incomplete frame: grow, at most doubling, so memory
      // follows the bytes that came rather than a length a peer claims.
      if (end == buf.size()) buf.resize(std::max(buf.size() + 1, std::min(want, 2 * buf.size())));
    }
    ssize_t r = recv(fd, buf.data() + end, buf.size() - end, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return finish();
    end += static_cast<size_t>(r);
    std::vector<raftpb::Message> msgs;
    while (end - start >= kTcpFrameHeaderBytes) {
      const uint32_t len = DecodeTcpFrameLength(buf.data() + start);
      if (len > static_cast<uint32_t>(kMaxPeerMessageBytes)) {
        spdlog::warn("raft link from {:x}: frame of {} bytes is too large; closing", h->from, len);
        return finish();
      }
      const size_t need = kTcpFrameHeaderBytes + len;
      if (end - start < need) {
        want = need + kReadChunk;
        break;
      }
      if (!batch.ParseFromArray(buf.data() + start + kTcpFrameHeaderBytes, static_cast<int>(len))) {
        spdlog::warn("raft link from {:x}: malformed frame; closing", h->from);
        return finish();
      }
      start += need;
      TakeMessagesFor(member_id_, h->from, &batch, &msgs);
      batch.Clear();
    }
    if (start == end) {
      start = end = 0;
      // A rare large frame (a catch-up append of many MiB) grew the buffer:
      // give the memory back once it is drained.
      if (buf.size() > 4 * kReadChunk) {
        buf.resize(kReadChunk);
        buf.shrink_to_fit();
      }
    }
    if (!msgs.empty()) handler_->OnMessages(std::move(msgs));
  }
}

}  // namespace quorum::server::transport
