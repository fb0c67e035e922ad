// TcpPeerSender: the raft message link to one http:// peer over a plain TCP
// connection (format and rationale in tcp_link.h).
//
// Enqueue() writes the frame on the caller's thread (the raft loop, or a
// link-reading thread running an iteration inline) with a non-blocking send:
// in the usual case the message is in the kernel when Enqueue returns, with
// no hand-off to another thread. Only what the socket does not take at once
// waits in `pending_` (bounded by kMaxPendingBytes), flushed in order by the
// sender's own thread. That thread also dials, reconnects with exponential
// backoff (kMinBackoff doubling to kMaxBackoff), and notices a closed
// connection or a write stalled for kWriteStallTimeout.
//
// While a connection is being dialed, messages wait in pending_ for it.
// While the link is down, or when pending_ is full, messages are dropped and
// the peer reported unreachable: raft retransmits what matters, as with the
// gRPC stream (peer_sender.h). Messages that did go out keep their order.
//
// Handler::ReportUnreachable may run on any thread, including inside
// Enqueue (outside this sender's lock).
//
// Thread-safety: all public methods are thread-safe. Stop() is idempotent and
// joins the sender thread; no Handler callback runs after it returns.
#ifndef QUORUM_SERVER_TRANSPORT_TCP_PEER_SENDER_H_
#define QUORUM_SERVER_TRANSPORT_TCP_PEER_SENDER_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "internal/raft.pb.h"
#include "server/transport/peer_channel.h"

namespace quorum::server::transport {

class TcpPeerSender {
 public:
  static constexpr size_t kMaxPendingBytes = 16 << 20;
  // Socket buffer sizes of both ends (the kernel doubles them). Fixed rather
  // than autotuned so that a peer that stops reading is seen as a stalled
  // write within a few MiB, not after the kernel has taken tens of them.
  static constexpr int kSocketBufferBytes = 1 << 20;
  static constexpr std::chrono::seconds kWriteStallTimeout{5};
  // Frames are cut at about this many bytes (one bigger message goes alone).
  static constexpr size_t kMaxFrameBytes = 2 << 20;

  TcpPeerSender(SenderConfig cfg, std::vector<std::string> urls);
  ~TcpPeerSender();
  TcpPeerSender(const TcpPeerSender&) = delete;
  TcpPeerSender& operator=(const TcpPeerSender&) = delete;

  // Sends messages (all addressed to this peer); never blocks on the network.
  void Enqueue(std::vector<raftpb::Message> msgs);
  // New peer URLs: the current connection is closed and the next dials them.
  void SetUrls(std::vector<std::string> urls);
  void Stop();

  // True when every URL can be served by this link (http://, not unix or TLS).
  static bool CanServe(const std::vector<std::string>& urls);

 private:
  void Run();
  // Dials the current URL and sends the hello; -1 on failure.
  int Connect(std::string* url);
  // Serves one connection until it breaks, the URLs change, or Stop().
  void Serve(int fd);
  // Writes as much of pending_ as the socket takes now; false on an error.
  bool FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake();
  // Waits up to `d` unless stopped or the URLs change.
  void Backoff(std::chrono::milliseconds d);

  const SenderConfig cfg_;
  const int wake_fd_;  // eventfd: pending data or a state change for Run()

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;        // a write failed: reconnect
  bool urls_changed_ ABSL_GUARDED_BY(mu_) = false;
  bool dialing_ ABSL_GUARDED_BY(mu_) = true;  // Enqueue queues rather than drops
  std::vector<std::string> urls_ ABSL_GUARDED_BY(mu_);
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;  // index into urls_
  int fd_ ABSL_GUARDED_BY(mu_) = -1;          // connected socket, or -1
  std::string pending_ ABSL_GUARDED_BY(mu_);  // bytes from pending_off_ on are unsent
  size_t pending_off_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point last_progress_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_TCP_PEER_SENDER_H_
