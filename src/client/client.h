// Client: a connection to a Quorum (or etcd v3) cluster through a list of
// client endpoints -- what Go's clientv3.Client is to etcd.
//
// Who calls it: quorumctl, quorum-bench, tests, and the per-service clients in
// this directory (KvClient, ClusterClient, MaintenanceClient; Watch/Lease/Auth
// clients attach the same way when the server grows those services).
//
// What it owns: one gRPC channel per endpoint (created lazily on first use),
// the TLS credentials, the auth token (when a user is configured), and the
// failover policy. Every unary call goes through Invoke():
//   * the call gets a deadline of options.command_timeout from its start;
//   * it is sent to the "pinned" endpoint; if that endpoint cannot be
//     connected within options.dial_timeout the next endpoint is tried
//     (round-robin) until the deadline -- a request that was never sent is
//     always safe to retry; on the first pass an endpoint whose channel is
//     in TRANSIENT_FAILURE (known down) is skipped without waiting;
//   * a call that was sent and failed with UNAVAILABLE is retried on the next
//     endpoint (the same one when there is only one) only when it is
//     idempotent (Range, Status, MemberList, ...), as clientv3's retry
//     interceptor does for "repeatable" RPCs;
//   * with a user configured, a call the server refuses for its token
//     (expired, or the auth store changed) re-authenticates once and is
//     sent again, as clientv3 does; any other failure is returned as is
//     (see errors.h for the mapping).
// InvokeOn() targets one given endpoint (per-member Maintenance calls).
// A CallCancelScope on the calling thread lets another thread end the call
// (call_canceller.h); AbandonChannel() drops the connection to a member that
// stopped answering while its connection still looks up.
//
// Thread-safety: all methods are thread-safe; channels are created under mu_.
#ifndef QUORUM_CLIENT_CLIENT_H_
#define QUORUM_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/call_canceller.h"

namespace quorum::client {

struct TlsOptions {
  // Trusted CA bundle (PEM file). Empty: system roots when TLS is on.
  std::string ca_file;
  // Client certificate and key (PEM files) for mutual TLS; both or neither.
  std::string cert_file;
  std::string key_file;
  // Accept any server certificate (testing only, as etcdctl's flag says)
  // wherever TLS is used; it does not by itself turn TLS on.
  bool insecure_skip_verify = false;
};

struct ClientOptions {
  // Client URLs or host:port pairs: "127.0.0.1:2379", "http://h:2379",
  // "https://h:2379" (forces TLS), "unix:///path" / "unix://name".
  std::vector<std::string> endpoints = {"127.0.0.1:2379"};
  // How long one endpoint may take to connect before the next is tried.
  absl::Duration dial_timeout = absl::Seconds(2);
  // Deadline of every unary call, failover included (etcdctl --command-timeout).
  absl::Duration command_timeout = absl::Seconds(5);
  // HTTP/2 keepalive pings (etcdctl --keepalive-time / --keepalive-timeout).
  absl::Duration keepalive_time = absl::Seconds(2);
  absl::Duration keepalive_timeout = absl::Seconds(6);
  // TLS is used when any TLS file is set, an endpoint is https://, or
  // insecure_transport is false (insecure_skip_verify alone does not).
  TlsOptions tls;
  bool insecure_transport = true;
  // When username is set, Create() authenticates and every call carries the
  // token (etcd's "token" metadata).
  std::string username;
  std::string password;
};

// Whether a call may be re-sent to another endpoint after it reached a server.
enum class Idempotency { kIdempotent, kNonIdempotent };

// While one lives, every call its thread makes ends by `deadline` at the
// latest (sooner when command_timeout says so). The recipes bound the RPCs
// inside a Lock or Campaign by the caller's wait this way, as a clientv3 call
// is bound by its context. Scopes nest; the innermost applies.
class CallDeadlineScope {
 public:
  explicit CallDeadlineScope(absl::Time deadline);
  ~CallDeadlineScope();
  CallDeadlineScope(const CallDeadlineScope&) = delete;
  CallDeadlineScope& operator=(const CallDeadlineScope&) = delete;
  // The deadline in force on this thread (InfiniteFuture when none).
  static absl::Time Current();

 private:
  absl::Time previous_;
};

class Client {
 public:
  // The function Invoke runs against a channel: it must fill `resp` and
  // return the gRPC status of one attempt.
  template <typename Resp>
  using Attempt = std::function<grpc::Status(const std::shared_ptr<grpc::Channel>&,
                                             grpc::ClientContext*, Resp*)>;

