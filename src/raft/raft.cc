#include "raft/raft.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "raft/check.h"
#include "raft/confchange.h"
#include "raft/errors.h"

namespace quorum::raft {

absl::Status Config::Validate() const {
  if (id == kNone) return absl::InvalidArgumentError("cannot use none as id");
  if (heartbeat_tick <= 0) return absl::InvalidArgumentError("heartbeat tick must be greater than 0");
  if (election_tick <= heartbeat_tick) {
    return absl::InvalidArgumentError("election tick must be greater than heartbeat tick");
  }
  if (storage == nullptr) return absl::InvalidArgumentError("storage cannot be nil");
  if (max_inflight_msgs == 0) {
    return absl::InvalidArgumentError("max inflight messages must be greater than 0");
  }
  if (read_only_option == ReadOnlyOption::kLeaseBased && !check_quorum) {
    return absl::InvalidArgumentError(
        "CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Raft>> Raft::Create(const Config& c) {
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  std::unique_ptr<Logger> owned;
  if (c.logger == nullptr) owned = std::make_unique<DiscardLogger>();
  std::unique_ptr<Raft> r(new Raft(c, std::move(owned)));
  if (absl::Status s = r->LoadState(c); !s.ok()) return s;
  return r;
}

Raft::Raft(const Config& c, std::unique_ptr<Logger> owned_logger)
    : id_(c.id),
      log_(c.storage, c.max_committed_size_per_ready ? c.max_committed_size_per_ready
                                                     : c.max_size_per_msg),
      trk_(c.max_inflight_msgs, c.max_inflight_bytes),
      read_only_(c.read_only_option),
      election_timeout_(c.election_tick),
      heartbeat_timeout_(c.heartbeat_tick),
      check_quorum_(c.check_quorum),
      pre_vote_(c.pre_vote),
      disable_proposal_forwarding_(c.disable_proposal_forwarding),
      admit_conf_change_(c.admit_conf_change),
      max_msg_size_(c.max_size_per_msg),
      max_uncommitted_size_(c.max_uncommitted_entries_size ? c.max_uncommitted_entries_size
                                                           : kNoLimit),
      config_applied_(c.applied),
      rng_(c.rng_seed * 0x9e3779b97f4a7c15ULL + c.id),
      owned_logger_(std::move(owned_logger)),
      logger_(c.logger ? c.logger : owned_logger_.get()) {}

absl::Status Raft::LoadState(const Config& c) {
  auto init = c.storage->GetInitialState();
  if (!init.ok()) return init.status();
  auto restored = RestoreFromConfState(trk_, init->conf_state, log_.LastIndex());
  if (!restored.ok()) return restored.status();
  SwitchToConfig(std::move(*restored));
  const HardState& hs = init->hard_state;
  if (!IsEmptyHardState(hs)) {
    if (hs.commit() < log_.committed() || hs.commit() > log_.LastIndex()) {
      return absl::FailedPreconditionError(absl::StrCat("hs.commit ", hs.commit(),
                                                        " is out of range [", log_.committed(),
                                                        ", ", log_.LastIndex(), "]"));
    }
    log_.CommitTo(hs.commit());
    term_ = hs.term();
    vote_ = hs.vote();
  }
  if (c.applied > 0) {
    if (c.applied > log_.committed()) {
      return absl::FailedPreconditionError(
          absl::StrCat("applied ", c.applied, " beyond committed ", log_.committed()));
    }
    if (c.applied > log_.applied()) log_.AppliedTo(c.applied);
  }
  BecomeFollower(term_, kNone);
  LogInfo(absl::StrCat("newRaft ", id_, " [term: ", term_, ", commit: ", log_.committed(),
                       ", applied: ", log_.applied(), ", lastindex: ", log_.LastIndex(),
                       ", lastterm: ", log_.LastTerm(), "]"));
  return absl::OkStatus();
}

void Raft::LogInfo(const std::string& msg) {
  if (logger_->Enabled(Logger::Level::kInfo)) logger_->Log(Logger::Level::kInfo, msg);
}

HardState Raft::GetHardState() const {
  HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

bool Raft::Promotable() const {
  const Progress* pr = trk_.Get(id_);
  return pr != nullptr && !pr->is_learner && !log_.HasPendingSnapshot();
}

// ---- role changes ---------------------------------------------------------

void Raft::Reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  trk_.ResetVotes();
  const Index last = log_.LastIndex();
  for (auto& [id, pr] : trk_.progress()) {
    const bool learner = pr.is_learner;
    pr = Progress(last + 1, trk_.max_inflight(), trk_.max_inflight_bytes(), learner);
    if (id == id_) pr.match = last;
  }
  pending_conf_index_ = 0;
  uncommitted_size_ = 0;
  read_only_ = ReadOnly(read_only_.option());
  pending_read_index_messages_.clear();
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      election_timeout_ + static_cast<int>(rng_.Uniform(static_cast<uint64_t>(election_timeout_)));
}

void Raft::BecomeFollower(Term term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  state_ = StateType::kFollower;
  LogInfo(absl::StrCat(id_, " became follower at term ", term_));
}

void Raft::BecomeCandidate() {
  RAFT_CHECK(state_ != StateType::kLeader) << "invalid transition [leader -> candidate]";
  Reset(term_ + 1);
  vote_ = id_;
  state_ = StateType::kCandidate;
  LogInfo(absl::StrCat(id_, " became candidate at term ", term_));
}

void Raft::BecomePreCandidate() {
  RAFT_CHECK(state_ != StateType::kLeader) << "invalid transition [leader -> pre-candidate]";
  // A pre-candidate changes neither term nor vote (§9.6).
  trk_.ResetVotes();
  lead_ = kNone;
  state_ = StateType::kPreCandidate;
  LogInfo(absl::StrCat(id_, " became pre-candidate at term ", term_));
}

void Raft::BecomeLeader() {
  RAFT_CHECK(state_ != StateType::kFollower) << "invalid transition [follower -> leader]";
  Reset(term_);
  lead_ = id_;
  state_ = StateType::kLeader;
  Progress* self = trk_.Get(id_);
  RAFT_CHECK(self != nullptr);
  self->BecomeReplicate();
  self->recent_active = true;
  // Conservatively treat every unapplied entry as a possible conf change.
  pending_conf_index_ = log_.LastIndex();
  // §5.4.2 / §8: an empty entry of the new term lets the leader commit (and
  // learn the commit index) without waiting for a client proposal.
  EntryVec empty(1);
  RAFT_CHECK(AppendEntry(std::move(empty))) << "empty entry was dropped";
  LogInfo(absl::StrCat(id_, " became leader at term ", term_));
}

// ---- ticks ----------------------------------------------------------------

void Raft::Tick() {
  if (state_ == StateType::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    Message m;
    m.set_from(id_);
    m.set_type(pb::MsgHup);
    (void)Step(std::move(m));
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      Message m;
      m.set_from(id_);
      m.set_type(pb::MsgCheckQuorum);
      (void)Step(std::move(m));
    }
    // A transfer that did not finish within an election timeout is aborted.
    if (state_ == StateType::kLeader && lead_transferee_ != kNone) AbortLeaderTransfer();
  }
  if (state_ != StateType::kLeader) return;
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    Message m;
    m.set_from(id_);
    m.set_type(pb::MsgBeat);
    (void)Step(std::move(m));
  }
}

// ---- log ------------------------------------------------------------------

bool Raft::AppendEntry(EntryVec es) {
  Index li = log_.LastIndex();
  for (size_t i = 0; i < es.size(); ++i) {
    es[i].set_term(term_);
    es[i].set_index(li + 1 + i);
  }
  if (!IncreaseUncommittedSize(es)) return false;
  li = log_.Append(std::move(es));
  // The leader's own append counts toward the quorum: the Ready contract
  // persists these entries before anything that depends on them is sent.
  trk_.Get(id_)->MaybeUpdate(li);
  MaybeCommit();
  return true;
}

bool Raft::MaybeCommit() { return log_.MaybeCommit(trk_.Committed(), term_); }

bool Raft::IncreaseUncommittedSize(const EntryVec& ents) {
  const uint64_t s = PayloadsSize(ents);
  if (uncommitted_size_ > 0 && s > 0 && uncommitted_size_ + s > max_uncommitted_size_) {
    return false;
  }
  uncommitted_size_ += s;
  return true;
}

void Raft::ReduceUncommittedSize(uint64_t s) {
  if (uncommitted_size_ == 0) return;
  uncommitted_size_ = s > uncommitted_size_ ? 0 : uncommitted_size_ - s;
}

bool Raft::CommittedEntryInCurrentTerm() const {
  return log_.ZeroTermOnErr(log_.committed()) == term_;
}

bool Raft::HasUnappliedConfChanges() const {
  if (log_.applied() >= log_.committed()) return false;
  auto ents = log_.Slice(log_.applied() + 1, log_.committed() + 1, kNoLimit);
  if (!ents.ok()) return false;
  for (const Entry& e : *ents) {
    if (e.type() == pb::EntryConfChange) return true;
  }
  return false;
}

}  // namespace quorum::raft
