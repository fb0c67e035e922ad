#include "client/client.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {
namespace {

// clientv3's default MaxCallSendMsgSize; the receive side is unlimited.
constexpr int kMaxSendBytes = 2 * 1024 * 1024;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("open ", path, ": no such file or directory"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Client::Target Client::ParseEndpoint(const std::string& endpoint, bool tls_default) {
  // Same scheme rules as clientv3: http:// and unix:// are plaintext,
  // https:// and unixs:// are TLS, a bare host:port follows the TLS options.
  Target t;
  if (absl::StartsWith(endpoint, "http://")) {
    t.address = endpoint.substr(7);
  } else if (absl::StartsWith(endpoint, "https://")) {
    t.address = endpoint.substr(8);
    t.tls = true;
  } else if (absl::StartsWith(endpoint, "unixs://")) {
    t.address = "unix:" + endpoint.substr(8);
    t.tls = true;
  } else if (absl::StartsWith(endpoint, "unix://")) {
    t.address = "unix:" + endpoint.substr(7);
  } else {
    t.address = endpoint;
    t.tls = tls_default;
  }
  // A trailing slash or path (http://h:2379/) is not part of the target.
  if (!absl::StartsWith(t.address, "unix:")) {
    size_t slash = t.address.find('/');
    if (slash != std::string::npos) t.address.resize(slash);
  }
  return t;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  std::unique_ptr<Client> c(new Client(std::move(options)));
  if (absl::Status s = c->Init(); !s.ok()) return s;
  if (!c->options_.username.empty()) {
    if (absl::Status s = c->Authenticate(); !s.ok()) return s;
  }
  return c;
}

absl::Status Client::Init() {
  if (options_.endpoints.empty()) return absl::InvalidArgumentError("no endpoints given");
  const TlsOptions& tls = options_.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(tls.cert_file.empty()
                                          ? "tls: key file given without a cert file"
                                          : "tls: cert file given without a key file");
  }
  if (!tls.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(tls.ca_file);
    if (!ca.ok()) return ca.status();
    ca_pem_ = *std::move(ca);
  }
  if (!tls.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(tls.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(tls.key_file);
    if (!key.ok()) return key.status();
    cert_pem_ = *std::move(cert);
    key_pem_ = *std::move(key);
  }
  // insecure_skip_verify only relaxes TLS where it is on; it never turns it on.
  tls_default_ = !options_.insecure_transport || !ca_pem_.empty() || !cert_pem_.empty();
  absl::MutexLock l(&mu_);
  channels_.resize(options_.endpoints.size());
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> Client::Credentials(bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  if (!options_.tls.insecure_skip_verify) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_pem_;
    ssl.pem_cert_chain = cert_pem_;
    ssl.pem_private_key = key_pem_;
    return grpc::SslCredentials(ssl);
  }
  // Skip verification: the experimental TLS options are the only way gRPC
  // C++ 1.51 offers to accept any server certificate.
  namespace exp = grpc::experimental;
  std::shared_ptr<exp::CertificateProviderInterface> provider;
  if (!cert_pem_.empty() || !ca_pem_.empty()) {
    std::vector<exp::IdentityKeyCertPair> pairs;
    if (!cert_pem_.empty()) pairs.push_back({key_pem_, cert_pem_});
    provider = std::make_shared<exp::StaticDataCertificateProvider>(ca_pem_, pairs);
  }
  exp::TlsChannelCredentialsOptions opts;
  if (provider) {
    opts.set_certificate_provider(provider);
    if (!ca_pem_.empty()) opts.watch_root_certs();
    if (!cert_pem_.empty()) opts.watch_identity_key_cert_pairs();
  }
  opts.set_verify_server_certs(false);
  opts.set_check_call_host(false);
  opts.set_certificate_verifier(std::make_shared<exp::NoOpCertificateVerifier>());
  return exp::TlsCredentials(opts);
}

std::shared_ptr<grpc::Channel> Client::Channel(size_t index) {
  absl::MutexLock l(&mu_);
  if (channels_[index]) return channels_[index];
  Target t = ParseEndpoint(options_.endpoints[index], tls_default_);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_time)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_timeout)));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(kMaxSendBytes);
  // Fail fast between attempts: the failover loop does its own pacing.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  channels_[index] = grpc::CreateCustomChannel(t.address, Credentials(t.tls), args);
  return channels_[index];
}

int Client::EndpointIndex(const std::string& endpoint) const {
  for (size_t i = 0; i < options_.endpoints.size(); ++i) {
    if (options_.endpoints[i] == endpoint) return static_cast<int>(i);
  }
  return -1;
}

namespace {
thread_local absl::Time call_deadline_cap = absl::InfiniteFuture();
}  // namespace

CallDeadlineScope::CallDeadlineScope(absl::Time deadline) : previous_(call_deadline_cap) {
  call_deadline_cap = deadline;
}

CallDeadlineScope::~CallDeadlineScope() { call_deadline_cap = previous_; }

absl::Time CallDeadlineScope::Current() { return call_deadline_cap; }

void Client::AttachToken(grpc::ClientContext* ctx) const {
  absl::MutexLock l(&mu_);
  if (!token_.empty()) ctx->AddMetadata("token", token_);
}

bool Client::IsStaleTokenMessage(const std::string& message) {
  // By text, whatever the code: etcd's Lock and Election services pass the
  // KV's refusal on as Unknown, and a watch reports it in its cancel reason
  // ("rpc error: code = Unauthenticated desc = etcdserver: invalid auth token").
  return absl::StrContains(message, "etcdserver: invalid auth token") ||
         absl::StrContains(message, "etcdserver: user name is empty") ||
         absl::StrContains(message, "etcdserver: revision of auth store is old");
}