  // Validates options (endpoints non-empty, TLS files readable) and, when a
  // user is configured, authenticates. Connections are made lazily.
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const { return options_; }
  const std::vector<std::string>& endpoints() const { return options_.endpoints; }

  // Runs `attempt` with failover as described at the top of this file.
  template <typename Resp>
  absl::StatusOr<Resp> Invoke(Idempotency idempotency, const Attempt<Resp>& attempt) {
    Resp resp;
    absl::Status s = InvokeErased(
        idempotency, -1, [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx) {
          resp.Clear();
          return attempt(ch, ctx, &resp);
        });
    if (!s.ok()) return s;
    return resp;
  }

  // Runs `attempt` against endpoints()[index] only (no failover).
  template <typename Resp>
  absl::StatusOr<Resp> InvokeOn(size_t index, const Attempt<Resp>& attempt) {
    Resp resp;
    absl::Status s =
        InvokeErased(Idempotency::kNonIdempotent, static_cast<int>(index),
                     [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx) {
                       return attempt(ch, ctx, &resp);
                     });
    if (!s.ok()) return s;
    return resp;
  }

  // The endpoint behind `channel` left a call or stream unanswered past its
  // deadline although its connection may look READY (a paused or hung
  // member keeps its TCP connection open, and gRPC keeps routing to it):
  // the next call to it opens a new connection (which must pass the dial
  // timeout), and the pin moves to the next endpoint. No-op for a channel
  // that has been replaced already.
  void AbandonChannel(const std::shared_ptr<grpc::Channel>& channel) ABSL_LOCKS_EXCLUDED(mu_);

  // Adds the auth token (when a user is configured) to a call or stream
  // opened outside Invoke: watch streams, Lock/Campaign/Observe.
  void AttachToken(grpc::ClientContext* ctx) const ABSL_LOCKS_EXCLUDED(mu_);
  // Whether a server's error text says the token was refused (expired, or a
  // server restart forgot it): etcd's "invalid auth token", "user name is
  // empty", "revision of auth store is old" -- in any gRPC code, or inside a
  // watch's cancel reason. Invoke re-authenticates on it by itself; callers
  // of streams opened outside Invoke call RefreshToken() and open it again.
  static bool IsStaleTokenMessage(const std::string& message);
  // Logs in again (FailedPrecondition when no user is configured).
  absl::Status RefreshToken() ABSL_LOCKS_EXCLUDED(mu_);

  // Index of `endpoint` in endpoints(), or -1.
  int EndpointIndex(const std::string& endpoint) const;

  // The gRPC target and whether TLS applies, for one endpoint string.
  // Exposed for tests.
  struct Target {
    std::string address;
    bool tls = false;
  };
  static Target ParseEndpoint(const std::string& endpoint, bool tls_default);

 private:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}

  using ErasedAttempt =
      std::function<grpc::Status(const std::shared_ptr<grpc::Channel>&, grpc::ClientContext*)>;
  // `authenticating`: the Authenticate call itself (no token, no refresh).
  absl::Status InvokeErased(Idempotency idempotency, int only_index, const ErasedAttempt& attempt,
                            bool authenticating = false);
  // clientv3's retry budget for a repeatable call answered Unavailable
  // (defaultUnaryMaxRetries, defaultBackoffWaitBetween).
  static constexpr int kMaxUnavailableRetries = 100;
  static constexpr absl::Duration kUnavailableBackoff = absl::Milliseconds(25);
  absl::Status Init();
  absl::Status Authenticate();
  std::shared_ptr<grpc::Channel> Channel(size_t index) ABSL_LOCKS_EXCLUDED(mu_);
  // WaitForConnected until `until`, giving up early once `canceller` (if
  // any) is cancelled.
  static bool WaitConnected(grpc::Channel& ch, absl::Time until, const CallCanceller* canceller);
  std::shared_ptr<grpc::ChannelCredentials> Credentials(bool tls);

  const ClientOptions options_;
  bool tls_default_ = false;
  // PEM contents read by Init().
  std::string ca_pem_, cert_pem_, key_pem_;
  mutable absl::Mutex mu_;
  // Auth token sent as "token" metadata; set by Authenticate().
  std::string token_ ABSL_GUARDED_BY(mu_);
  // One per endpoint; null until first used.
  std::vector<std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
  // Endpoint tried first: the last one that answered.
  size_t pinned_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_CLIENT_H_
