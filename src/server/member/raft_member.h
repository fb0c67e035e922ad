// RaftMember: drives this member's raft node, and is the Proposer the
// services use when the member runs raft (issue #4).
//
// Two threads, pipelined (etcd's raftNode/applyAll split):
//   raft thread, per iteration (raw_node.h's contract): run queued inputs
//     (peer messages, proposals, reads, conf changes) -> tick when due ->
//     for each Ready: send appends early (leader) -> persist (one
//     WriteBatch, fsynced when must_sync) -> send the rest -> hand committed
//     entries and ReadIndex results to the apply thread -> Advance.
//   apply thread: applies committed entries in log order (one KvStore group
//     commit per batch, unsynced: the raft log is the durable record),
//     answers waiters, serves ReadIndex reads whose index is applied, and
//     writes state snapshots.
// So the raft thread persists and replicates batch N+1 while batch N is
// applied. Conf changes and received snapshots change raft's own state:
// for those the raft thread first waits until the apply thread is idle and
// then applies (or installs) them itself, so no two threads ever touch the
// store at once. Likewise a small batch found with the apply thread idle and
// nothing else queued is applied on the raft thread (a hand-off would only
// add latency to a lone request).
// Writes are acknowledged only after their entry is committed (durable on a
// quorum) and applied. Linearizable reads go through ReadBarrier(): one
// ReadIndex round serves every read queued while it was in flight, once the
// apply index reaches the read index.
//
// Peer messages that find the loop idle are not handed to the raft thread:
// the transport thread that received them runs that one iteration itself
// (step, persist, send, commit) under the same ownership flag, so
// iterations never overlap; a put's round trip then wakes no raft thread on
// either side. A Ready with a snapshot or conf change, ticks and stopping
// stay with the raft thread. Below, "raft thread" means whichever thread
// owns the loop, unless it says otherwise.
//
// Thread-safety: public methods are thread-safe; they enqueue closures for
// the loop. ProposeDone callbacks run on the apply thread or the loop's
// thread (for ProposeNow possibly the caller's, before it returns), barrier
// callbacks on a small read pool, conf-change callbacks on the loop's
// thread; none may block.
#ifndef QUORUM_SERVER_MEMBER_RAFT_MEMBER_H_
#define QUORUM_SERVER_MEMBER_RAFT_MEMBER_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "mvcc/kv_store.h"
#include "raft/raw_node.h"
#include "server/apply/applier.h"
#include "server/member/membership.h"
#include "server/member/peer_faults.h"
#include "server/member/raft_storage.h"
#include "server/proposer.h"
#include "server/transport/transport.h"
#include "util/thread_pool.h"

namespace quorum::server {

using StatusCallback = absl::AnyInvocable<void(absl::Status) &&>;

struct RaftMemberOptions {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> client_urls;
  int heartbeat_ms = 100;
  int election_ms = 1000;
  uint64_t snapshot_count = 100000;
  // Entries kept after a snapshot so slow followers catch up from the log.
  uint64_t snapshot_catchup_entries = 5000;
  std::string snapshot_dir;
  // etcd's request timeout: 5 s + 2 election timeouts.
  int request_timeout_ms = 7000;
  // Called (on the raft thread, must not block) once this member has been
  // removed from the cluster; etcd exits then, and so do we.
  std::function<void()> on_removed;
  // Called (must not block) with true once this member, as leader, applies
  // the empty entry of its term (everything committed before is applied:
  // the lessor may take over; apply thread), and with false when it stops
  // being leader (the thread running the raft loop: the raft thread or a
  // transport thread, see above). Calls never overlap.
  std::function<void(bool is_leader)> on_leader_change;
  // Called on the raft thread (the apply thread idle) after a state snapshot
  // replaced the store's column families (state derived from them must be
  // rebuilt).
  std::function<void()> on_state_reloaded;
  // etcd's --strict-reconfig-check: the leader refuses membership changes
  // that would leave too few started or reachable voters (reconfig_check.h).
  bool strict_reconfig_check = true;
  // Test only: partitions (see peer_faults.h).
  std::shared_ptr<PeerFaults> peer_faults;
  // Test only: runs on the snapshot writer thread before the state file is
  // written.
  std::function<void()> before_snapshot_write;
};

class RaftMember final : public Proposer, public transport::Handler {
 public:
  // `storage` holds this member's log (bootstrapped or restored already).
  static absl::StatusOr<std::unique_ptr<RaftMember>> Create(
      RaftMemberOptions opts, mvcc::Backend* backend, mvcc::KvStore* store, Applier* applier,
      Membership* membership, std::unique_ptr<RaftStorage> storage);
  ~RaftMember() override;

