// etcdserverpb.Watch: one bidirectional stream carries many watchers.
// Requests (create / cancel / progress) are handled as they are read;
// responses (created, events, compacted, canceled, progress) leave through a
// per-stream queue with one write in flight. Events come from the
// WatchableStore; a stream whose queue is full makes the store replay its
// watchers from storage later instead of blocking apply. prev_kv lookups,
// encoding and fragmentation happen off the apply thread, on a small pool.
// The method is registered "raw" (grpc::ByteBuffer in and out): requests are
// parsed here, and event responses are encoded straight from the events'
// shared wire form instead of through per-watcher protobuf objects.
#ifndef QUORUM_SERVER_API_WATCH_SERVICE_H_
#define QUORUM_SERVER_API_WATCH_SERVICE_H_

#include <chrono>
#include <memory>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "mvcc/watchable_store.h"
#include "server/api/service_deps.h"
#include "server/api/watch_load_meter.h"
#include "util/thread_pool.h"

namespace quorum::server {

class WatchStream;

class WatchService final
    : public etcdserverpb::Watch::WithRawCallbackMethod_Watch<etcdserverpb::Watch::Service> {
 public:
  // progress_interval: how often progress_notify watchers get an empty
  // response when idle (etcd's --experimental-watch-progress-notify-interval).
  WatchService(const ServiceDeps* deps, mvcc::WatchableStore* watchable,
               std::chrono::milliseconds progress_interval);
  ~WatchService() override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Watch(
      grpc::CallbackServerContext* ctx) override;

 private:
  friend class WatchStream;
  void Register(WatchStream* s);
  void Unregister(WatchStream* s);
  void ProgressLoop();
  // Counts `events` queued on some stream; true while the service is busy
  // (watch_load_meter.h), so that large turns coalesce.
  bool CountEvents(size_t events);

  const ServiceDeps* deps_;
  mvcc::WatchableStore* watchable_;
  std::chrono::milliseconds progress_interval_;
  util::ThreadPool pool_{2, "watch-pool"};
  // Busy from 100k events/s (2,000 per 20 ms window); idle again below 25k/s.
  static constexpr size_t kBusyEvents = 2000;
  static constexpr size_t kStillBusyEvents = 500;
  absl::Mutex load_mu_;  // a leaf: taken under a stream's lock
  WatchLoadMeter load_ ABSL_GUARDED_BY(load_mu_);
  absl::Mutex mu_;
  absl::flat_hash_set<WatchStream*> streams_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread progress_thread_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_WATCH_SERVICE_H_
