#include "raft/tracker/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace quorum::raft {

const char* ProgressStateName(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe: return "StateProbe";
    case ProgressState::kReplicate: return "StateReplicate";
    case ProgressState::kSnapshot: return "StateSnapshot";
  }
  return "StateUnknown";
}

void Progress::ResetState(ProgressState s) {
  msg_app_flow_paused = false;
  pending_snapshot = 0;
  state = s;
  inflights.Reset();
}

void Progress::BecomeProbe() {
  // After a snapshot, resume probing right after it (or after match).
  if (state == ProgressState::kSnapshot) {
    const Index pending = pending_snapshot;
    ResetState(ProgressState::kProbe);
    next = std::max(match + 1, pending + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next = match + 1;
  }
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next = match + 1;
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot = snapshot_index;
}

bool Progress::MaybeUpdate(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    msg_app_flow_paused = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::MaybeDecrTo(Index rejected, Index match_hint) {
  if (state == ProgressState::kReplicate) {
    // Stale if the rejection is at or below match; otherwise back to match+1.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // Probe (or snapshot): only the rejection of our latest probe counts.
  if (next - 1 != rejected) return false;
  next = std::max<Index>(std::min(rejected, match_hint + 1), 1);
  if (next <= match) next = match + 1;
  msg_app_flow_paused = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe: return msg_app_flow_paused;
    case ProgressState::kReplicate: return inflights.Full();
    case ProgressState::kSnapshot: return true;
  }
  return false;
}

std::string Progress::String() const {
  std::string s = absl::StrCat(ProgressStateName(state), " match=", match, " next=", next);
  if (is_learner) absl::StrAppend(&s, " learner");
  if (msg_app_flow_paused) absl::StrAppend(&s, " paused");
  if (pending_snapshot > 0) absl::StrAppend(&s, " pendingSnap=", pending_snapshot);
  if (!recent_active) absl::StrAppend(&s, " inactive");
  if (inflights.Count() > 0) absl::StrAppend(&s, " inflight=", inflights.Count());
  return s;
}

}  // namespace quorum::raft