  // Starts the loop; `transport` must outlive the member.
  void Start(transport::Transport* transport);
  // Hands leadership away when leading (graceful), then stops the loop;
  // pending requests fail with ErrStopped.
  void Stop();

  // Proposer
  void Propose(internalpb::InternalRequest req, ProposeDone done) override;
  void ProposeNow(internalpb::InternalRequest req, ProposeDone done) override;
  uint64_t Term() const override { return term_.load(); }
  uint64_t AppliedIndex() const override { return applied_.load(); }
  uint64_t CommittedIndex() const override { return committed_.load(); }
  uint64_t LeaderId() const override { return leader_.load(); }
  bool IsLearner() const;

  // Runs `fn` once everything committed before the call is applied here.
  void ReadBarrier(ReadReady fn) override;
  void WaitApplied(ReadReady fn) override;
  // Proposes a membership change; `done` runs when it is applied here.
  void ProposeConfChange(raftpb::ConfChange cc, StatusCallback done);
  // etcd's promote rule: a learner may be promoted only when its log is
  // within 90% of the leader's. Checked where the leader's progress is known
  // (on the leader); elsewhere it passes.
  void CheckLearnerReady(uint64_t id, StatusCallback done);
  // Asks the leader (this member) to transfer leadership to `to`.
  void MoveLeader(uint64_t to, StatusCallback done);

  // transport::Handler
  void OnMessages(std::vector<raftpb::Message> msgs) override;
  void ReportUnreachable(uint64_t peer_id) override;
  void ReportSnapshot(uint64_t peer_id, bool ok) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    ProposeDone done;
    Clock::time_point deadline;
  };
  struct PendingRead {
    StatusCallback fn;
    Clock::time_point deadline;
  };
  struct ParkedProposal {
    std::string data;
    uint64_t id;
  };
  using ReadyReads = std::vector<std::pair<uint64_t, std::vector<PendingRead>>>;  // (index, reads)
  // Work for the apply thread: committed entries (no conf changes) and the
  // reads that may run once the apply index reaches their read index.
  struct ApplyJob {
    raft::EntryVec ents;
    ReadyReads reads;
  };

  RaftMember(RaftMemberOptions opts, mvcc::Backend* backend, mvcc::KvStore* store,
             Applier* applier, Membership* membership, std::unique_ptr<RaftStorage> storage);

