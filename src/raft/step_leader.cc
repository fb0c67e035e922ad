// Raft::StepLeader: proposals, replication responses and flow control
// (§5.3), commit (§5.4.2), ReadIndex (§6.4), CheckQuorum (§6.2),
// leadership transfer (§3.10).
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/errors.h"
#include "raft/raft.h"

namespace quorum::raft {

absl::Status Raft::StepLeader(Message& m) {
  // Messages that do not need a peer's Progress.
  switch (m.type()) {
    case pb::MsgBeat:
      BcastHeartbeat();
      return absl::OkStatus();
    case pb::MsgCheckQuorum: {
      if (!trk_.QuorumActive()) {
        LogInfo(absl::StrCat(id_, " stepped down to follower since quorum is not active"));
        BecomeFollower(term_, kNone);
      }
      // Start a fresh activity window (we always count as active).
      for (auto& [id, pr] : trk_.progress()) {
        if (id != id_) pr.recent_active = false;
      }
      return absl::OkStatus();
    }
    case pb::MsgProp: {
      RAFT_CHECK(m.entries_size() > 0) << id_ << " stepped empty MsgProp";
      if (trk_.Get(id_) == nullptr) return ErrProposalDropped();  // removed
      if (lead_transferee_ != kNone) return ErrProposalDropped();
      EntryVec es;
      es.reserve(m.entries_size());
      for (Entry& e : *m.mutable_entries()) es.push_back(std::move(e));
      std::string refusal;
      for (size_t i = 0; i < es.size(); ++i) {
        if (es[i].type() != pb::EntryConfChange) continue;
        // One configuration change in flight: refuse a new one until the
        // previous is applied (§4.1); keep the entry as a no-op so the
        // batch's indexes stay put.
        if (pending_conf_index_ > log_.applied()) {
          LogInfo(absl::StrCat(id_, " ignoring conf change at index ", log_.LastIndex() + i + 1,
                               " since pending_conf_index is ", pending_conf_index_));
          es[i] = Entry();
        } else if (refusal.clear();
                   admit_conf_change_ && !admit_conf_change_(es[i], trk_.progress(), &refusal)) {
          LogInfo(absl::StrCat(id_, " refusing conf change at index ", log_.LastIndex() + i + 1));
          es[i] = Entry();
          es[i].set_data(std::move(refusal));
        } else {
          pending_conf_index_ = log_.LastIndex() + i + 1;
        }
      }
      if (!AppendEntry(std::move(es))) return ErrProposalDropped();
      BcastAppend();
      return absl::OkStatus();
    }
    case pb::MsgReadIndex: {
      if (trk_.IsSingleton()) {
        RespondToReadIndexReq(m, log_.committed());
        return absl::OkStatus();
      }
      // §6.4 step 1: until an entry of this term commits, our commit index
      // may be stale; queue the request.
      if (!CommittedEntryInCurrentTerm()) {
        pending_read_index_messages_.push_back(std::move(m));
        return absl::OkStatus();
      }
      SendReadIndexResponse(m);
      return absl::OkStatus();
    }
    default:
      break;
  }

  Progress* pr = trk_.Get(m.from());
  if (pr == nullptr) return absl::OkStatus();
  switch (m.type()) {
    case pb::MsgAppResp:
      HandleAppendResponse(m, *pr);
      break;
    case pb::MsgHeartbeatResp:
      HandleHeartbeatResponse(m, *pr);
      break;
    case pb::MsgSnapStatus:
      if (pr->state != ProgressState::kSnapshot) break;
      // Success or failure, resume probing; on failure forget the snapshot.
      if (m.reject()) pr->pending_snapshot = 0;
      pr->BecomeProbe();
      // Wait for a heartbeat response before the next probe: the follower
      // may still be applying the snapshot.
      pr->msg_app_flow_paused = true;
      break;
    case pb::MsgUnreachable:
      // Optimistic pipelining likely lost messages: go back to probing.
      if (pr->state == ProgressState::kReplicate) pr->BecomeProbe();
      break;
    case pb::MsgTransferLeader:
      HandleTransferLeader(m, *pr);
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

void Raft::HandleAppendResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.reject()) {
    // Fast backtracking: find the largest index the follower may match.
    Index next_probe = m.reject_hint();
    if (m.log_term() > 0) next_probe = log_.FindConflictByTerm(m.reject_hint(), m.log_term()).first;
    if (pr.MaybeDecrTo(m.index(), next_probe)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from());
    }
    return;
  }
  const bool old_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index())) {
    // Stale ack; in probe state a duplicate may still unblock sending.
    return;
  }
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match + 1 >= log_.FirstIndex()) {
        // The follower caught up past our compaction point (snapshot applied).
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.FreeLE(m.index());
      break;
  }
  if (MaybeCommit()) {
    ReleasePendingReadIndexMessages();
    BcastAppend();
  } else if (old_paused) {
    SendAppend(m.from());
  }
  // Keep the pipe full while the window allows.
  while (MaybeSendAppend(m.from(), false)) {
  }
  if (m.from() == lead_transferee_ && pr.match == log_.LastIndex()) {
    LogInfo(absl::StrCat(id_, " sent MsgTimeoutNow to ", m.from(), " after its log caught up"));
    SendTimeoutNow(m.from());
  }
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.msg_app_flow_paused = false;
  // Lost acks must not wedge a full window forever: the follower is alive,
  // so free a slot; a gap, if any, is then detected by its rejection.
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) pr.inflights.FreeFirstOne();
  if (pr.match < log_.LastIndex() || pr.state == ProgressState::kProbe) SendAppend(m.from());
  if (read_only_.option() != ReadOnlyOption::kSafe || m.context().empty()) return;
  const std::set<NodeId>* acks = read_only_.RecvAck(m.from(), m.context());
  if (acks == nullptr) return;
  std::map<NodeId, bool> votes;
  for (NodeId id : *acks) votes[id] = true;
  if (MajorityVoteResult(trk_.config().voters, votes) != VoteResult::kWon) return;
  for (ReadIndexStatus& rs : read_only_.Advance(m.context())) {
    RespondToReadIndexReq(rs.req, rs.index);
  }
  StartReadRoundIfIdle();  // requests that came while that round was out
}

