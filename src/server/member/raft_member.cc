#include "server/member/raft_member.h"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "raft/errors.h"
#include "server/errors.h"
#include "server/member/message_coalescer.h"
#include "server/member/reconfig_check.h"
#include "server/member/state_snapshot.h"
#include "util/coding.h"
#include "util/member_id.h"

namespace quorum::server {

using internalpb::InternalRequest;
using internalpb::InternalResponse;

absl::StatusOr<std::unique_ptr<RaftMember>> RaftMember::Create(
    RaftMemberOptions opts, mvcc::Backend* backend, mvcc::KvStore* store, Applier* applier,
    Membership* membership, std::unique_ptr<RaftStorage> storage) {
  std::unique_ptr<RaftMember> m(
      new RaftMember(std::move(opts), backend, store, applier, membership, std::move(storage)));
  // A crash after persisting a received snapshot but before installing it
  // leaves the state machine behind the log's start: install it now.
  auto snap = m->storage_->GetSnapshot();
  if (!snap.ok()) return snap.status();
  m->snapshot_index_ = snap->metadata().index();
  m->conf_state_ = snap->metadata().conf_state();
  if (!raft::IsEmptySnap(*snap) && store->ConsistentIndex() < snap->metadata().index()) {
    if (auto st = m->InstallSnapshot(*snap); !st.ok()) return st;
  }
  raft::Config c;
  c.id = m->opts_.id;
  c.heartbeat_tick = 1;
  c.election_tick = std::max(2, m->opts_.election_ms / std::max(1, m->opts_.heartbeat_ms));
  c.storage = m->storage_.get();
  // Entries after the snapshot are handed out again so that conf changes
  // reach raft; KV entries at or below consistent_index are skipped.
  c.applied = m->snapshot_index_;
  c.check_quorum = true;
  c.pre_vote = true;
  c.max_size_per_msg = 1 << 20;
  c.max_inflight_msgs = 512;
  c.max_uncommitted_entries_size = 1 << 30;
  c.admit_conf_change = [m = m.get()](const raft::Entry& e,
                                      const std::map<raft::NodeId, raft::Progress>& prs,
                                      std::string* refusal) {
    raftpb::ConfChange cc;
    internalpb::ConfChangeContext ctx;
    if (!cc.ParseFromString(e.data())) return true;  // raft refuses it itself
    ctx.ParseFromString(cc.context());
    std::map<raft::NodeId, uint64_t> match;
    for (const auto& [id, pr] : prs) match[id] = pr.match;
    absl::Status st = m->CheckConfChange(cc, ctx, match);
    if (st.ok()) return true;
    spdlog::warn("refusing membership change of {}: {}", util::IdToHex(cc.node_id()),
                 std::string(st.message()));
    // The proposer (a follower, whose own check lacks the leader's view)
    // answers with this reason when the record applies, not with a timeout.
    InternalRequest r;
    auto* rc = r.mutable_refused_conf_change();
    rc->set_request_id(ctx.request_id());
    rc->set_proposer_id(ctx.proposer_id());
    rc->set_code(static_cast<int32_t>(st.code()));
    rc->set_message(std::string(st.message()));
    *refusal = r.SerializeAsString();
    return false;
  };
  c.rng_seed = m->opts_.id ^ static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  auto node = raft::RawNode::Create(c);
  if (!node.ok()) return node.status();
  m->node_ = std::move(*node);
  // Raft hands the entries after the snapshot out again; applied_ follows
  // that replay (entries at or below consistent_index are skipped, not
  // re-applied), so conf_state_ always matches applied_: a state snapshot
  // taken during the replay would record an older membership.
  m->applied_ = m->snapshot_index_.load();
  m->term_ = m->storage_->GetInitialState()->hard_state.term();
  m->committed_ = m->storage_->GetInitialState()->hard_state.commit();
  return m;
}

RaftMember::RaftMember(RaftMemberOptions opts, mvcc::Backend* backend, mvcc::KvStore* store,
                       Applier* applier, Membership* membership,
                       std::unique_ptr<RaftStorage> storage)
    : opts_(std::move(opts)),
      backend_(backend),
      store_(store),
      applier_(applier),
      membership_(membership),
      storage_(std::move(storage)),
      // Ids must never repeat across restarts: start from the clock.
      next_id_(static_cast<uint64_t>(
                   std::chrono::system_clock::now().time_since_epoch().count()) << 4) {}

RaftMember::~RaftMember() {
  Stop();
  JoinSnapshotWriter();  // members driven without Start() apply on the caller's thread
}

void RaftMember::Start(transport::Transport* transport) {
  transport_ = transport;
  SyncTransportPeers();
  StartApply();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "raft");
    Loop();
  });
}

