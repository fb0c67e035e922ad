#include "server/transport/inbound_messages.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace quorum::server::transport {

void TakeMessagesFor(uint64_t member_id, raftpb::MessageBatch* batch,
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
    out->push_back(std::move(m));
  }
}

}  // namespace quorum::server::transport
