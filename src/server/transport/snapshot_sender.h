// SnapshotSender: streams snapshot files to one peer, one at a time.
//
// Transport::Send() hands every MsgSnap for the peer to Enqueue(). A thread
// (started on the first snapshot) opens the file named by
// msg.snapshot().data() — a local path the member wrote — and sends it with
// RaftPeer.SendSnapshot: a header chunk with the MsgSnap (snapshot.data
// cleared) and the file size, then kChunkBytes data chunks, then a trailer
// with the file's CRC-32C. The outcome goes to Handler::ReportSnapshot. The
// file is never modified or removed here; it belongs to the member.
//
// At most one snapshot waits behind the one in flight: a newer MsgSnap
// replaces a waiting one, which is reported as failed.
//
// Thread-safety: all public methods are thread-safe; Handler callbacks run
// on the sender thread only. Stop() cancels the transfer in flight, reports
// the unsent snapshots as failed, joins the thread, and is idempotent.
#ifndef QUORUM_SERVER_TRANSPORT_SNAPSHOT_SENDER_H_
#define QUORUM_SERVER_TRANSPORT_SNAPSHOT_SENDER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "internal/raft.pb.h"
#include "server/transport/peer_channel.h"

namespace quorum::server::transport {

class SnapshotSender {
 public:
  static constexpr size_t kChunkBytes = 1 << 20;
  // One chunk write blocked longer than this cancels the transfer.
  static constexpr std::chrono::seconds kWriteStallTimeout{15};

  SnapshotSender(SenderConfig cfg, std::vector<std::string> urls);
  ~SnapshotSender();
  SnapshotSender(const SnapshotSender&) = delete;
  SnapshotSender& operator=(const SnapshotSender&) = delete;

  // Queues a MsgSnap for this peer. Never blocks.
  void Enqueue(raftpb::Message msg);
  void SetUrls(std::vector<std::string> urls);
  void CancelIfStalled(std::chrono::steady_clock::time_point now);
  void Stop();

 private:
  void Run();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ || pending_.has_value() || superseded_ > 0;
  }
  absl::Status SendOne(const raftpb::Message& msg);
  void MarkWriting(bool writing);

  const SenderConfig cfg_;
  Dialer dialer_;

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mu_);  // started by the first Enqueue
  std::optional<raftpb::Message> pending_ ABSL_GUARDED_BY(mu_);
  int superseded_ ABSL_GUARDED_BY(mu_) = 0;  // replaced snapshots not yet reported failed
  grpc::ClientContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;  // of the transfer in flight
  std::optional<std::chrono::steady_clock::time_point> writing_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_SNAPSHOT_SENDER_H_
