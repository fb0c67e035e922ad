// WatchStream: the reactor of one Watch RPC (see watch_service.h).
// Lifetime: created by WatchService::Watch, deleted in OnDone. Every
// watcher is cancelled in the store before the reactor finishes, so the
// store never calls a dead sink.
//
// Outgoing path (the hot one): the store hands over, once per commit, the
// events of all this stream's watchers as references into a shared
// mvcc::EventGroup (Deliver, on the apply thread: a few pointer copies under
// mu_, never blocking). They wait in `queue_`. Under sustained fan-out (see
// below) a watcher's events of later revisions join its entry still waiting
// there (so one response can carry several revisions, in order, as etcd's
// catch-up responses do), up to kMaxMergeBytes; below that rate each commit
// makes its own response, as etcd sends one per revision to a synced
// watcher, even when the client reads slowly. The writer (pool or gRPC callback thread, one at a time)
// takes many entries at once, encodes each into one gRPC slice from the
// shared event encodings (watch_response_encoder.h), and writes them with
// the buffer hint set on all but the last, so gRPC sends them in as few
// socket writes as it can. Under sustained fan-out (the service delivers
// at least 100k events/s, see watch_load_meter.h, and the stream's last turn
// had at least kBusyTurnResponses responses) the next turn starts no sooner
// than kCoalesceWindow after the previous one, so each watcher's events of
// the revisions committed meanwhile share one response: per-message costs
// (gRPC call batch, completion hand-off, client parse) are paid once for
// several events. Below that rate every event leaves at once, however many
// watchers the stream has. A queue over kMaxQueued entries or
// kMaxQueuedBytes refuses deliveries: the store parks those watchers and
// replays them from storage later, so apply never waits for a slow client.
//
// Ordering: one watcher's responses leave in the order they were queued
// ("created" first, then events in revision order without gaps or
// duplicates, then "canceled"); merging only moves events earlier, never
// past a response of the same watcher queued before them.
//
// Locking: store mu -> stream mu_ (Deliver is called under the store's lock);
// the stream never calls the store while holding mu_.
#ifndef QUORUM_SERVER_API_WATCH_STREAM_H_
#define QUORUM_SERVER_API_WATCH_STREAM_H_

#include <grpcpp/alarm.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "mvcc/watchable_store.h"
#include "server/api/watch_service.h"

namespace quorum::server {

class WatchStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                          public mvcc::WatchSink {
 public:
  // Bounds of the queue of responses not yet handed to gRPC; past either,
  // Deliver refuses (the store replays those watchers when Ready()).
  static constexpr size_t kMaxQueued = 1024;
  static constexpr size_t kMaxQueuedBytes = 16 << 20;
  // A watcher's queued events merge into one response up to this size.
  static constexpr size_t kMaxMergeBytes = 256 << 10;
  // Entries the writer encodes per turn (bounds the work between writes).
  static constexpr size_t kMaxEntriesPerTurn = 256;
  // With prev_kv the previous values' sizes are unknown until encoded: a
  // merged response takes at most this many events.
  static constexpr size_t kMaxMergeEventsWithPrevKv = 64;
  // Requests are not read while this many answers to requests (control
  // responses) wait: a client that asks for progress or creates watchers
  // without reading. Events do not count: a slow reader may still cancel.
  static constexpr size_t kMaxQueuedForReads = kMaxQueued;
  // While the service is busy, a turn this large makes the next turn wait
  // until kCoalesceWindow after this one started (see the file comment).
  static constexpr size_t kBusyTurnResponses = 32;
  static constexpr std::chrono::microseconds kCoalesceWindow{20000};

  WatchStream(WatchService* service, const ServiceDeps* deps, mvcc::WatchableStore* watchable);

  // grpc reactor
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override;

  // mvcc::WatchSink
  void Deliver(absl::Span<mvcc::Delivery> deliveries) override;
  void Compacted(mvcc::WatchId id, int64_t compact_rev) override;
  bool Ready() override;
  void Progress(mvcc::WatchId id, int64_t rev) override;
  void Synced(mvcc::WatchId id) override;

  // Sends progress to idle synced watchers that asked for it.
  void SendProgress();

