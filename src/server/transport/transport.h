// Transport: raft messages and snapshots between members over gRPC
// (service quorum.peerpb.RaftPeer, proto/internal/peer.proto).
//
// Raft messages to a peer whose URLs are all http:// go over a plain TCP
// link (tcp_link.h; options.raft_over_tcp), served on the same peer port
// (peer_listener.h); TLS and unix peers use the gRPC stream below.
//
// Sending: Send() never blocks the raft loop. Messages are queued per peer
// (bounded); one long-lived client stream per peer carries MessageBatch
// frames, written from the caller's thread when the stream is idle; a full queue or a broken stream drops messages and reports the
// peer unreachable (raft retransmits). Reconnects use exponential backoff.
// MsgSnap messages go through a separate streaming RPC: the message header
// first, then the snapshot file named by Message.snapshot.data in chunks;
// the outcome is reported with Handler::ReportSnapshot.
//
// Receiving: the RaftPeer service (registered by the Server on the peer
// listener) checks the sender's cluster id (metadata "x-quorum-cluster-id")
// and rejects a mismatch with FAILED_PRECONDITION; messages for this member
// are handed to Handler::OnMessages. A received snapshot is written to a
// file under `snapshot_dir`, and the MsgSnap is delivered with
// snapshot.data replaced by that file's path.
//
// Thread-safety: all methods are thread-safe. Handler callbacks run on
// gRPC / sender threads, and ReportUnreachable also inside Send (the message
// stream writes on the caller's thread); they must not block for long nor
// take locks held by callers of Send.
#ifndef QUORUM_SERVER_TRANSPORT_TRANSPORT_H_
#define QUORUM_SERVER_TRANSPORT_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "internal/raft.pb.h"

namespace quorum::server::transport {

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void OnMessages(std::vector<raftpb::Message> msgs) = 0;
  virtual void ReportUnreachable(uint64_t peer_id) = 0;
  virtual void ReportSnapshot(uint64_t peer_id, bool ok) = 0;
};

struct TransportOptions {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  std::string snapshot_dir;                   // where received snapshots are written
  size_t max_queued_messages_per_peer = 4096;
  // Raft messages to http:// peers over the TCP link rather than gRPC.
  bool raft_over_tcp = true;
  // Client credentials used to dial peers (insecure when null).
  std::shared_ptr<grpc::ChannelCredentials> peer_credentials;
};

class Transport {
 public:
  static std::unique_ptr<Transport> Create(TransportOptions opts, Handler* handler);
  virtual ~Transport() = default;

  // The gRPC service to register on the peer listener.
  virtual grpc::Service* service() = 0;

  // Takes ownership of an accepted connection that opened with a raft link
  // hello (see PeerListener).
  virtual void AcceptRaftLink(int fd) = 0;

  virtual void AddPeer(uint64_t id, const std::vector<std::string>& peer_urls) = 0;
  virtual void UpdatePeer(uint64_t id, const std::vector<std::string>& peer_urls) = 0;
  virtual void RemovePeer(uint64_t id) = 0;

  // Queues messages for their `to` peers; never blocks.
  virtual void Send(std::vector<raftpb::Message> msgs) = 0;

  // Stops senders and fails in-flight streams.
  virtual void Stop() = 0;
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_TRANSPORT_H_
