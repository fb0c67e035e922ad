// What a member accepts from a peer's message frame, on either raft link
// (the gRPC stream, PeerService; the TCP link, TcpLinkReceiver).
#ifndef QUORUM_SERVER_TRANSPORT_INBOUND_MESSAGES_H_
#define QUORUM_SERVER_TRANSPORT_INBOUND_MESSAGES_H_

#include <cstdint>
#include <vector>

#include "internal/raft.pb.h"

namespace quorum::server::transport {

// Moves the messages of `batch` addressed to `member_id` onto `out`, except
// MsgSnap (snapshots only arrive through SendSnapshot) and messages raft
// never sends over the network: from another member than the link's peer
// `from` (0: not known), without a term other than a forwarded proposal or
// read request, or a proposal without entries (raft aborts on those).
// Logs what it drops.
void TakeMessagesFor(uint64_t member_id, uint64_t from, raftpb::MessageBatch* batch,
                     std::vector<raftpb::Message>* out);

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_INBOUND_MESSAGES_H_
