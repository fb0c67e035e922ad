// Watcher: one etcd watch (a key, a range or a prefix) over the Watch bidi
// stream, resumed automatically on another endpoint from the last revision
// seen -- no lost and no duplicated events (what clientv3's Watch gives Go).
//
// Who calls it: concurrency (Mutex/Election wait for deletes), quorumctl
// watch, tools, tests.
//
// Design: a reader thread owns the stream. It creates the watch from
// next_rev_ (the requested start revision, then one past the last event or
// progress revision received), pushes every response with events (and
// progress notifications) into a queue the caller drains with Next(), and on
// a broken stream reconnects after kReconnectPause from next_rev_ (the
// Client picks the endpoint: its pinned one, failing over to the next that
// connects). Permanent ends are reported by Next(): compaction (OutOfRange
// "mvcc: required revision has been compacted", with compact_revision()), a
// server-side cancel (Cancelled + reason), Close().
//
// Liveness: an idle watch stream carries nothing, and gRPC stops its HTTP/2
// keepalive pings after two without data, so a member that hangs (SIGSTOP,
// a network that drops everything) would leave Read() blocked forever. A
// probe thread therefore sends a ProgressRequest once the stream has been
// silent for ProbeAfter() (the client's keepalive time, 5 s at least: the
// server's minimum ping interval); any response proves the member alive
// (the data also re-arms gRPC's pings and the server's ping-strike count).
// With no response within the keepalive timeout the stream is cancelled, the
// endpoint abandoned (Client::AbandonChannel: its connection dropped, the pin
// moved, since the hung member's connection still looks READY) and the watch
// resumed elsewhere from next_rev_; until a probe is answered again, each
// give-up doubles that timeout (a live server may defer the answer while the
// watch catches up on old revisions). Answers to probes (watch_id -1) are not
// pushed to the caller; only RequestProgress() asks for one that is.
// The stream carries the Client's auth token (etcd with auth enabled).
//
// Thread-safety: all methods are thread-safe. The Client must outlive it.
#ifndef QUORUM_CLIENT_WATCH_H_
#define QUORUM_CLIENT_WATCH_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/call_canceller.h"
#include "client/client.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client {

struct WatchOptions {
  // At most one of range_end / prefix / from_key.
  std::string range_end;
  bool prefix = false;
  bool from_key = false;
  int64_t start_revision = 0;  // <= 0: from the next revision
  bool prev_kv = false;
  bool progress_notify = false;
  bool filter_put = false;
  bool filter_delete = false;
};

class Watcher {
 public:
  static constexpr absl::Duration kReconnectPause = absl::Milliseconds(200);
  static constexpr absl::Duration kMaxProbeTimeout = absl::Seconds(60);

