// raft::Ready — one batch of work the application must carry out for its
// RawNode, in the order stated in raw_node.h. A Ready is a value: it owns
// copies of the entries/messages it carries.
#ifndef QUORUM_RAFT_READY_H_
#define QUORUM_RAFT_READY_H_

#include <optional>
#include <vector>

#include "raft/types.h"

namespace quorum::raft {

struct Ready {
  // Set when leader or role changed since the previous Ready. Not persisted.
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed: persist it.
  std::optional<HardState> hard_state;
  // Answers to ReadIndex requests; serve each read once applied >= index.
  std::vector<ReadState> read_states;
  // Entries to append to stable storage (may overwrite a suffix).
  EntryVec entries;
  // Snapshot to persist and install in the state machine (empty if none).
  Snapshot snapshot;
  // Entries to apply to the state machine; already committed.
  EntryVec committed_entries;
  // Messages to send, after entries/hard state/snapshot are persisted.
  std::vector<Message> messages;
  // The entries/hard state must be fsynced (not just written) before the
  // messages are sent: term, vote or log changed.
  bool must_sync = false;

  bool ContainsUpdates() const {
    return soft_state.has_value() || hard_state.has_value() || !read_states.empty() ||
           !entries.empty() || !IsEmptySnap(snapshot) || !committed_entries.empty() ||
           !messages.empty();
  }
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_READY_H_
