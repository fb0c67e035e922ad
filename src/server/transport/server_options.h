// Settings the peer listener's grpc::ServerBuilder should get so the peer
// transport works well: messages up to 64 MiB (a MessageBatch frame is cut
// at ~2 MiB, but one raft message may be bigger), and server-side keepalive
// pings so a stream from a member that vanished without closing its TCP
// connection is noticed and its handler thread released; client pings every
// 5 s or more are tolerated.
//
// Senders do not send keepalive pings themselves (a peer listener built
// without these settings would answer them with too_many_pings); a stalled
// write is caught by the senders' write-stall timeout instead.
#ifndef QUORUM_SERVER_TRANSPORT_SERVER_OPTIONS_H_
#define QUORUM_SERVER_TRANSPORT_SERVER_OPTIONS_H_

#include <grpcpp/grpcpp.h>

namespace quorum::server::transport {

inline constexpr int kMaxPeerMessageBytes = 64 << 20;

void ConfigurePeerServerBuilder(grpc::ServerBuilder& builder);

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_SERVER_OPTIONS_H_