  // Starts the reader; the first create happens in the background (errors
  // surface through Next()).
  static std::unique_ptr<Watcher> Open(Client& client, std::string key, WatchOptions opts = {});
  ~Watcher();  // Close()

  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // The next response (events or a progress notification), waiting at most
  // `timeout`: nullopt on timeout; an error once the watch has ended for good.
  absl::StatusOr<std::optional<etcdserverpb::WatchResponse>> Next(absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the watch; Next() then reports Cancelled "watch closed". Returns at
  // once (the reader's call in flight is cancelled). Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  // The server's final response (compact_revision or canceled set) once the
  // watch ended that way; nullopt otherwise. For callers that print it.
  std::optional<etcdserverpb::WatchResponse> EndResponse() const ABSL_LOCKS_EXCLUDED(mu_);
  // Asks the server for a progress notification on the live stream (etcd's
  // ProgressRequest); it arrives through Next() as a response without events.
  // Asked before the stream is up, it is sent right after the watch is created.
  absl::Status RequestProgress() ABSL_LOCKS_EXCLUDED(mu_);
  // Revision from which a resumed watch would start.
  int64_t NextRevision() const ABSL_LOCKS_EXCLUDED(mu_);
  // Number of times the stream was re-created after a failure (for tests).
  int Reconnects() const ABSL_LOCKS_EXCLUDED(mu_);

  // Silence after which the probe thread asks the stream for progress.
  static absl::Duration ProbeAfter(const ClientOptions& o);

 private:
  using Stream =
      grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;

  Watcher(Client& client, std::string key, WatchOptions opts);
  void Run();
  // One stream lifetime: returns a permanent end status, or OK when the
  // stream broke (or could not start) and should be re-created.
  absl::Status RunStream();
  // Writes the create request (and a pending progress request); publishes
  // the stream for other writers. False when the stream is already broken.
  bool StartStream(Stream* stream, const etcdserverpb::WatchRequest& create)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // Handles one response; false when it ends the watch for good (`end`).
  bool HandleResponse(const etcdserverpb::WatchResponse& resp, absl::Status* end)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Writes a ProgressRequest on the live stream; false when none is up.
  bool WriteProgress() ABSL_LOCKS_EXCLUDED(write_mu_);
  // The probe thread (see Liveness above).
  void Probe() ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  void Push(etcdserverpb::WatchResponse resp) ABSL_LOCKS_EXCLUDED(mu_);

  Client& client_;
  const std::string key_;
  const WatchOptions opts_;
  const absl::Duration probe_after_;

  // Serialises writes on the stream and guards the pointer to it. Lock
  // order: write_mu_ before mu_. Never held by Close(), which cancels the
  // context (under mu_) to end a write that blocks.
  absl::Mutex write_mu_;
  // The live stream, for RequestProgress and the probe; only the reader
  // thread reads it, and it clears this before destroying the stream.
  Stream* stream_ ABSL_GUARDED_BY(write_mu_) = nullptr;

  mutable absl::Mutex mu_;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // The live stream's context, to cancel it from Close() or the probe.
  grpc::ClientContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::optional<etcdserverpb::WatchResponse> end_resp_ ABSL_GUARDED_BY(mu_);
  // A RequestProgress() that found no stream up.
  bool progress_pending_ ABSL_GUARDED_BY(mu_) = false;
  // A RequestProgress() not answered yet: the next watch_id -1 response is
  // the caller's; other ones answer the probe and are dropped.
  bool user_progress_ ABSL_GUARDED_BY(mu_) = false;
  // Probe state of the live stream: bumped at each stream start; when it
  // last received anything; when the unanswered probe was sent
  // (InfiniteFuture: none); whether the probe gave up on its endpoint.
  int64_t stream_gen_ ABSL_GUARDED_BY(mu_) = 0;
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_recv_ ABSL_GUARDED_BY(mu_);
  absl::Time probe_sent_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool hung_ ABSL_GUARDED_BY(mu_) = false;
  // How long a probe may go unanswered: the keepalive timeout, doubled after
  // each give-up (up to kMaxProbeTimeout) until a probe is answered.
  absl::Duration probe_timeout_ ABSL_GUARDED_BY(mu_);
  std::deque<etcdserverpb::WatchResponse> queue_ ABSL_GUARDED_BY(mu_);
  absl::Status end_ ABSL_GUARDED_BY(mu_);  // non-OK once ended
  // Invariant: every event below next_rev_ has been queued exactly once.
  int64_t next_rev_ ABSL_GUARDED_BY(mu_) = 0;
  int reconnects_ ABSL_GUARDED_BY(mu_) = 0;
  // The server cancelled the stream for a stale auth token (a restart
  // forgot it, or it expired): log in again and resume. Set by the reader
  // only; `relogins_` counts refusals since the last stream the server took,
  // so a token refused right after a fresh login ends the watch.
  bool relogin_ = false;
  int relogins_ = 0;
  // Ends the reader's Invoke (picking an endpoint) on Close().
  CallCanceller canceller_;
  std::once_flag join_once_;
  std::thread thread_;
  std::thread probe_thread_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_WATCH_H_