void RaftMember::Stop() {
  if (!thread_.joinable()) return;
  // Graceful: a leader hands over so the cluster does not wait out an
  // election timeout.
  if (leader_.load() == opts_.id && membership_->VoterCount() > 1) {
    absl::Notification moved;
    Enqueue([this, &moved](bool stopped) {
      if (stopped) return moved.Notify();
      raft::Status st = node_->GetStatus();
      uint64_t best = 0, best_match = 0;
      for (const auto& [id, pr] : st.progress) {
        if (id == opts_.id) continue;
        if (pr.match >= best_match) {
          best = id;
          best_match = pr.match;
        }
      }
      if (best != 0) node_->TransferLeader(best);
      moved.Notify();
    });
    moved.WaitForNotificationWithTimeout(absl::Seconds(1));
    for (int i = 0; i < 20 && leader_.load() == opts_.id; ++i) {
      absl::SleepFor(absl::Milliseconds(opts_.heartbeat_ms));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void RaftMember::Enqueue(Task fn, bool run_here_if_idle) {
  bool run_here = false;
  {
    absl::ReleasableMutexLock lock(&mu_);
    if (stopping_) {
      lock.Release();
      return std::move(fn)(/*stopped=*/true);
    }
    inbox_.push_back(std::move(fn));
    // The loop idle: run this iteration here rather than wake the raft
    // thread for it (one thread hand-off fewer). A Ready that installs a
    // snapshot or a conf change is left to the raft thread (ProcessReady).
    if (run_here_if_idle && !loop_owned_ && !raft_thread_turn_) {
      loop_owned_ = true;
      run_here = true;
    }
  }
  if (run_here) RunIterationInline();
}

void RaftMember::EnqueueForRaftThread(Task fn) {
  absl::ReleasableMutexLock lock(&mu_);
  if (stopping_) {
    lock.Release();
    return std::move(fn)(/*stopped=*/true);
  }
  raft_only_.push_back(std::move(fn));
  raft_thread_turn_ = true;  // no inline runner starts before the raft thread takes it
}

void RaftMember::Propose(InternalRequest req, ProposeDone done) {
  Submit(std::move(req), std::move(done), /*run_here_if_idle=*/false);
}

void RaftMember::ProposeNow(InternalRequest req, ProposeDone done) {
  Submit(std::move(req), std::move(done), /*run_here_if_idle=*/true);
}

void RaftMember::Submit(InternalRequest req, ProposeDone done, bool run_here_if_idle) {
  const uint64_t id = next_id_.fetch_add(1);
  req.mutable_header()->set_id(id);
  req.mutable_header()->set_member_id(opts_.id);
  std::string data = req.SerializeAsString();
  Enqueue(
      [this, id, data = std::move(data), done = std::move(done)](bool stopped) mutable {
        if (stopped || removed_) {
          std::move(done)(ErrStopped());
          return;
        }
        {
          absl::MutexLock lock(&waiters_mu_);
          waiters_[id] = Waiter{std::move(done),
                                Clock::now() + std::chrono::milliseconds(opts_.request_timeout_ms)};
        }
        ProposeData(id, std::move(data));
      },
      run_here_if_idle);
}

void RaftMember::ProposeData(uint64_t id, std::string data) {
  if (leader_.load() == 0) {
    parked_.push_back(ParkedProposal{std::move(data), id});
    return;
  }
  to_propose_.push_back(ParkedProposal{std::move(data), id});
}

void RaftMember::FlushProposals() {
  if (to_propose_.empty()) return;
  // One MsgProp for what arrived in this loop iteration: raft appends and
  // replicates it as one batch. A follower forwards the MsgProp to the
  // leader whole, so a batch stays well below a peer frame's limit (after
  // an election, every write parked meanwhile is flushed at once).
  size_t next = 0;
  while (next < to_propose_.size()) {
    std::vector<std::string> batch;
    size_t bytes = 0;
    size_t end = next;
    for (; end < to_propose_.size() && (end == next || bytes < kMaxProposalBatchBytes); ++end) {
      bytes += to_propose_[end].data.size();
      batch.push_back(to_propose_[end].data);
    }
    if (!node_->ProposeBatch(std::move(batch)).ok()) break;
    next = end;
  }
  for (size_t i = next; i < to_propose_.size(); ++i) {
    parked_.push_back(std::move(to_propose_[i]));  // retried on a tick
  }
  to_propose_.clear();
}

void RaftMember::ReadBarrier(ReadReady fn) {
  auto deadline = Clock::now() + std::chrono::milliseconds(opts_.request_timeout_ms);
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      // Wakes the raft thread only when no round is in flight (Loop's
      // condition); otherwise the round's end picks it up.
      pending_reads_.push_back(PendingRead{std::move(fn), deadline});
      return;
    }
  }
  std::move(fn)(ErrStopped());
}

void RaftMember::WaitApplied(ReadReady fn) {
  const uint64_t index = committed_.load();
  if (applied_.load() >= index) return std::move(fn)(absl::OkStatus());
  // The apply thread serves it once applied_ reaches `index`, as it does
  // reads whose ReadIndex round ended before their entries were applied.
  Enqueue([this, index, fn = std::move(fn)](bool stopped) mutable {
    if (stopped) return std::move(fn)(ErrStopped());
    if (applied_.load() >= index) return std::move(fn)(absl::OkStatus());
    ApplyJob job;
    std::vector<PendingRead> reads;
    reads.push_back(PendingRead{std::move(fn), Clock::time_point::max()});
    job.reads.emplace_back(index, std::move(reads));
    QueueApply(std::move(job));
  });
}

void RaftMember::ProposeConfChange(raftpb::ConfChange cc, StatusCallback done) {
  Enqueue([this, cc = std::move(cc), done = std::move(done)](bool stopped) mutable {
    if (stopped) return std::move(done)(ErrStopped());
    internalpb::ConfChangeContext ctx;
    ctx.ParseFromString(cc.context());
    // On the leader the change is checked here, so the caller gets the
    // reason at once; a follower forwards it, and the leader's raft
    // admission hook replaces a refused one with a record of the reason,
    // which answers the caller here when it applies.
    if (leader_.load() == opts_.id) {
      std::map<raft::NodeId, uint64_t> match;
      for (const auto& [id, pr] : node_->GetStatus().progress) match[id] = pr.match;
      if (absl::Status st = CheckConfChange(cc, ctx, match); !st.ok()) {
        return std::move(done)(st);
      }
    }
    if (auto st = node_->ProposeConfChange(cc); !st.ok()) {
      std::move(done)(raft::IsErrProposalDropped(st)
                          ? absl::UnavailableError("etcdserver: unhealthy cluster")
                          : st);
      return;
    }
    cc_waiters_.emplace(ctx.request_id(),
                        std::make_pair(std::move(done), Clock::now() + std::chrono::milliseconds(
                                                                            opts_.request_timeout_ms)));
  });
}

void RaftMember::CheckLearnerReady(uint64_t id, StatusCallback done) {
  Enqueue([this, id, done = std::move(done)](bool stopped) mutable {
    if (stopped) return std::move(done)(ErrStopped());
    if (leader_.load() != opts_.id) return std::move(done)(absl::OkStatus());
    raft::Status st = node_->GetStatus();
    auto self = st.progress.find(opts_.id);
    auto learner = st.progress.find(id);
    const double leader_match = self == st.progress.end() ? 0 : self->second.match;
    if (learner == st.progress.end() || learner->second.match < leader_match * 0.9) {
      return std::move(done)(absl::FailedPreconditionError(
          "etcdserver: can only promote a learner member which is in sync with leader"));
    }
    std::move(done)(absl::OkStatus());
  });
}

void RaftMember::MoveLeader(uint64_t to, StatusCallback done) {
  Enqueue([this, to, done = std::move(done)](bool stopped) mutable {
    if (stopped) return std::move(done)(ErrStopped());
    if (leader_.load() != opts_.id) {
      std::move(done)(absl::FailedPreconditionError("etcdserver: not leader"));
      return;
    }
    node_->TransferLeader(to);
    // Completion is observed on ticks (leader_ == to) or times out.
    cc_waiters_.emplace(~to, std::make_pair(std::move(done),
                                            Clock::now() + std::chrono::milliseconds(
                                                               opts_.election_ms * 3)));
  });
}

void RaftMember::AnswerConfChange(uint64_t request_id, const absl::Status& st) {
  auto it = cc_waiters_.find(request_id);
  if (it == cc_waiters_.end()) return;
  std::move(it->second.first)(st);
  cc_waiters_.erase(it);
}

bool RaftMember::IsLearner() const {
  auto m = membership_->Get(opts_.id);
  return m && m->is_learner;
}

void RaftMember::OnMessages(std::vector<raftpb::Message> msgs) {
  // Stepped, persisted and answered on this transport thread when the loop
  // is idle.
  Enqueue(
      [this, msgs = std::move(msgs)](bool stopped) mutable {
        if (stopped) return;
        const Clock::time_point now = Clock::now();
        for (auto& m : msgs) {
          if (membership_->IsRemoved(m.from())) continue;
          if (opts_.peer_faults && opts_.peer_faults->Blocked(m.from(), opts_.id)) continue;
          last_heard_[m.from()] = now;
          node_->Step(std::move(m)).IgnoreError();  // stale or foreign messages are dropped
        }
      },
      /*run_here_if_idle=*/true);
}

void RaftMember::RunIterationInline() {
  std::vector<Task> work;
  {
    absl::MutexLock lock(&mu_);
    work.swap(inbox_);
    if (!read_round_in_flight_) TakePendingReadsLocked();
  }
  for (auto& w : work) std::move(w)(/*stopped=*/false);
  FlushProposals();
  IssueReadIndex(Clock::now());
  ProcessReady(/*inline_runner=*/true);
  absl::MutexLock lock(&mu_);
  read_round_in_flight_ = !reads_in_flight_.empty();
  raft_thread_turn_ = raft_thread_turn_ || deferred_ready_.has_value();
  loop_owned_ = false;  // the raft thread wakes if more arrived meanwhile
}

void RaftMember::ReportUnreachable(uint64_t peer_id) {
  Enqueue([this, peer_id](bool stopped) {
    if (!stopped) node_->ReportUnreachable(peer_id);
  });
}

void RaftMember::ReportSnapshot(uint64_t peer_id, bool ok) {
  Enqueue([this, peer_id, ok](bool stopped) {
    if (!stopped) node_->ReportSnapshot(peer_id, ok);
  });
}

void RaftMember::Loop() {
  const auto tick = std::chrono::milliseconds(opts_.heartbeat_ms);
  auto next_tick = Clock::now() + tick;
  std::vector<Task> work;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      loop_owned_ = false;
      read_round_in_flight_ = !reads_in_flight_.empty();
      auto wait = next_tick - Clock::now();
      if (wait > Clock::duration::zero()) {
        mu_.AwaitWithTimeout(
            absl::Condition(
                +[](RaftMember* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu_) {
                  return m->stopping_ ||
                         (!m->loop_owned_ &&
                          (m->raft_thread_turn_ || !m->inbox_.empty() ||
                           (!m->read_round_in_flight_ && !m->pending_reads_.empty())));
                },
                this),
            absl::FromChrono(wait));
      }
      // A tick or a stop may come while a transport thread runs an
      // iteration: let it finish first, and claim the next turn so that a
      // stream of peer messages cannot hold the tick off.
      if (loop_owned_) {
        raft_thread_turn_ = true;
        mu_.Await(absl::Condition(
            +[](RaftMember* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu_) { return !m->loop_owned_; },
            this));
      }
      if (stopping_) break;
      loop_owned_ = true;
      raft_thread_turn_ = false;
      work.swap(inbox_);
      for (auto& t : raft_only_) work.push_back(std::move(t));
      raft_only_.clear();
      if (!read_round_in_flight_) TakePendingReadsLocked();
    }
    // A Ready a transport thread left for us comes before any new input.
    if (deferred_ready_) {
      raft::Ready rd = std::move(*deferred_ready_);
      deferred_ready_.reset();
      HandleReady(std::move(rd));
    }
    for (auto& w : work) std::move(w)(/*stopped=*/false);
    work.clear();
    const auto now = Clock::now();
    if (now >= next_tick) {
      OnTick(now);
      next_tick += tick;
      if (next_tick < now) next_tick = now + tick;
    }
    FlushProposals();
    IssueReadIndex(now);
    ProcessReady(/*inline_runner=*/false);
  }
  FailEverything(ErrStopped());
}

