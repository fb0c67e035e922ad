#include "server/transport/inbound_messages.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace quorum::server::transport {

void TakeMessagesFor(uint64_t member_id, uint64_t from, raftpb::MessageBatch* batch,
                     std::vector<raftpb::Message>* out) {
  out->reserve(out->size() + batch->messages_size());
  for (auto& m : *batch->mutable_messages()) {
    if (m.to() != member_id) {
      spdlog::warn("dropping {} from {:x}: addressed to member {:x}, we are {:x}",
                   raftpb::MessageType_Name(m.type()), m.from(), m.to(), member_id);
      continue;
    }
    if (m.type() == raftpb::MsgSnap) {
      spdlog::warn("dropping MsgSnap from {:x} sent on the message stream", m.from());
      continue;
    }
    // A follower forwards a leadership transfer with the transferee as sender.
    if (from != 0 && m.from() != from && m.type() != raftpb::MsgTransferLeader) {
      spdlog::warn("dropping {} claiming to be from {:x} on the link of member {:x}",
                   raftpb::MessageType_Name(m.type()), m.from(), from);
      continue;
    }
    const bool forwarded = m.type() == raftpb::MsgProp || m.type() == raftpb::MsgReadIndex;
    // A read request carries exactly its context; raft reads entries(0).
    const bool bad_entries = (m.type() == raftpb::MsgProp && m.entries_size() == 0) ||
                             (m.type() == raftpb::MsgReadIndex && m.entries_size() != 1);
    if ((m.term() == 0 && !forwarded) || bad_entries) {
      spdlog::warn("dropping malformed {} (term {}, {} entries) from {:x}",
                   raftpb::MessageType_Name(m.type()), m.term(), m.entries_size(), m.from());
      continue;
    }
    out->push_back(std::move(m));
  }
}

}  // namespace quorum::server::transport
