// PeerService: the server side of the peer transport (quorum.peerpb.RaftPeer).
//
// Registered by the Server on the peer listener (Transport::service()).
// Every call must carry this member's cluster id in "x-quorum-cluster-id";
// otherwise it fails with FAILED_PRECONDITION "cluster ID mismatch".
//  - Stream (gRPC callback API): each MessageBatch read is handed to
//    Handler::OnMessages, in order, on the gRPC thread that read it (no hop
//    to a handler thread), after dropping messages not addressed to this
//    member and any MsgSnap (snapshots only arrive through SendSnapshot).
//  - SendSnapshot: the file is written through SnapshotFileWriter under
//    snapshot_dir; once durable, the MsgSnap is delivered with
//    snapshot.data = the file's path, then the call is acknowledged.
//
// Thread-safety: calls run on gRPC's threads, concurrently (SendSnapshot on
// the sync-server threads).
// Stop() cancels the calls in progress, waits until they have returned (so
// no Handler callback runs after it), and makes later calls fail with
// UNAVAILABLE. It is idempotent.
#ifndef QUORUM_SERVER_TRANSPORT_PEER_SERVICE_H_
#define QUORUM_SERVER_TRANSPORT_PEER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>
#include <vector>

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

class PeerService final : public peerpb::RaftPeer::WithCallbackMethod_Stream<peerpb::RaftPeer::Service> {
 public:
  PeerService(PeerServiceConfig cfg, Handler* handler);
  ~PeerService() override;

  grpc::ServerReadReactor<raftpb::MessageBatch>* Stream(grpc::CallbackServerContext* ctx,
                                                        peerpb::StreamAck* ack) override;
  grpc::Status SendSnapshot(grpc::ServerContext* ctx,
                            grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                            peerpb::SnapshotAck* ack) override;

  void Stop();

 private:
  // Registers a call for Stop(); unregisters when destroyed.
  class CallScope;
  class MessageStream;  // the reactor of one Stream call
  struct Caller {
    grpc::Status status;     // not OK: reject the call with it
    uint64_t member_id = 0;  // the sender, from metadata (0 if absent)
    std::string peer;        // the remote address, for logs
  };

  Caller Authenticate(const grpc::ServerContextBase& ctx) const;
  grpc::Status ReceiveSnapshot(const Caller& caller,
                               grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                               peerpb::SnapshotAck* ack);

  const PeerServiceConfig cfg_;
  Handler* const handler_;

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<grpc::ServerContextBase*> calls_ ABSL_GUARDED_BY(mu_);  // in progress
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_PEER_SERVICE_H_
