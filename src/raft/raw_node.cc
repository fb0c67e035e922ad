#include "raft/raw_node.h"

#include <utility>

#include "raft/check.h"
#include "raft/errors.h"

namespace quorum::raft {

absl::StatusOr<std::unique_ptr<RawNode>> RawNode::Create(const Config& c) {
  auto r = Raft::Create(c);
  if (!r.ok()) return r.status();
  return std::unique_ptr<RawNode>(new RawNode(std::move(*r)));
}

RawNode::RawNode(std::unique_ptr<Raft> r) : raft_(std::move(r)) {
  prev_soft_ = raft_->GetSoftState();
  prev_hard_ = raft_->GetHardState();
}

absl::Status RawNode::Campaign() {
  Message m;
  m.set_type(pb::MsgHup);
  return raft_->Step(std::move(m));
}

absl::Status RawNode::Propose(std::string data) {
  Message m;
  m.set_type(pb::MsgProp);
  m.set_from(raft_->id());
  m.add_entries()->set_data(std::move(data));
  return raft_->Step(std::move(m));
}

absl::Status RawNode::ProposeBatch(std::vector<std::string> data) {
  if (data.empty()) return absl::OkStatus();
  Message m;
  m.set_type(pb::MsgProp);
  m.set_from(raft_->id());
  m.mutable_entries()->Reserve(static_cast<int>(data.size()));
  for (std::string& d : data) m.add_entries()->set_data(std::move(d));
  return raft_->Step(std::move(m));
}

absl::Status RawNode::ProposeConfChange(const ConfChange& cc) {
  Message m;
  m.set_type(pb::MsgProp);
  Entry* e = m.add_entries();
  e->set_type(pb::EntryConfChange);
  e->set_data(cc.SerializeAsString());
  return raft_->Step(std::move(m));
}

absl::StatusOr<ConfState> RawNode::ApplyConfChange(const ConfChange& cc) {
  return raft_->ApplyConfChange(cc);
}

absl::Status RawNode::Step(Message m) {
  if (IsLocalMsg(m.type())) return ErrStepLocalMsg();
  if (IsResponseMsg(m.type()) && raft_->tracker().Get(m.from()) == nullptr) {
    return ErrStepPeerNotFound();
  }
  return raft_->Step(std::move(m));
}

absl::Status RawNode::ReadIndex(std::string rctx) {
  Message m;
  m.set_type(pb::MsgReadIndex);
  m.add_entries()->set_data(std::move(rctx));
  return raft_->Step(std::move(m));
}

void RawNode::TransferLeader(NodeId transferee) {
  Message m;
  m.set_type(pb::MsgTransferLeader);
  m.set_from(transferee);
  (void)raft_->Step(std::move(m));
}

void RawNode::ReportUnreachable(NodeId id) {
  Message m;
  m.set_type(pb::MsgUnreachable);
  m.set_from(id);
  (void)raft_->Step(std::move(m));
}

void RawNode::ReportSnapshot(NodeId id, bool success) {
  Message m;
  m.set_type(pb::MsgSnapStatus);
  m.set_from(id);
  m.set_reject(!success);
  (void)raft_->Step(std::move(m));
}

bool RawNode::HasReady() const {
  if (awaiting_advance_) return false;
  const Raft& r = *raft_;
  if (!(r.GetSoftState() == prev_soft_)) return true;
  const HardState hs = r.GetHardState();
  if (!IsEmptyHardState(hs) && !HardStateEqual(hs, prev_hard_)) return true;
  const RaftLog& log = r.raft_log();
  if (log.HasPendingSnapshot()) return true;
  if (!r.msgs().empty() || !log.unstable().entries().empty() || log.HasNextCommittedEnts()) {
    return true;
  }
  return !r.read_states().empty();
}

Ready RawNode::GetReady() {
  RAFT_CHECK(!awaiting_advance_) << "GetReady called twice without Advance";
  Raft& r = *raft_;
  RaftLog& log = r.raft_log();
  Ready rd;
  const SoftState ss = r.GetSoftState();
  if (!(ss == prev_soft_)) {
    rd.soft_state = ss;
    prev_soft_ = ss;
  }
  const HardState hs = r.GetHardState();
  if (!IsEmptyHardState(hs) && !HardStateEqual(hs, prev_hard_)) {
    rd.must_sync = hs.term() != prev_hard_.term() || hs.vote() != prev_hard_.vote();
    rd.hard_state = hs;
    prev_hard_ = hs;
  }
  rd.entries = log.unstable().entries();
  if (log.unstable().snapshot()) rd.snapshot = *log.unstable().snapshot();
  rd.committed_entries = log.NextCommittedEnts();
  rd.messages = std::move(r.msgs());
  r.msgs().clear();
  r.msgs().reserve(rd.messages.size());  // one allocation for the next batch
  rd.read_states = std::move(r.read_states());
  r.read_states().clear();
  rd.must_sync = rd.must_sync || !rd.entries.empty() || !IsEmptySnap(rd.snapshot);

  ready_last_index_ = rd.entries.empty() ? 0 : rd.entries.back().index();
  ready_last_term_ = rd.entries.empty() ? 0 : rd.entries.back().term();
  ready_snapshot_index_ = rd.snapshot.metadata().index();
  ready_applying_ = rd.committed_entries.empty() ? 0 : rd.committed_entries.back().index();
  ready_applied_bytes_ = PayloadsSize(rd.committed_entries);
  if (ready_applying_ != 0) log.AcceptApplying(ready_applying_);
  awaiting_advance_ = true;
  return rd;
}

void RawNode::Advance() {
  RAFT_CHECK(awaiting_advance_) << "Advance called without GetReady";
  awaiting_advance_ = false;
  RaftLog& log = raft_->raft_log();
  if (ready_last_index_ != 0) log.StableTo(ready_last_index_, ready_last_term_);
  if (ready_snapshot_index_ != 0) {
    log.StableSnapTo(ready_snapshot_index_);
    log.AppliedSnap(ready_snapshot_index_);
  }
  if (ready_applying_ != 0) {
    log.AppliedTo(ready_applying_);
    raft_->ReduceUncommittedSize(ready_applied_bytes_);
  }
}

}  // namespace quorum::raft
