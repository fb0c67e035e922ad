// raft::RawNode — the application's handle on one raft node. Single-threaded
// and synchronous: exactly one thread calls every method (no locks inside).
// Time exists only as Tick() calls; randomness only from Config::rng_seed.
//
// Driving contract (the Ready loop), repeated forever:
//   0. Feed input: Tick() every tick interval; Step(m) for each message
//      received from a peer; Propose/ProposeConfChange/ReadIndex/
//      TransferLeader/Campaign as the application needs.
//   1. If HasReady(), rd = GetReady().
//   2. Persist: rd.hard_state (if set), rd.entries (append, truncating any
//      conflicting suffix) and rd.snapshot (if non-empty) to Storage —
//      durably (fsync) when rd.must_sync.
//   3. Send rd.messages — only after step 2, because responses (votes,
//      append acks) promise durability, and commit indexes sent by a leader
//      count its own (now persisted) log.
//   4. Apply: install rd.snapshot if non-empty, then apply
//      rd.committed_entries in order; for an EntryConfChange entry call
//      ApplyConfChange(cc). Serve reads in rd.read_states once applied.
//   5. Advance() — tells the node rd was handled; only then GetReady again.
//      Between GetReady and Advance the node may still be fed (Step, Tick,
//      Propose...): what that produces goes into the next Ready (the
//      simulation exercises this window).
// Single-threaded: all calls from one thread (or externally serialized).
// Errors: Propose/ProposeConfChange/ReadIndex return ErrProposalDropped when
// they cannot be accepted right now (no leader, transfer in progress, ...);
// a dropped proposal may be retried. Accepted proposals can still be lost on
// leader change: callers wait for the entry to appear in committed_entries.
#ifndef QUORUM_RAFT_RAW_NODE_H_
#define QUORUM_RAFT_RAW_NODE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "raft/config.h"
#include "raft/raft.h"
#include "raft/ready.h"
#include "raft/status.h"

namespace quorum::raft {

class RawNode {
 public:
  // Creates a node from the state in c.storage (hard state, snapshot, log).
  // A fresh cluster bootstraps by giving every member a storage whose
  // initial ConfState lists the founding voters.
  static absl::StatusOr<std::unique_ptr<RawNode>> Create(const Config& c);

  void Tick() { raft_->Tick(); }
  // Starts an election now (e.g. tests, or a single-node bootstrap).
  absl::Status Campaign();
  absl::Status Propose(std::string data);
  // Proposes several entries as one MsgProp: they are appended together and
  // replicated in the same MsgApp (the batching path for busy servers).
  absl::Status ProposeBatch(std::vector<std::string> data);
  absl::Status ProposeConfChange(const ConfChange& cc);
  // Installs a committed ConfChange (step 4); returns the new membership.
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChange& cc);
  // Feeds a message from a peer. ErrStepLocalMsg for local-only types;
  // ErrStepPeerNotFound for a response from a non-member.
  absl::Status Step(Message m);
  // Requests a linearizable read point; the answer arrives as a ReadState
  // carrying rctx (choose unique contexts).
  absl::Status ReadIndex(std::string rctx);
  // Asks the leader to hand leadership to transferee (MoveLeader).
  void TransferLeader(NodeId transferee);
  void ReportUnreachable(NodeId id);
  void ReportSnapshot(NodeId id, bool success);

  bool HasReady() const;
  Ready GetReady();
  void Advance();

  Status GetStatus() const { return raft::GetStatus(*raft_); }
  const Raft& raft() const { return *raft_; }
  Raft& MutableRaftForTesting() { return *raft_; }

 private:
  explicit RawNode(std::unique_ptr<Raft> r);

  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_;
  HardState prev_hard_;
  // What the outstanding Ready handed out (valid while awaiting_advance_).
  bool awaiting_advance_ = false;
  Index ready_last_index_ = 0;
  Term ready_last_term_ = 0;
  Index ready_snapshot_index_ = 0;
  Index ready_applying_ = 0;
  uint64_t ready_applied_bytes_ = 0;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_RAW_NODE_H_