  // A unit of work for the raft thread; `stopped` is true when the loop is
  // gone, and the task must then only fail its callback.
  using Task = absl::AnyInvocable<void(bool stopped) &&>;
  // Queues `fn` for the loop (runs it with stopped=true once stopping).
  // With run_here_if_idle, a caller finding the loop idle runs the
  // iteration itself (RunIterationInline): for callers that hold no locks.
  void Enqueue(Task fn, bool run_here_if_idle = false);
  // Queues `fn` for the raft thread itself, never an inline runner: work
  // that may wait for gRPC callbacks or disk (peer links, snapshots).
  void EnqueueForRaftThread(Task fn);
  void Loop();
  // One loop iteration without a tick, on the calling (transport) thread,
  // which has taken loop_owned_.
  void RunIterationInline();
  void OnTick(Clock::time_point now);
  // Handles every Ready; a transport thread (inline_runner) leaves one that
  // NeedsRaftThread in deferred_ready_ and stops there.
  void ProcessReady(bool inline_runner);
  void HandleReady(raft::Ready rd);
  static bool NeedsRaftThread(const raft::Ready& rd);
  void SetLeader(uint64_t lead);
  absl::Status InstallSnapshot(const raft::Snapshot& snap);
  // Deletes received snapshot files (snap/recv) of index <= `upto`, except
  // the one raft's snapshot record names: they are covered by a newer state.
  void PruneReceivedSnapshots(uint64_t upto);
  // Applies `ents` and answers their waiters. Runs on the apply thread, or
  // on the raft thread while the apply thread is idle (DrainApply).
  void ApplyEntries(const raft::EntryVec& ents);
  void ApplyNormal(const raft::Entry& e, std::vector<std::pair<ProposeDone,
                   absl::StatusOr<internalpb::InternalResponse>>>* replies);
  void ApplyConfChangeEntry(const raft::Entry& e, std::vector<std::pair<uint64_t, absl::Status>>* cc_replies);
  // Raft thread: answers the caller waiting on this membership change.
  void AnswerConfChange(uint64_t request_id, const absl::Status& st);
  // The leader's check of a membership change (raft thread): validity and,
  // with strict_reconfig_check, the quorum checks; `match` is each member's
  // replicated index as raft tracks it (for a promotion: is the learner in
  // sync).
  absl::Status CheckConfChange(const raftpb::ConfChange& cc,
                               const internalpb::ConfChangeContext& ctx,
                               const std::map<raft::NodeId, uint64_t>& match) const;
  void IssueReadIndex(Clock::time_point now);
  // Queues a proposal for this loop iteration (parked when leaderless).
  void Submit(internalpb::InternalRequest req, ProposeDone done, bool run_here_if_idle);
  void ProposeData(uint64_t id, std::string data);
  void FlushProposals();
  void MaybePublishAttributes();
  void SyncTransportPeers();
  void FailEverything(const absl::Status& s);

  // Apply pipeline (raft_member_apply.cc).
  void StartApply();
  void StopApply();                 // raft thread; unapplied jobs stay unapplied
  void QueueApply(ApplyJob job);    // raft thread; waits while the queue is long
  void DrainApply();                // raft thread; returns when the apply thread is idle
  bool ApplyIdle();                 // raft thread: nothing queued, nothing applying
  bool InboxEmpty();
  bool HasWaiters();  // proposals of this member awaiting their answer
  // QueueApply would wait for the apply thread (backpressure): an inline
  // runner (gRPC or transport thread) leaves such a Ready to the raft thread.
  bool ApplyQueueNearlyFull(const raft::Ready& rd);
  // Committed batches up to this size are applied on the raft thread when
  // the apply thread is idle and no other work is queued.
  static constexpr size_t kInlineApplyEntries = 8;
  // Applied raft entries kept in memory (between this and twice this; the
  // rest of the log since the last snapshot is read from RocksDB on demand).
  // 4096 entries cover a follower a second or so behind under full load.
  static constexpr uint64_t kLogEntriesInMemory = 4096;
  // Client data per proposal batch (one MsgProp; a follower forwards it whole).
  static constexpr size_t kMaxProposalBatchBytes = 8 << 20;
  void ApplyLoop();
  void ServeReadyReads();           // apply thread: reads whose index is applied
  // After entries were applied on the loop's thread: wakes the apply thread
  // when a snapshot is due or reads are parked there.
  void WakeApplyAfterInlineApply();
  // Fails the reads past their deadline with etcd's timeout; keeps the rest.
  static void ExpireReads(std::vector<PendingRead>* reads, Clock::time_point now);
  void ServeReads(std::vector<PendingRead> reads);  // on the read pool; their index is applied
  // Whether `applied` is snapshot_count entries past the newest snapshot.
  bool SnapshotDue(uint64_t applied) const;
  void MaybeSnapshot();             // apply thread: starts writing the state file
  void JoinSnapshotWriter();        // waits for the state file writer, if any
  // Moves the reads ReadBarrier parked into reads_to_issue_ (raft thread).
  void TakePendingReadsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RegisterSnapshot(uint64_t index, raft::ConfState cs, std::string path,
                        int64_t write_ms);  // raft thread

  RaftMemberOptions opts_;
  mvcc::Backend* backend_;
  mvcc::KvStore* store_;
  Applier* applier_;
  Membership* membership_;
  std::unique_ptr<RaftStorage> storage_;
  std::unique_ptr<raft::RawNode> node_;
  transport::Transport* transport_ = nullptr;