 private:
  // by_stream_id_'s value for an id whose watcher the store cancelled for
  // compaction (never a store id: those start at 1).
  static constexpr mvcc::WatchId kCompactedWatch = -1;
  struct WatcherInfo {
    int64_t stream_id = 0;
    bool prev_kv = false;
    bool fragment = false;
    bool progress_notify = false;
    // Events were queued for it since the last progress tick: it gets no
    // progress notification this tick (etcd's per-watcher `progress` map).
    bool events_since_progress = false;
    // Between HandleCreate's registration and the store's Watch(): the
    // store does not know it yet, so a stream-wide progress must wait.
    bool registering = false;
    // Sequence number of this watcher's newest events entry (0: none); it
    // can still take more events while it is in queue_ (>= front_seq_).
    uint64_t tail_seq = 0;
  };
  // One response to write: either a finished control response or the
  // events of one watcher (encoded by the writer, off the apply thread).
  struct Entry {
    std::optional<etcdserverpb::WatchResponse> control;
    int64_t stream_id = 0;
    bool prev_kv = false;
    bool fragment = false;
    int64_t rev = 0;     // header revision: that of the newest group
    size_t bytes = 0;    // approximate payload, plus the groups it alone pins
    size_t event_count = 0;
    absl::InlinedVector<mvcc::EventRef, 1> events;
  };

  // Appends an event entry for the watcher `info`, with header revision `rev`.
  Entry* NewEntryLocked(WatcherInfo* info, int64_t rev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleCreate(const etcdserverpb::WatchCreateRequest& r);
  void HandleCancel(const etcdserverpb::WatchCancelRequest& r);
  void HandleProgress();
  // Stream-wide progress once every watcher is synced (etcd 3.5's deferred
  // progress); true when it was queued.
  bool TryProgressAll();
  void RetryDeferredProgress();
  std::vector<mvcc::WatchId> StoreIdsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueControlLocked(etcdserverpb::WatchResponse resp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueControl(etcdserverpb::WatchResponse resp);
  // Events queued before this point never merge with later ones.
  void MergeBarrierLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadNext();
  void ScheduleWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNext();
  // Moves the next built response into out_; returns its write options.
  grpc::WriteOptions TakeNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Encode(std::vector<Entry>* entries, std::vector<grpc::ByteBuffer>* out) const;
  void CancelAllWatchers();
  void CloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  etcdserverpb::ResponseHeader Header(int64_t rev) const;

  WatchService* service_;
  const ServiceDeps* deps_;
  mvcc::WatchableStore* watchable_;
  grpc::ByteBuffer in_;   // the request being read
  grpc::ByteBuffer out_;  // the response being written
  etcdserverpb::WatchRequest req_;

  absl::Mutex mu_;
  absl::flat_hash_map<mvcc::WatchId, WatcherInfo> by_store_id_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, mvcc::WatchId> by_stream_id_ ABSL_GUARDED_BY(mu_);
  int64_t next_stream_id_ ABSL_GUARDED_BY(mu_) = 0;
  // queue_[i] has sequence number front_seq_ + i.
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t front_seq_ ABSL_GUARDED_BY(mu_) = 1;
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t queued_control_ ABSL_GUARDED_BY(mu_) = 0;  // control entries in queue_
  // Encoded responses waiting for the write in flight to finish.
  std::deque<grpc::ByteBuffer> built_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // a write, encode or coalescing wait is in progress
  std::chrono::steady_clock::time_point turn_start_ ABSL_GUARDED_BY(mu_);
  size_t turn_responses_ ABSL_GUARDED_BY(mu_) = 0;  // responses of the last turn
  bool service_busy_ ABSL_GUARDED_BY(mu_) = false;  // as of the last Deliver
  bool coalesced_ ABSL_GUARDED_BY(mu_) = false;     // this turn already waited
  bool started_ ABSL_GUARDED_BY(mu_) = false;       // the first write (with headers) went out
  grpc::Alarm coalesce_alarm_;  // wakes the writer after a coalescing wait
  // Entries up to this sequence number take no more events (a progress
  // response follows them).
  uint64_t merge_floor_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // A ProgressRequest waits for the stream's watchers to sync; the writer
  // asks the store again (progress_retry_) when one of them does.
  bool progress_deferred_ ABSL_GUARDED_BY(mu_) = false;
  bool progress_retry_ ABSL_GUARDED_BY(mu_) = false;
  // No read is outstanding: too many responses wait; the writer resumes reads.
  bool reads_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;  // reads ended or call cancelled
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_WATCH_STREAM_H_
