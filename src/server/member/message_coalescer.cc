#include "server/member/message_coalescer.h"

#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace quorum::server {
namespace {

// The latest kept message of one kind to one peer (scanning backwards).
struct Latest {
  uint64_t term = 0;
  uint64_t index = 0;
  uint64_t commit = 0;
  bool seen = false;
};

}  // namespace

size_t CoalesceMessages(std::vector<raftpb::Message>* msgs) {
  if (msgs->size() < 2) return 0;
  absl::flat_hash_map<uint64_t, Latest> app, app_resp;  // by peer
  std::vector<bool> drop(msgs->size(), false);
  size_t dropped = 0;
  for (size_t i = msgs->size(); i-- > 0;) {
    const raftpb::Message& m = (*msgs)[i];
    if (m.type() == raftpb::MsgApp) {
      Latest& l = app[m.to()];
      if (m.entries_size() == 0 && l.seen && l.term == m.term() && l.index >= m.index() &&
          l.commit >= m.commit()) {
        drop[i] = true;
        ++dropped;
        continue;
      }
      l = Latest{m.term(), m.index(), m.commit(), true};
    } else if (m.type() == raftpb::MsgAppResp && !m.reject()) {
      Latest& l = app_resp[m.to()];
      if (l.seen && l.term == m.term() && l.index >= m.index()) {
        drop[i] = true;
        ++dropped;
        continue;
      }
      l = Latest{m.term(), m.index(), 0, true};
    }
  }
  if (dropped == 0) return 0;
  size_t out = 0;
  for (size_t i = 0; i < msgs->size(); ++i) {
    if (drop[i]) continue;
    if (out != i) (*msgs)[out] = std::move((*msgs)[i]);
    ++out;
  }
  msgs->resize(out);
  return dropped;
}

}  // namespace quorum::server
