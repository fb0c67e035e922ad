// PeerSender: the raft message stream to one peer.
//
// Holds a bounded queue and one long-lived RaftPeer.Stream call driven by
// gRPC's callback API: Enqueue() starts the write itself when none is in
// flight, so a message leaves on the caller's thread (the raft loop) with no
// hand-off to a sender thread; while a write is in flight, later messages
// queue and the write's completion sends them all as the next MessageBatch
// frame. Messages to a peer keep their order and a burst costs one write.
// When the queue is full, or while the stream is down, messages are dropped
// and the peer is reported unreachable (raft retransmits what matters). A
// failed stream is reopened after an exponential backoff (kMinBackoff
// doubling to kMaxBackoff).
//
// Handler::ReportUnreachable may run on any thread, including inside
// Enqueue; it must not take locks the caller of Enqueue holds.
//
// Thread-safety: all public methods are thread-safe. Stop() is idempotent
// and waits until the stream's callbacks have finished; no Handler callback
// runs after it returns.
#ifndef QUORUM_SERVER_TRANSPORT_PEER_SENDER_H_
#define QUORUM_SERVER_TRANSPORT_PEER_SENDER_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "internal/raft.pb.h"
#include "server/transport/peer_channel.h"

namespace quorum::server::transport {

class PeerSender {
 public:
  // A write in flight longer than this (peer gone without closing the TCP
  // connection, or not reading) cancels the stream; see CancelIfStalled.
  static constexpr std::chrono::seconds kWriteStallTimeout{5};
  // Frames are cut at about this many bytes (a single bigger message still
  // goes alone). Peers must accept messages this large; see server_options.h.
  static constexpr size_t kMaxFrameBytes = 2 << 20;

  PeerSender(SenderConfig cfg, std::vector<std::string> urls, size_t max_queued);
  ~PeerSender();
  PeerSender(const PeerSender&) = delete;
  PeerSender& operator=(const PeerSender&) = delete;

  // Queues messages (all addressed to this peer) and starts a write if none
  // is in flight. Never blocks on the network.
  void Enqueue(std::vector<raftpb::Message> msgs);
  // New peer URLs: the current stream is closed and the next one dials them.
  void SetUrls(std::vector<std::string> urls);
  // Cancels the stream when one write has been in flight for longer than
  // kWriteStallTimeout. Called periodically by the transport's monitor.
  void CancelIfStalled(std::chrono::steady_clock::time_point now);
  void Stop();

 private:
  class Core;  // the state; shared with the stream's callbacks (peer_sender.cc)
  std::shared_ptr<Core> core_;
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_PEER_SENDER_H_
