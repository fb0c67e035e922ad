// Single-step membership changes (Raft thesis §4.1): each ConfChange adds,
// removes, promotes or demotes exactly one member, so any majority of the
// old voters intersects any majority of the new ones. Raft enforces one
// pending change at a time (pending_conf_index); this unit only computes the
// new configuration. Pure: copies, validates, returns; never mutates input.
#ifndef QUORUM_RAFT_CONFCHANGE_H_
#define QUORUM_RAFT_CONFCHANGE_H_

#include <utility>

#include "absl/status/statusor.h"
#include "raft/tracker/progress_tracker.h"

namespace quorum::raft {

struct ConfChangeResult {
  TrackerConfig config;
  ProgressMap progress;
};

// Applies cc to (config, progress). New members start probing at
// last_index+1 and count as recently active (so CheckQuorum and snapshot
// sending treat them as reachable until proven otherwise).
absl::StatusOr<ConfChangeResult> ApplySimpleChange(const ProgressTracker& tracker,
                                                   const ConfChange& cc, Index last_index);

// Builds the configuration described by a ConfState (restart, snapshot).
absl::StatusOr<ConfChangeResult> RestoreFromConfState(const ProgressTracker& tracker,
                                                      const ConfState& cs, Index last_index);

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_CONFCHANGE_H_
