// PeerSender: the raft message stream to one peer.
//
// Owns a bounded queue and one thread. Transport::Send() appends to the queue
// (never blocks); the thread takes everything queued and writes it as
// MessageBatch frames on one long-lived RaftPeer.Stream call, so messages to a
// peer keep their order and a burst costs one write. When the queue is full,
// or while the stream is down, messages are dropped and the peer is reported
// unreachable (raft retransmits what matters). A failed stream is reopened
// after an exponential backoff (kMinBackoff doubling to kMaxBackoff).
//
// Handler callbacks (ReportUnreachable) run only on the sender thread, never
// on the caller of Enqueue (the raft loop).
//
// Thread-safety: all public methods are thread-safe. Stop() is idempotent
// and joins the thread; no Handler callback runs after it returns.
#ifndef QUORUM_SERVER_TRANSPORT_PEER_SENDER_H_
#define QUORUM_SERVER_TRANSPORT_PEER_SENDER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "internal/peer.grpc.pb.h"
#include "internal/raft.pb.h"
#include "server/transport/peer_channel.h"

namespace quorum::server::transport {

class PeerSender {
 public:
  // A write blocked longer than this (peer gone without closing the TCP
  // connection, or not reading) cancels the stream; see CancelIfStalled.
  static constexpr std::chrono::seconds kWriteStallTimeout{5};
  // Frames are cut at about this many bytes (a single bigger message still
  // goes alone). Peers must accept messages this large; see server_options.h.
  static constexpr size_t kMaxFrameBytes = 2 << 20;

  PeerSender(SenderConfig cfg, std::vector<std::string> urls, size_t max_queued);
  ~PeerSender();
  PeerSender(const PeerSender&) = delete;
  PeerSender& operator=(const PeerSender&) = delete;

  // Queues messages (all addressed to this peer). Never blocks.
  void Enqueue(std::vector<raftpb::Message> msgs);
  // New peer URLs: the current stream is closed and the next one dials them.
  void SetUrls(std::vector<std::string> urls);
  // Cancels the stream when one write has been blocked for longer than
  // kWriteStallTimeout. Called periodically by the transport's monitor.
  void CancelIfStalled(std::chrono::steady_clock::time_point now);
  void Stop();

 private:
  // An open RaftPeer.Stream call.
  struct Stream {
    std::unique_ptr<grpc::ClientContext> ctx;
    peerpb::StreamAck ack;
    std::unique_ptr<grpc::ClientWriter<raftpb::MessageBatch>> writer;
    std::chrono::steady_clock::time_point opened;
  };

  void Run();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ || !queue_.empty() || unreachable_pending_;
  }
  // Writes `batch` as one or more frames, opening the stream first if needed.
  absl::Status WriteAll(std::vector<raftpb::Message> batch);
  absl::Status OpenStream();
  absl::Status WriteFrame(const raftpb::MessageBatch& frame);
  // Ends the stream; `cancel` when the call may still be healthy (we are
  // closing it, not reacting to a failed write). Returns the call's status.
  grpc::Status CloseStream(bool cancel);
  // Waits `d` unless stopped first; messages queued meanwhile are dropped.
  // Returns false when stopped.
  bool Backoff(std::chrono::milliseconds d);
  void LogFailure(const absl::Status& s);

  const SenderConfig cfg_;
  const size_t max_queued_;
  Dialer dialer_;
  std::thread thread_;

  // Touched by the sender thread only.
  std::optional<Stream> stream_;
  std::string last_error_;  // last failure logged, to log each distinct failure once

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool in_backoff_ ABSL_GUARDED_BY(mu_) = false;
  bool urls_changed_ ABSL_GUARDED_BY(mu_) = false;  // reopen the stream before the next write
  // Set when messages were dropped; the thread reports the peer unreachable.
  bool unreachable_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<raftpb::Message> queue_ ABSL_GUARDED_BY(mu_);  // size() <= max_queued_
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;                // total, for logs
  // The context of stream_ while it exists (for TryCancel from other threads).
  grpc::ClientContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  // When the write in progress started; empty when not writing.
  std::optional<std::chrono::steady_clock::time_point> writing_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_PEER_SENDER_H_