void RaftMember::OnTick(Clock::time_point now) {
  node_->Tick();
  // Re-propose what was parked while there was no leader.
  if (leader_.load() != 0 && !parked_.empty()) {
    std::deque<ParkedProposal> parked;
    parked.swap(parked_);
    for (auto& p : parked) {
      bool waiting;
      {
        absl::MutexLock lock(&waiters_mu_);
        waiting = waiters_.contains(p.id);
      }
      if (waiting) ProposeData(p.id, std::move(p.data));
    }
  }
  std::vector<ProposeDone> expired;
  {
    absl::MutexLock lock(&waiters_mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : expired) std::move(done)(ErrTimeout());
  for (auto it = cc_waiters_.begin(); it != cc_waiters_.end();) {
    const bool move_done = it->first == ~leader_.load() && leader_.load() != 0;
    if (move_done || it->second.second <= now) {
      std::move(it->second.first)(move_done ? absl::OkStatus() : ErrTimeout());
      it = cc_waiters_.erase(it);
    } else {
      ++it;
    }
  }
  // Reads: retry rounds that got no answer, then expire what is queued.
  // Reads parked behind a round in flight and those of retried rounds join
  // the queue first, so they time out too when rounds keep being retried
  // (a leader that is known but cannot be reached).
  {
    absl::MutexLock lock(&mu_);
    TakePendingReadsLocked();
  }
  for (auto it = reads_in_flight_.begin(); it != reads_in_flight_.end();) {
    // A round normally answers within one heartbeat round trip; one that
    // has not after a few heartbeats was lost (e.g. forwarded to a leader
    // that just stepped down): issue a new round rather than wait for the
    // election timeout.
    if (now - it->second.second > std::chrono::milliseconds(3 * opts_.heartbeat_ms)) {
      for (auto& r : it->second.first) reads_to_issue_.push_back(std::move(r));
      it = reads_in_flight_.erase(it);
    } else {
      ++it;
    }
  }
  ExpireReads(&reads_to_issue_, now);
  MaybePublishAttributes();
}

void RaftMember::ExpireReads(std::vector<PendingRead>* reads, Clock::time_point now) {
  std::vector<PendingRead> keep;
  for (auto& r : *reads) {
    if (r.deadline <= now) {
      std::move(r.fn)(ErrTimeout());
    } else {
      keep.push_back(std::move(r));
    }
  }
  reads->swap(keep);
}

void RaftMember::TakePendingReadsLocked() {
  for (auto& r : pending_reads_) reads_to_issue_.push_back(std::move(r));
  pending_reads_.clear();
}

void RaftMember::IssueReadIndex(Clock::time_point now) {
  if (reads_to_issue_.empty() || !reads_in_flight_.empty() || leader_.load() == 0) return;
  // The leader matches a round's acks and answer by this context alone, so
  // it must be unique across members and restarts: member id + a
  // clock-seeded counter (a shared 1, 2, 3... let a leader drop one
  // member's request as another's duplicate, or count acks sent before it).
  std::string ctx = util::EncodeFixed64BE(opts_.id) + util::EncodeFixed64BE(next_id_.fetch_add(1));
  if (!node_->ReadIndex(ctx).ok()) return;  // retried on the next tick
  reads_in_flight_[ctx] = {std::move(reads_to_issue_), now};
  reads_to_issue_.clear();
}

bool RaftMember::NeedsRaftThread(const raft::Ready& rd) {
  // Installing a snapshot and applying a conf change wait for the apply
  // thread and for peer streams to close: never on a transport thread.
  return !raft::IsEmptySnap(rd.snapshot) ||
         std::any_of(rd.committed_entries.begin(), rd.committed_entries.end(),
                     [](const raft::Entry& e) { return e.type() == raftpb::EntryConfChange; });
}

void RaftMember::ProcessReady(bool inline_runner) {
  while (node_->HasReady()) {
    raft::Ready rd = node_->GetReady();
    if (inline_runner && (NeedsRaftThread(rd) || ApplyQueueNearlyFull(rd))) {
      deferred_ready_.emplace(std::move(rd));  // handled first by the raft thread
      return;
    }
    HandleReady(std::move(rd));
  }
}

void RaftMember::HandleReady(raft::Ready rd) {
  if (rd.soft_state) SetLeader(rd.soft_state->lead);
  if (rd.hard_state) {
    term_ = rd.hard_state->term();
    committed_ = rd.hard_state->commit();
  }
  // A leader's appends and heartbeats go out before its own fsync, so the
  // followers' disk writes overlap the leader's (Raft thesis §10.2.1).
  // Safe: commit needs follower acks for these entries, which are handled
  // only after this Save returns. Not so for a lone voter (learners aside):
  // its own append commits, and the commit index must not reach a learner
  // before the entry is on disk. Everything else — votes, append acks —
  // promises durability and waits for the fsync.
  std::vector<raftpb::Message> to_self, late, post_apply;
  // A small batch with the apply thread idle is applied right here after the
  // Save: waking that thread would only add a hand-off to the answer. Decided
  // before the Save (only this loop owner queues apply work, so an idle
  // apply thread stays idle).
  const bool needs_raft_thread = NeedsRaftThread(rd);
  const bool apply_here = !needs_raft_thread && !rd.committed_entries.empty() &&
                          rd.committed_entries.size() <= kInlineApplyEntries && ApplyIdle() &&
                          InboxEmpty();
  // Then a leader's commit-only appends can wait until the clients this
  // member answers have their replies; nobody local waiting: send them now.
  const bool hold_commit_notices = apply_here && HasWaiters();
  CoalesceMessages(&rd.messages);
  if (!rd.messages.empty() && transport_ != nullptr) {
    std::vector<raftpb::Message> early;
    const bool leading = leader_.load() == opts_.id;
    const bool send_early = leading && conf_state_.voters_size() > 1;
    for (auto& m : rd.messages) {
      if (opts_.peer_faults && opts_.peer_faults->Blocked(opts_.id, m.to())) {
        // As a failed send: raft stops waiting for that snapshot.
        if (m.type() == raftpb::MsgSnap) ReportSnapshot(m.to(), /*ok=*/false);
        continue;
      }
      if (m.to() == opts_.id) {
        to_self.push_back(std::move(m));
      } else if (hold_commit_notices && leading && m.type() == raftpb::MsgApp &&
                 m.entries_size() == 0) {
        post_apply.push_back(std::move(m));
      } else if (send_early &&
                 (m.type() == raftpb::MsgApp || m.type() == raftpb::MsgHeartbeat)) {
        early.push_back(std::move(m));
      } else {
        late.push_back(std::move(m));
      }
    }
    if (!early.empty()) transport_->Send(std::move(early));
  }
  if (auto st = storage_->Save(rd, rd.must_sync); !st.ok()) {
    spdlog::critical("cannot persist raft state: {}", std::string(st.message()));
    std::abort();
  }
  if (!late.empty()) transport_->Send(std::move(late));
  ApplyJob job;
  for (const auto& rs : rd.read_states) {
    auto it = reads_in_flight_.find(rs.request_ctx);
    if (it == reads_in_flight_.end()) continue;
    if (rs.index <= applied_.load()) {
      // Already applied (the usual case for reads without writes): serve
      // now rather than through the apply thread, one wake-up fewer.
      ServeReads(std::move(it->second.first));
    } else {
      job.reads.emplace_back(rs.index, std::move(it->second.first));
    }
    reads_in_flight_.erase(it);
  }
  if (needs_raft_thread) {
    // These change raft's and the transport's view of the cluster, which
    // belong to this thread: apply them here, in order, once the apply
    // thread has caught up.
    DrainApply();
    if (!raft::IsEmptySnap(rd.snapshot)) {
      if (auto st = InstallSnapshot(rd.snapshot); !st.ok()) {
        spdlog::critical("cannot install snapshot: {}", std::string(st.message()));
        std::abort();
      }
    }
    ApplyEntries(rd.committed_entries);
    WakeApplyAfterInlineApply();
  } else if (apply_here) {
    ApplyEntries(rd.committed_entries);
    if (!post_apply.empty()) transport_->Send(std::move(post_apply));
    WakeApplyAfterInlineApply();
  } else {
    job.ents = std::move(rd.committed_entries);
  }
  if (!job.ents.empty() || !job.reads.empty()) QueueApply(std::move(job));
  node_->Advance();
  // Applied entries are needed again only by a lagging follower: keep a
  // short tail in memory, read older ones from disk (raft_storage.h).
  const uint64_t applied = applied_.load();
  if (applied > kLogEntriesInMemory) {
    storage_->TrimMemory(applied - kLogEntriesInMemory, kLogEntriesInMemory);
  }
  for (auto& m : to_self) node_->Step(std::move(m)).IgnoreError();
}

void RaftMember::WakeApplyAfterInlineApply() {
  // The apply thread takes snapshots, and reads parked there wait for the
  // entries just applied on this thread: an empty job wakes it for either.
  const bool snapshot_due = !snapshot_pending_.load() && SnapshotDue(applied_.load());
  if (snapshot_due || reads_parked_.load() > 0) QueueApply(ApplyJob{});
}

bool RaftMember::HasWaiters() {
  absl::MutexLock lock(&waiters_mu_);
  return !waiters_.empty();
}

bool RaftMember::InboxEmpty() {
  absl::MutexLock lock(&mu_);
  return inbox_.empty();
}

void RaftMember::SetLeader(uint64_t lead) {
  absl::MutexLock lock(&leader_mu_);
  if (leader_.load() != lead) {
    spdlog::info("member {} sees leader {}", util::IdToHex(opts_.id), util::IdToHex(lead));
  }
  const bool was_leader = leader_.load() == opts_.id;
  leader_ = lead;
  if (was_leader && lead != opts_.id && opts_.on_leader_change) opts_.on_leader_change(false);
}

absl::Status RaftMember::InstallSnapshot(const raft::Snapshot& snap) {
  spdlog::info("member {} installing snapshot at index {} from {}", util::IdToHex(opts_.id),
               snap.metadata().index(), snap.data());
  // The Compactor must not drop records of the old state in the new one.
  store_->PrepareReload();
  if (auto st = RestoreStateSnapshot(backend_, snap.data()); !st.ok()) return st;
  if (auto st = store_->Reload(); !st.ok()) return st;
  if (auto st = membership_->Reload(); !st.ok()) return st;
  if (opts_.on_state_reloaded) opts_.on_state_reloaded();
  conf_state_ = snap.metadata().conf_state();
  snapshot_index_ = snap.metadata().index();
  applied_ = snap.metadata().index();
  SyncTransportPeers();
  PruneReceivedSnapshots(snap.metadata().index() - 1);  // older ones this one replaces
  return absl::OkStatus();
}

void RaftMember::ApplyEntries(const raft::EntryVec& ents) {
  if (ents.empty()) return;
  std::vector<std::pair<ProposeDone, absl::StatusOr<InternalResponse>>> replies;
  std::vector<std::pair<uint64_t, absl::Status>> cc_replies;
  for (const auto& e : ents) {
    if (e.type() == raftpb::EntryConfChange) {
      ApplyConfChangeEntry(e, &cc_replies);
    } else {
      ApplyNormal(e, &replies);
    }
  }
  const auto& last = ents.back();
  if (last.index() > store_->ConsistentIndex()) {
    if (auto st = store_->Commit(last.index(), last.term(), /*sync=*/false); !st.ok()) {
      spdlog::critical("cannot commit applied state: {}", std::string(st.message()));
      std::abort();
    }
  }
  applied_ = std::max(applied_.load(), last.index());
  // The raft thread is not waiting for this one: answer clients directly.
  for (auto& [done, result] : replies) std::move(done)(std::move(result));
  for (auto& [id, st] : cc_replies) AnswerConfChange(id, st);
}

void RaftMember::ApplyNormal(
    const raft::Entry& e,
    std::vector<std::pair<ProposeDone, absl::StatusOr<InternalResponse>>>* replies) {
  if (e.data().empty() && opts_.on_leader_change) {
    absl::MutexLock lock(&leader_mu_);
    // Our term's first empty entry: etcd promotes the lessor here. Only the
    // first: raft also turns refused conf changes into empty entries, and
    // promoting again would extend every lease each time.
    if (e.term() == term_.load() && leader_.load() == opts_.id && e.term() != promoted_term_) {
      promoted_term_ = e.term();
      opts_.on_leader_change(true);
    }
  }
  if (e.index() <= store_->ConsistentIndex() || e.data().empty()) return;
  InternalRequest req;
  if (!req.ParseFromString(e.data())) {
    spdlog::error("entry {} is not an InternalRequest; skipped", e.index());
    return;
  }
  absl::StatusOr<InternalResponse> result;
  switch (req.op_case()) {
    case InternalRequest::kMemberAttributes: {
      const auto& a = req.member_attributes();
      membership_->SetAttributes(a.member_id(), a.name(),
                                 {a.client_urls().begin(), a.client_urls().end()},
                                 store_->PendingBatch());
      result = InternalResponse();
      break;
    }
    case InternalRequest::kMemberUpdate: {
      const auto& u = req.member_update();
      const std::vector<std::string> urls(u.peerurls().begin(), u.peerurls().end());
      // Written by earlier versions (updates are conf changes now); not
      // checked: a member that joined later replays this entry over the
      // current list, where a check could refuse it.
      membership_->UpdatePeerUrls(u.id(), urls, store_->PendingBatch());
      // Changing a peer's link may wait for its streams to close: never on
      // a gRPC or transport thread that applies inline. The raft thread does it.
      EnqueueForRaftThread([this](bool stopped) {
        if (!stopped) SyncTransportPeers();
      });
      result = InternalResponse();
      break;
    }
    case InternalRequest::kRefusedConfChange: {
      const auto& rc = req.refused_conf_change();
      if (rc.proposer_id() == opts_.id && rc.request_id() != 0) {
        absl::Status st(static_cast<absl::StatusCode>(rc.code()), rc.message());
        if (st.ok()) st = absl::FailedPreconditionError(rc.message());
        // The waiter belongs to the raft thread (ProposeConfChange).
        EnqueueForRaftThread([this, id = rc.request_id(), st](bool stopped) {
          if (!stopped) AnswerConfChange(id, st);
        });
      }
      return;
    }
    default:
      result = applier_->Apply(req);
  }
  if (req.header().member_id() != opts_.id) return;
  absl::MutexLock lock(&waiters_mu_);
  auto it = waiters_.find(req.header().id());
  if (it == waiters_.end()) return;
  replies->emplace_back(std::move(it->second.done), std::move(result));
  waiters_.erase(it);
}

absl::Status RaftMember::CheckConfChange(const raftpb::ConfChange& cc,
                                         const internalpb::ConfChangeContext& ctx,
                                         const std::map<raft::NodeId, uint64_t>& match) const {
  ReconfigView v;
  v.members = membership_->List();
  v.self = opts_.id;
  v.active.insert(opts_.id);
  // Heard from within two election timeouts: a live peer answers every
  // heartbeat, a killed one stops at once.
  const Clock::time_point since = Clock::now() - std::chrono::milliseconds(2 * opts_.election_ms);
  for (const auto& [id, at] : last_heard_) {
    if (at >= since) v.active.insert(id);
  }
  auto existing = membership_->Get(cc.node_id());
  switch (cc.type()) {
    case raftpb::ConfChangeAddNode:
    case raftpb::ConfChangeAddLearnerNode:
      if (existing && existing->is_learner && cc.type() == raftpb::ConfChangeAddNode) {
        auto self = match.find(opts_.id);
        auto learner = match.find(cc.node_id());
        const double leader_match = self == match.end() ? 0 : self->second;
        if (learner == match.end() || learner->second < leader_match * 0.9) {
          return absl::FailedPreconditionError(
              "etcdserver: can only promote a learner member which is in sync with leader");
        }
        return opts_.strict_reconfig_check ? CheckPromoteMember(v, cc.node_id())
                                           : absl::OkStatus();
      }
      if (!ctx.has_member()) return absl::OkStatus();
      if (absl::Status st = ValidateNewMember(v.members, ctx.member()); !st.ok()) return st;
      return opts_.strict_reconfig_check ? CheckAddMember(v, ctx.member()) : absl::OkStatus();
    case raftpb::ConfChangeRemoveNode:
      return opts_.strict_reconfig_check ? CheckRemoveMember(v, cc.node_id()) : absl::OkStatus();
    case raftpb::ConfChangeUpdateNode:
      if (!existing) return absl::NotFoundError("etcdserver: member not found");
      return ValidatePeerUrlUpdate(
          v.members, cc.node_id(),
          {ctx.member().peerurls().begin(), ctx.member().peerurls().end()});
    default:
      return absl::OkStatus();
  }
}

void RaftMember::ApplyConfChangeEntry(const raft::Entry& e,
                                      std::vector<std::pair<uint64_t, absl::Status>>* cc_replies) {
  raftpb::ConfChange cc;
  if (!cc.ParseFromString(e.data())) {
    spdlog::error("entry {} is not a ConfChange; skipped", e.index());
    return;
  }
  internalpb::ConfChangeContext ctx;
  ctx.ParseFromString(cc.context());
  // Raft first: a change it refuses (e.g. one that would remove the last
  // voter, possible without the strict reconfig check) must leave the
  // member list, and this member, as they were.
  auto cs = node_->ApplyConfChange(cc);
  if (!cs.ok()) {
    spdlog::error("conf change at index {} refused: {}", e.index(), std::string(cs.status().message()));
    if (ctx.proposer_id() == opts_.id && ctx.request_id() != 0) {
      cc_replies->emplace_back(ctx.request_id(), cs.status());
    }
    return;
  }
  conf_state_ = *cs;
  if (e.index() > store_->ConsistentIndex()) {
    mvcc::Batch* batch = store_->PendingBatch();
    switch (cc.type()) {
      case raftpb::ConfChangeAddNode:
      case raftpb::ConfChangeAddLearnerNode: {
        auto existing = membership_->Get(cc.node_id());
        if (existing && existing->is_learner && cc.type() == raftpb::ConfChangeAddNode) {
          membership_->Promote(cc.node_id(), batch);
        } else if (ctx.has_member()) {
          MemberInfo m;
          m.id = cc.node_id();
          m.name = ctx.member().name();
          m.peer_urls.assign(ctx.member().peerurls().begin(), ctx.member().peerurls().end());
          m.is_learner = cc.type() == raftpb::ConfChangeAddLearnerNode;
          membership_->Add(m, batch);
        }
        break;
      }
      case raftpb::ConfChangeRemoveNode:
        membership_->Remove(cc.node_id(), batch);
        break;
      case raftpb::ConfChangeUpdateNode:
        // Not checked here (the leader did): a joiner replays this over the
        // current list, where a check could refuse it.
        membership_->UpdatePeerUrls(
            cc.node_id(), {ctx.member().peerurls().begin(), ctx.member().peerurls().end()},
            batch);
        break;
      default:
        break;
    }
  }
  SyncTransportPeers();
  if (cc.type() == raftpb::ConfChangeRemoveNode && cc.node_id() == opts_.id) {
    spdlog::warn("member {} has been permanently removed from the cluster",
                 util::IdToHex(opts_.id));
    removed_ = true;
    if (opts_.on_removed) opts_.on_removed();
  }
  if (ctx.proposer_id() == opts_.id && ctx.request_id() != 0) {
    cc_replies->emplace_back(ctx.request_id(), absl::OkStatus());
  }
}

void RaftMember::MaybePublishAttributes() {
  if (attributes_published_ || leader_.load() == 0 || removed_) return;
  const auto now = Clock::now();
  if (now < attributes_retry_at_) return;
  attributes_retry_at_ = now + std::chrono::seconds(1);
  // Published once per start, as etcd does: peers only learn our name and
  // client URLs through the log.
  if (!membership_->Get(opts_.id)) return;  // not yet a member (joining): retry later
  InternalRequest req;
  auto* a = req.mutable_member_attributes();
  a->set_member_id(opts_.id);
  a->set_name(opts_.name);
  for (const auto& u : opts_.client_urls) a->add_client_urls(u);
  const uint64_t id = next_id_.fetch_add(1);
  req.mutable_header()->set_id(id);
  req.mutable_header()->set_member_id(opts_.id);
  {
    absl::MutexLock lock(&waiters_mu_);
    waiters_[id] = Waiter{[this](absl::StatusOr<InternalResponse> r) mutable {
                            if (r.ok()) attributes_published_ = true;
                          },
                          now + std::chrono::milliseconds(opts_.request_timeout_ms)};
  }
  ProposeData(id, req.SerializeAsString());
}

void RaftMember::SyncTransportPeers() {
  if (transport_ == nullptr) return;
  absl::MutexLock lock(&peers_mu_);
  std::map<uint64_t, std::vector<std::string>> want;
  for (const auto& m : membership_->List()) {
    if (m.id != opts_.id) want[m.id] = m.peer_urls;
  }
  for (const auto& [id, urls] : want) {
    auto it = known_peers_.find(id);
    if (it == known_peers_.end()) {
      transport_->AddPeer(id, urls);
    } else if (it->second != urls) {
      transport_->UpdatePeer(id, urls);
    }
  }
  for (const auto& [id, urls] : known_peers_) {
    if (!want.contains(id)) transport_->RemovePeer(id);
  }
  known_peers_ = std::move(want);
}

void RaftMember::FailEverything(const absl::Status& s) {
  StopApply();
  JoinSnapshotWriter();  // nothing starts another once apply has stopped
  std::map<uint64_t, Waiter> waiters;
  {
    absl::MutexLock lock(&waiters_mu_);
    waiters.swap(waiters_);
  }
  for (auto& [id, w] : waiters) std::move(w.done)(s);
  parked_.clear();
  for (auto& [id, w] : cc_waiters_) std::move(w.first)(s);
  cc_waiters_.clear();
  std::vector<PendingRead> pending;
  {
    absl::MutexLock lock(&mu_);  // stopping_ is set: no more arrive
    pending.swap(pending_reads_);
  }
  for (auto& r : pending) std::move(r.fn)(s);
  for (auto& r : reads_to_issue_) std::move(r.fn)(s);
  reads_to_issue_.clear();
  for (auto& [ctx, rs] : reads_in_flight_) {
    for (auto& r : rs.first) std::move(r.fn)(s);
  }
  reads_in_flight_.clear();
  std::vector<ApplyJob> unapplied;  // the apply thread is gone
  {
    absl::MutexLock lock(&apply_mu_);
    unapplied.swap(apply_queue_);
  }
  for (auto& job : unapplied) {
    for (auto& [idx, rs] : job.reads) {
      for (auto& r : rs) std::move(r.fn)(s);
    }
  }
  for (auto& [idx, rs] : reads_ready_) {
    for (auto& r : rs) std::move(r.fn)(s);
  }
  reads_ready_.clear();
  // Tasks queued before the stop still own callbacks: fire them once.
  std::vector<Task> rest;
  {
    absl::MutexLock lock(&mu_);
    rest.swap(inbox_);
    for (auto& t : raft_only_) rest.push_back(std::move(t));
    raft_only_.clear();
  }
  for (auto& w : rest) std::move(w)(/*stopped=*/true);
}

}  // namespace quorum::server
