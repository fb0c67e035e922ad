// Raft: building and sending messages — MsgApp/MsgSnap with flow control
// (§5.3, §7), heartbeats, MsgTimeoutNow, broadcasts.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/errors.h"
#include "raft/raft.h"

namespace quorum::raft {

// ---- sending --------------------------------------------------------------

void Raft::Send(Message m) {
  if (m.from() == kNone) m.set_from(id_);
  const MessageType t = m.type();
  if (t == pb::MsgVote || t == pb::MsgVoteResp || t == pb::MsgPreVote ||
      t == pb::MsgPreVoteResp) {
    RAFT_CHECK(m.term() != 0) << "term should be set when sending " << t;
  } else {
    RAFT_CHECK(m.term() == 0) << "term should not be set when sending " << t;
    // Proposals and read requests are forwarded without a term: the
    // receiver treats them like local messages.
    if (t != pb::MsgProp && t != pb::MsgReadIndex) m.set_term(term_);
  }
  msgs_.push_back(std::move(m));
}

bool Raft::MaybeSendAppend(NodeId to, bool send_if_empty) {
  Progress* pr = trk_.Get(to);
  if (pr == nullptr || pr->IsPaused()) return false;
  Message m;
  m.set_to(to);
  auto term = log_.TermAt(pr->next - 1);
  absl::Status ents = absl::OkStatus();
  if (term.ok()) ents = log_.EntriesFromInto(pr->next, max_msg_size_, *m.mutable_entries());
  if (term.ok() && ents.ok() && m.entries_size() == 0 && !send_if_empty) return false;

  if (!term.ok() || !ents.ok()) {
    // The entries the follower needs are compacted: send a snapshot.
    if (!pr->recent_active) return false;
    auto snap = log_.GetSnapshot();
    if (!snap.ok()) {
      RAFT_CHECK(IsErrSnapshotTemporarilyUnavailable(snap.status())) << snap.status();
      return false;
    }
    RAFT_CHECK(!IsEmptySnap(*snap)) << "need non-empty snapshot";
    m.clear_entries();
    m.set_type(pb::MsgSnap);
    pr->BecomeSnapshot(snap->metadata().index());
    *m.mutable_snapshot() = std::move(*snap);
    LogInfo(absl::StrCat(id_, " sends snapshot at ", pr->pending_snapshot, " to ", to));
  } else {
    m.set_type(pb::MsgApp);
    m.set_index(pr->next - 1);
    m.set_log_term(*term);
    m.set_commit(log_.committed());
    if (const int n = m.entries_size(); n > 0) {
      const Index last = m.entries(n - 1).index();
      uint64_t bytes = 0;
      for (const Entry& e : m.entries()) bytes += e.data().size();
      switch (pr->state) {
        case ProgressState::kReplicate:
          pr->OptimisticUpdate(last);
          pr->inflights.Add(last, bytes);
          break;
        case ProgressState::kProbe:
          pr->msg_app_flow_paused = true;
          break;
        case ProgressState::kSnapshot:
          RAFT_CHECK(false) << "sending append in snapshot state";
      }
    }
  }
  Send(std::move(m));
  return true;
}

void Raft::SendHeartbeat(NodeId to, const std::string& ctx) {
  // Never advance a follower's commit beyond what it is known to hold.
  const Progress* pr = trk_.Get(to);
  Message m;
  m.set_to(to);
  m.set_type(pb::MsgHeartbeat);
  m.set_commit(std::min(pr->match, log_.committed()));
  m.set_context(ctx);
  Send(std::move(m));
}

void Raft::SendTimeoutNow(NodeId to) {
  Message m;
  m.set_to(to);
  m.set_type(pb::MsgTimeoutNow);
  Send(std::move(m));
}

void Raft::BcastAppend() {
  for (auto& [id, pr] : trk_.progress()) {
    if (id != id_) SendAppend(id);
  }
}

void Raft::BcastHeartbeat() { BcastHeartbeatWithCtx(read_only_.LastPendingRequestCtx()); }

void Raft::BcastHeartbeatWithCtx(const std::string& ctx) {
  if (!ctx.empty()) read_only_.StartRound(ctx);
  for (auto& [id, pr] : trk_.progress()) {
    if (id != id_) SendHeartbeat(id, ctx);
  }
}

}  // namespace quorum::raft
