// PeerService: the server side of the peer transport (quorum.peerpb.RaftPeer).
//
// Registered by the Server on the peer listener (Transport::service()).
// Every call must carry this member's cluster id in "x-quorum-cluster-id";
// otherwise it fails with FAILED_PRECONDITION "cluster ID mismatch".
//  - Stream: each MessageBatch read is handed to Handler::OnMessages, in
//    order, after dropping messages not addressed to this member and any
//    MsgSnap (snapshots only arrive through SendSnapshot).
//  - SendSnapshot: the file is written through SnapshotFileWriter under
//    snapshot_dir; once durable, the MsgSnap is delivered with
//    snapshot.data = the file's path, then the call is acknowledged.
//
// Thread-safety: calls run on gRPC's sync-server threads, concurrently.
// Stop() cancels the calls in progress, waits until they have returned (so
// no Handler callback runs after it), and makes later calls fail with
// UNAVAILABLE. It is idempotent.
#ifndef QUORUM_SERVER_TRANSPORT_PEER_SERVICE_H_
#define QUORUM_SERVER_TRANSPORT_PEER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "internal/peer.grpc.pb.h"
#include "internal/raft.pb.h"
#include "server/transport/transport.h"

namespace quorum::server::transport {

struct PeerServiceConfig {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  std::string snapshot_dir;
};

class PeerService final : public peerpb::RaftPeer::Service {
 public:
  PeerService(PeerServiceConfig cfg, Handler* handler);
  ~PeerService() override;

  grpc::Status Stream(grpc::ServerContext* ctx, grpc::ServerReader<raftpb::MessageBatch>* reader,
                      peerpb::StreamAck* ack) override;
  grpc::Status SendSnapshot(grpc::ServerContext* ctx,
                            grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                            peerpb::SnapshotAck* ack) override;

  void Stop();

 private:
  // Registers a call for Stop(); unregisters when destroyed.
  class CallScope;
  struct Caller {
    grpc::Status status;     // not OK: reject the call with it
    uint64_t member_id = 0;  // the sender, from metadata (0 if absent)
    std::string peer;        // the remote address, for logs
  };

  Caller Authenticate(const grpc::ServerContext& ctx) const;
  grpc::Status ReceiveSnapshot(const Caller& caller,
                               grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                               peerpb::SnapshotAck* ack);

  const PeerServiceConfig cfg_;
  Handler* const handler_;

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<grpc::ServerContext*> calls_ ABSL_GUARDED_BY(mu_);  // in progress
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_PEER_SERVICE_H_