void Raft::HandleTransferLeader(const Message& m, Progress& pr) {
  if (pr.is_learner) return;  // a learner cannot lead
  const NodeId transferee = m.from();
  if (lead_transferee_ != kNone) {
    if (lead_transferee_ == transferee) return;  // already in progress
    AbortLeaderTransfer();
  }
  if (transferee == id_) return;  // already leader
  // The transfer must finish within an election timeout (TickHeartbeat).
  election_elapsed_ = 0;
  lead_transferee_ = transferee;
  if (pr.match == log_.LastIndex()) {
    SendTimeoutNow(transferee);
  } else {
    SendAppend(transferee);  // TimeoutNow follows once it catches up
  }
}

void Raft::SendReadIndexResponse(const Message& m) {
  QueueReadIndex(m);
  StartReadRoundIfIdle();
}

void Raft::QueueReadIndex(const Message& m) {
  switch (read_only_.option()) {
    case ReadOnlyOption::kSafe:
      // §6.4 steps 2-3: remember the commit index; a heartbeat round tagged
      // with this context or a later one confirms leadership for it.
      read_only_.AddRequest(log_.committed(), m);
      read_only_.RecvAck(id_, m.entries(0).data());
      break;
    case ReadOnlyOption::kLeaseBased:
      RespondToReadIndexReq(m, log_.committed());
      break;
  }
}

void Raft::StartReadRoundIfIdle() {
  // While a round is out, new requests wait for it (ReadOnly): the reads of
  // every member then share one heartbeat round instead of one each.
  if (read_only_.RoundOut() || read_only_.PendingCount() == 0) return;
  BcastHeartbeatWithCtx(read_only_.LastPendingRequestCtx());
}

void Raft::ReleasePendingReadIndexMessages() {
  if (pending_read_index_messages_.empty() || !CommittedEntryInCurrentTerm()) return;
  std::vector<Message> pending = std::move(pending_read_index_messages_);
  pending_read_index_messages_.clear();
  // All queued first, so that one round confirms them all.
  for (const Message& m : pending) QueueReadIndex(m);
  StartReadRoundIfIdle();
}

void Raft::RespondToReadIndexReq(const Message& req, Index read_index) {
  if (req.from() == kNone || req.from() == id_) {
    read_states_.push_back(ReadState{read_index, req.entries(0).data()});
    return;
  }
  Message resp;
  resp.set_type(pb::MsgReadIndexResp);
  resp.set_to(req.from());
  resp.set_index(read_index);
  *resp.mutable_entries() = req.entries();
  Send(std::move(resp));
}

}  // namespace quorum::raft