  std::atomic<uint64_t> term_{0}, applied_{0}, committed_{0}, leader_{0};
  std::atomic<uint64_t> next_id_;

  // Raft-thread state.
  raft::ConfState conf_state_;  // written only while the apply thread is idle
  std::atomic<uint64_t> snapshot_index_{0};
  std::deque<ParkedProposal> parked_;
  std::vector<ParkedProposal> to_propose_;
  // Conf change request id (or ~target of a MoveLeader) -> caller: several
  // MoveLeader calls to one target may wait at once.
  std::multimap<uint64_t, std::pair<StatusCallback, Clock::time_point>> cc_waiters_;
  // When each peer was last heard from: "active" for the reconfig checks.
  std::map<uint64_t, Clock::time_point> last_heard_;
  std::vector<PendingRead> reads_to_issue_;
  std::map<std::string, std::pair<std::vector<PendingRead>, Clock::time_point>> reads_in_flight_;
  std::atomic<bool> attributes_published_{false};  // set by a reply callback
  Clock::time_point attributes_retry_at_{};
  bool removed_ = false;

  // Proposals awaiting their apply: registered by the raft thread, answered
  // by whichever thread applies.
  absl::Mutex waiters_mu_;
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(waiters_mu_);

  // leader_ changes and the lessor callbacks, which must not interleave.
  absl::Mutex leader_mu_;
  // Term whose leadership on_leader_change(true) was last told about.
  uint64_t promoted_term_ ABSL_GUARDED_BY(leader_mu_) = 0;

  absl::Mutex peers_mu_;
  std::map<uint64_t, std::vector<std::string>> known_peers_ ABSL_GUARDED_BY(peers_mu_);

  absl::Mutex mu_;
  std::vector<Task> inbox_ ABSL_GUARDED_BY(mu_);
  std::vector<Task> raft_only_ ABSL_GUARDED_BY(mu_);  // EnqueueForRaftThread
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Linearizable reads queued by ReadBarrier. While a ReadIndex round is in
  // flight they wait here without waking the raft thread: the round's end
  // takes them all into the next round (one wake-up per round, not per read).
  std::vector<PendingRead> pending_reads_ ABSL_GUARDED_BY(mu_);
  bool read_round_in_flight_ ABSL_GUARDED_BY(mu_) = false;  // mirrors !reads_in_flight_.empty()
  // Whoever runs a loop iteration owns the raft node: the raft thread, or a
  // transport thread that found the loop idle and runs one iteration for
  // the messages it received (RunIterationInline).
  // Owned until the raft thread's first wait: messages that arrive before
  // Start() queue.
  bool loop_owned_ ABSL_GUARDED_BY(mu_) = true;
  // The raft thread runs the next iteration: a transport thread left
  // deferred_ready_ for it, raft_only_ has work, or a tick or stop is waiting.
  bool raft_thread_turn_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<raft::Ready> deferred_ready_;  // owned by the loop owner
  std::thread thread_;

  // Apply pipeline.
  absl::Mutex apply_mu_;
  std::vector<ApplyJob> apply_queue_ ABSL_GUARDED_BY(apply_mu_);
  size_t apply_queued_entries_ ABSL_GUARDED_BY(apply_mu_) = 0;
  bool apply_busy_ ABSL_GUARDED_BY(apply_mu_) = false;
  bool apply_stop_ ABSL_GUARDED_BY(apply_mu_) = false;
  std::thread apply_thread_;
  ReadyReads reads_ready_;            // apply thread
  // reads_ready_.size(): an apply on the loop's thread wakes the apply thread
  // when reads there wait for an index.
  std::atomic<size_t> reads_parked_{0};
  std::atomic<bool> snapshot_pending_{false};  // a state file is being written or registered
  // Writes the state file of the snapshot in progress (MaybeSnapshot).
  std::thread snapshot_writer_;
  // Serves reads whose ReadIndex is applied, off the apply thread; also
  // returns freed heap to the OS after a snapshot, off the raft loop.
  util::ThreadPool read_pool_{2, "read-pool"};
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_RAFT_MEMBER_H_
