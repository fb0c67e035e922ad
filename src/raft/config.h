// raft::Config — every tunable of a raft node, with documented defaults.
// Validated by Raft::Create(); zero values of the size limits mean "no limit".
#ifndef QUORUM_RAFT_CONFIG_H_
#define QUORUM_RAFT_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>

#include "absl/status/status.h"
#include "raft/logger.h"
#include "raft/read_only.h"
#include "raft/storage.h"
#include "raft/tracker/progress.h"

namespace quorum::raft {

struct Config {
  // This node's id; never 0.
  NodeId id = kNone;
  // Ticks without hearing from a leader before a follower campaigns. The
  // actual timeout is randomized in [election_tick, 2*election_tick).
  int election_tick = 10;
  // Ticks between leader heartbeats; must be < election_tick.
  int heartbeat_tick = 1;
  // Persisted state (not owned; must outlive the node). Required.
  const Storage* storage = nullptr;
  // Last index the application has applied (restart). Committed entries
  // after it are handed out again. 0 = start from the storage's snapshot.
  Index applied = 0;
  // Max bytes of entries per MsgApp (at least one entry is always sent).
  uint64_t max_size_per_msg = 1 << 20;
  // Max bytes of committed entries per Ready (0 = max_size_per_msg).
  uint64_t max_committed_size_per_ready = 0;
  // Max bytes of uncommitted entries on the leader; proposals beyond it are
  // dropped with ErrProposalDropped (0 = no limit).
  uint64_t max_uncommitted_entries_size = 0;
  // Max MsgApp in flight per follower in replicate state.
  size_t max_inflight_msgs = 256;
  // Max payload bytes in flight per follower (0 = no limit).
  uint64_t max_inflight_bytes = 0;
  // Leader steps down if it has not heard from a quorum within an election
  // timeout; followers ignore votes while they have a live leader.
  bool check_quorum = false;
  // Run a pre-election (§9.6) so partitioned nodes do not inflate terms.
  bool pre_vote = false;
  ReadOnlyOption read_only_option = ReadOnlyOption::kSafe;
  // Followers drop proposals instead of forwarding them to the leader.
  bool disable_proposal_forwarding = false;
  // Leader only: asked for every conf change entry of a proposal (its own or
  // one forwarded by a follower) with the leader's view of each voter's
  // progress (recent_active: heard from within the last election timeout,
  // with check_quorum). false turns the entry into a normal one holding
  // what the hook put in `refusal` (empty: a no-op, as a second pending conf
  // change is), e.g. a record telling the proposer why. Unset: every change
  // is admitted.
  std::function<bool(const Entry&, const std::map<NodeId, Progress>&, std::string* refusal)>
      admit_conf_change;
  // Seed of the node's Rng (election timeout jitter); mixed with `id`, so
  // one seed can be shared by a whole cluster. Only randomness raft uses.
  uint64_t rng_seed = 0;
  // Not owned; nullptr = discard log output.
  Logger* logger = nullptr;

  absl::Status Validate() const;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_CONFIG_H_
