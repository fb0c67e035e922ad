// raft::Raft — the consensus state machine of one node (Ongaro & Ousterhout,
// "In Search of an Understandable Consensus Algorithm", extended version, and
// Ongaro's thesis). Driven only through Step() and Tick(); produces outbound
// messages in msgs() and log/commit changes in raft_log(). No I/O, no
// threads, no clock. Applications use RawNode, which wraps this class.
//
// Layout: raft.cc (construction, role changes, ticks, appends/commit),
// raft_send.cc (messages, flow control), raft_config.cc (snapshot restore,
// config changes), raft_step.cc (term rules and voting common to all roles),
// step_leader.cc / step_candidate.cc / step_follower.cc (per role).
//
// Invariants: a node votes at most once per term (vote_ persisted before any
// vote response leaves); lead_ == id_ iff state_ == kLeader; a leader commits
// only entries of its own term by counting (Figure 8 rule).
#ifndef QUORUM_RAFT_RAFT_H_
#define QUORUM_RAFT_RAFT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "raft/confchange.h"
#include "raft/config.h"
#include "raft/raft_log.h"
#include "raft/read_only.h"
#include "raft/tracker/progress_tracker.h"
#include "util/rng.h"

namespace quorum::raft {

// Context marking a campaign triggered by leadership transfer: voters grant
// it even inside a leader lease.
inline constexpr char kCampaignTransfer[] = "CampaignTransfer";

class Raft {
 public:
  static absl::StatusOr<std::unique_ptr<Raft>> Create(const Config& c);

  absl::Status Step(Message m);
  void Tick();
  // Installs a committed ConfChange; returns the new configuration.
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChange& cc);
  // Called when committed entries were applied (for the uncommitted budget).
  void ReduceUncommittedSize(uint64_t applied_payload_bytes);

  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId lead() const { return lead_; }
  StateType state() const { return state_; }
  bool is_learner() const { return is_learner_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  Index pending_conf_index() const { return pending_conf_index_; }
  SoftState GetSoftState() const { return SoftState{lead_, state_}; }
  HardState GetHardState() const;
  RaftLog& raft_log() { return log_; }
  const RaftLog& raft_log() const { return log_; }
  const ProgressTracker& tracker() const { return trk_; }
  std::vector<Message>& msgs() { return msgs_; }
  const std::vector<Message>& msgs() const { return msgs_; }
  std::vector<ReadState>& read_states() { return read_states_; }
  const std::vector<ReadState>& read_states() const { return read_states_; }
  int election_elapsed() const { return election_elapsed_; }
  int randomized_election_timeout() const { return randomized_election_timeout_; }
  // Can this node become leader? (a voter of its own configuration)
  bool Promotable() const;

  // Exposed for scenario tests that script exact transitions.
  void BecomeFollower(Term term, NodeId lead);
  void BecomeCandidate();
  void BecomePreCandidate();
  void BecomeLeader();
  void SetRandomizedElectionTimeoutForTesting(int t) { randomized_election_timeout_ = t; }

 private:
  enum class CampaignType { kPreElection, kElection, kTransfer };

  Raft(const Config& c, std::unique_ptr<Logger> owned_logger);
  absl::Status LoadState(const Config& c);

  // raft.cc, raft_send.cc, raft_config.cc
  void Reset(Term term);
  void ResetRandomizedElectionTimeout();
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  void TickElection();
  void TickHeartbeat();
  void Send(Message m);
  void SendAppend(NodeId to) { MaybeSendAppend(to, true); }
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  void SendHeartbeat(NodeId to, const std::string& ctx);
  void SendTimeoutNow(NodeId to);
  void BcastAppend();
  void BcastHeartbeat();
  void BcastHeartbeatWithCtx(const std::string& ctx);
  bool AppendEntry(EntryVec es);
  bool MaybeCommit();
  bool IncreaseUncommittedSize(const EntryVec& ents);
  bool Restore(const Snapshot& s);
  void SwitchToConfig(ConfChangeResult r);
  void AbortLeaderTransfer() { lead_transferee_ = kNone; }
  bool HasUnappliedConfChanges() const;
  bool CommittedEntryInCurrentTerm() const;
  void LogInfo(const std::string& msg);

  // raft_step.cc
  void Hup(CampaignType t);
  void Campaign(CampaignType t);
  ProgressTracker::Tally Poll(NodeId id, MessageType t, bool granted);
  void HandleVoteRequest(const Message& m);

  // step_leader.cc
  absl::Status StepLeader(Message& m);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);
  void HandleTransferLeader(const Message& m, Progress& pr);
  void SendReadIndexResponse(const Message& m);
  void QueueReadIndex(const Message& m);
  void StartReadRoundIfIdle();
  void ReleasePendingReadIndexMessages();
  void RespondToReadIndexReq(const Message& req, Index read_index);

  // step_candidate.cc
  absl::Status StepCandidate(Message& m);

  // step_follower.cc
  absl::Status StepFollower(Message& m);
  void HandleAppendEntries(Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);

  const NodeId id_;
  Term term_ = 0;
  NodeId vote_ = kNone;
  NodeId lead_ = kNone;
  StateType state_ = StateType::kFollower;
  bool is_learner_ = false;
  RaftLog log_;
  ProgressTracker trk_;
  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
  ReadOnly read_only_;
  // Leader only: the transfer target, or kNone.
  NodeId lead_transferee_ = kNone;
  // Leader only: index of the latest proposed ConfChange; a new one is only
  // accepted once applied_ >= pending_conf_index_ (one change in flight).
  Index pending_conf_index_ = 0;
  uint64_t uncommitted_size_ = 0;
  // ReadIndex requests that arrived before this leader committed an entry
  // of its term (§6.4 step 1); answered once it has.
  std::vector<Message> pending_read_index_messages_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  const int election_timeout_;
  const int heartbeat_timeout_;
  const bool check_quorum_;
  const bool pre_vote_;
  const bool disable_proposal_forwarding_;
  const std::function<bool(const Entry&, const std::map<NodeId, Progress>&, std::string*)>
      admit_conf_change_;
  const uint64_t max_msg_size_;
  const uint64_t max_uncommitted_size_;
  const Index config_applied_;
  util::Rng rng_;
  std::unique_ptr<Logger> owned_logger_;
  Logger* logger_;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_RAFT_H_
