// WatchStream: the reactor of one Watch RPC (see watch_service.h).
// Lifetime: created by WatchService::Watch, deleted in OnDone. Every
// watcher is cancelled in the store before the reactor finishes, so the
// store never calls a dead sink.
// Locking: store mu -> stream mu_ (Deliver is called under the store's lock);
// the stream never calls the store while holding mu_.
#ifndef QUORUM_SERVER_API_WATCH_STREAM_H_
#define QUORUM_SERVER_API_WATCH_STREAM_H_

#include <deque>
#include <map>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "mvcc/watchable_store.h"
#include "server/api/watch_service.h"

namespace quorum::server {

class WatchStream final
    : public grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>,
      public mvcc::WatchSink {
 public:
  // Responses queued beyond this make Deliver refuse (the store replays).
  static constexpr size_t kMaxQueued = 1024;

  WatchStream(WatchService* service, const ServiceDeps* deps, mvcc::WatchableStore* watchable);

  // grpc reactor
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override;

  // mvcc::WatchSink
  bool Deliver(mvcc::WatchId id, std::vector<mvcc::Change> events, int64_t rev) override;
  void Compacted(mvcc::WatchId id, int64_t compact_rev) override;
  bool Ready() override;

  // Sends progress to idle synced watchers that asked for it.
  void SendProgress();

 private:
  struct WatcherInfo {
    int64_t stream_id = 0;
    bool prev_kv = false;
    bool fragment = false;
    bool progress_notify = false;
  };
  // A response to build and write: events are turned into protos (prev_kv,
  // fragments) on the pool, not on the thread that delivered them.
  struct Item {
    etcdserverpb::WatchResponse resp;  // header/ids set; events empty
    std::vector<mvcc::Change> events;
    bool prev_kv = false;
    bool fragment = false;
    int64_t forget_store_id = 0;  // compacted: drop this watcher's mapping
  };

  void HandleCreate(const etcdserverpb::WatchCreateRequest& r);
  void HandleCancel(const etcdserverpb::WatchCancelRequest& r);
  void HandleProgress();
  void EnqueueLocked(Item item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(Item item);
  void ScheduleWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNext();
  std::vector<etcdserverpb::WatchResponse> Build(Item item);
  void CancelAllWatchers();
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  etcdserverpb::ResponseHeader Header(int64_t rev) const;

  WatchService* service_;
  const ServiceDeps* deps_;
  mvcc::WatchableStore* watchable_;
  etcdserverpb::WatchRequest req_;
  etcdserverpb::WatchResponse out_;

  absl::Mutex mu_;
  std::map<mvcc::WatchId, WatcherInfo> by_store_id_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, mvcc::WatchId> by_stream_id_ ABSL_GUARDED_BY(mu_);
  int64_t next_stream_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<etcdserverpb::WatchResponse> built_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // a write or build is in progress
  bool closing_ ABSL_GUARDED_BY(mu_) = false;  // reads ended or call cancelled
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_WATCH_STREAM_H_