absl::Status Client::RefreshToken() {
  if (options_.username.empty()) return absl::FailedPreconditionError("no user configured");
  return Authenticate();
}

absl::Status Client::InvokeErased(Idempotency idempotency, int only_index,
                                  const ErasedAttempt& attempt, bool authenticating) {
  const absl::Time deadline =
      std::min(absl::Now() + options_.command_timeout, CallDeadlineScope::Current());
  const size_t n = options_.endpoints.size();
  if (only_index >= static_cast<int>(n)) return absl::InvalidArgumentError("no such endpoint");
  size_t start;
  {
    absl::MutexLock l(&mu_);
    start = only_index >= 0 ? static_cast<size_t>(only_index) : pinned_;
  }
  CallCanceller* const canceller = CallCancelScope::Current();
  bool token_refreshed = authenticating || options_.username.empty();
  int unavailable_retries = 0;
  for (size_t tries = 0;; ++tries) {
    const absl::Time now = absl::Now();
    if (canceller != nullptr && canceller->Cancelled()) {
      return absl::CancelledError(kCallCancelledMessage);
    }
    if (now >= deadline) return absl::DeadlineExceededError(kDeadlineExceededMessage);
    const size_t i = only_index >= 0 ? start : (start + tries) % n;
    std::shared_ptr<grpc::Channel> ch = Channel(i);
    // On the first pass, an endpoint already known to be down (its last
    // connect failed, e.g. refused after a kill -9) is passed over at once
    // rather than waited on for a dial timeout, so failover to a live member
    // is immediate; the second pass waits on every endpoint as usual.
    if (only_index < 0 && n > 1 && tries < n &&
        ch->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      continue;
    }
    // Not connected within the dial timeout: the request was never sent, so
    // moving on to the next endpoint is safe for every call.
    if (!WaitConnected(*ch, std::min(deadline, now + options_.dial_timeout), canceller)) {
      continue;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(deadline));
    if (!authenticating) AttachToken(&ctx);
    if (canceller != nullptr && !canceller->Attach(&ctx)) {
      return absl::CancelledError(kCallCancelledMessage);
    }
    grpc::Status s = attempt(ch, &ctx);
    if (canceller != nullptr) {
      canceller->Detach();
      if (!s.ok() && canceller->Cancelled()) return absl::CancelledError(kCallCancelledMessage);
    }
    if (s.ok()) {
      absl::MutexLock l(&mu_);
      pinned_ = i;
      return absl::OkStatus();
    }
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && absl::Now() >= deadline) {
      return absl::DeadlineExceededError(kDeadlineExceededMessage);
    }
    if (!token_refreshed && IsStaleTokenMessage(s.error_message())) {
      // The request was refused before it ran: safe to send again. The
      // login shares this call's deadline.
      token_refreshed = true;
      CallDeadlineScope bound(deadline);
      if (absl::Status a = Authenticate(); !a.ok()) return a;
      --tries;  // the same endpoint again (unsigned wrap-around at 0 is intended)
      continue;
    }
    // With one endpoint the same one is asked again (a new leader, a member
    // back), as clientv3 retries repeatable calls: at most kMaxUnavailableRetries
    // times, then the server's own error (a learner's "rpc not supported for
    // learner" stays an answer, not a deadline).
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE && only_index < 0 &&
        idempotency == Idempotency::kIdempotent &&
        ++unavailable_retries <= kMaxUnavailableRetries) {
      if (n == 1) {
        absl::SleepFor(std::min(kUnavailableBackoff, deadline - absl::Now()));
        continue;
      }
      // After a whole pass of refusals (members stopping, no leader), back
      // off before the next: retrying at once would only flood the cluster.
      if ((tries + 1) % n == 0) {
        const absl::Duration pause =
            std::min(absl::Milliseconds(25) * static_cast<int64_t>((tries + 1) / n),
                     absl::Milliseconds(500));
        absl::SleepFor(std::min(pause, deadline - absl::Now()));
      }
      continue;
    }
    return FromGrpcStatus(s);
  }
}

bool Client::WaitConnected(grpc::Channel& ch, absl::Time until, const CallCanceller* canceller) {
  if (canceller == nullptr) return ch.WaitForConnected(absl::ToChronoTime(until));
  // In slices, so a cancel is noticed while an endpoint does not answer.
  for (;;) {
    const absl::Time step = std::min(until, absl::Now() + CallCanceller::kPollInterval);
    if (ch.WaitForConnected(absl::ToChronoTime(step))) return true;
    if (canceller->Cancelled() || absl::Now() >= until) return false;
  }
}

void Client::AbandonChannel(const std::shared_ptr<grpc::Channel>& channel) {
  if (channel == nullptr) return;
  absl::MutexLock l(&mu_);
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (channels_[i] != channel) continue;
    channels_[i].reset();
    if (pinned_ == i) pinned_ = (i + 1) % channels_.size();
    return;
  }
}

absl::Status Client::Authenticate() {
  etcdserverpb::AuthenticateRequest req;
  req.set_name(options_.username);
  req.set_password(options_.password);
  etcdserverpb::AuthenticateResponse resp;
  absl::Status s = InvokeErased(
      Idempotency::kIdempotent, -1,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx) {
        resp.Clear();
        return etcdserverpb::Auth::NewStub(ch)->Authenticate(ctx, req, &resp);
      },
      /*authenticating=*/true);
  if (!s.ok()) return s;
  absl::MutexLock l(&mu_);
  token_ = resp.token();
  return absl::OkStatus();
}

}  // namespace quorum::client
