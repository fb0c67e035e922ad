#include "client/watch.h"

#include <algorithm>
#include <utility>

#include "client/errors.h"
#include "client/kv.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {

std::unique_ptr<Watcher> Watcher::Open(Client& client, std::string key, WatchOptions opts) {
  std::unique_ptr<Watcher> w(new Watcher(client, std::move(key), std::move(opts)));
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  w->probe_thread_ = std::thread([p = w.get()] { p->Probe(); });
  return w;
}

absl::Duration Watcher::ProbeAfter(const ClientOptions& o) {
  // Not more often than etcd's --grpc-keepalive-min-time default allows
  // pings: a probe costs the server about as much.
  return std::max(o.keepalive_time, absl::Seconds(5));
}

Watcher::Watcher(Client& client, std::string key, WatchOptions opts)
    : client_(client),
      key_(std::move(key)),
      opts_(std::move(opts)),
      probe_after_(ProbeAfter(client.options())) {
  probe_timeout_ = client.options().keepalive_timeout;
  next_rev_ = std::max<int64_t>(0, opts_.start_revision);
}

Watcher::~Watcher() { Close(); }

void Watcher::Close() {
  {
    absl::MutexLock l(&mu_);
    closing_ = true;
    if (ctx_ != nullptr) ctx_->TryCancel();
    if (end_.ok()) end_ = absl::CancelledError("watch closed");
  }
  canceller_.Cancel();  // the reader may be inside Invoke, picking an endpoint
  std::call_once(join_once_, [this] {
    if (thread_.joinable()) thread_.join();
    if (probe_thread_.joinable()) probe_thread_.join();
  });
}

int64_t Watcher::NextRevision() const {
  absl::MutexLock l(&mu_);
  return next_rev_;
}

int Watcher::Reconnects() const {
  absl::MutexLock l(&mu_);
  return reconnects_;
}

std::optional<etcdserverpb::WatchResponse> Watcher::EndResponse() const {
  absl::MutexLock l(&mu_);
  return end_resp_;
}

absl::Status Watcher::RequestProgress() {
  {
    absl::MutexLock l(&mu_);
    user_progress_ = true;
  }
  absl::MutexLock w(&write_mu_);
  etcdserverpb::WatchRequest req;
  req.mutable_progress_request();
  if (stream_ == nullptr || !stream_->Write(req)) {
    absl::MutexLock l(&mu_);
    progress_pending_ = true;
  }
  return absl::OkStatus();
}

bool Watcher::WriteProgress() {
  absl::MutexLock w(&write_mu_);
  etcdserverpb::WatchRequest req;
  req.mutable_progress_request();
  return stream_ != nullptr && stream_->Write(req);
}

absl::StatusOr<std::optional<etcdserverpb::WatchResponse>> Watcher::Next(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || !end_.ok(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (!queue_.empty()) {
    etcdserverpb::WatchResponse r = std::move(queue_.front());
    queue_.pop_front();
    return std::optional<etcdserverpb::WatchResponse>(std::move(r));
  }
  if (!end_.ok()) return end_;
  return std::optional<etcdserverpb::WatchResponse>();
}

void Watcher::Push(etcdserverpb::WatchResponse resp) {
  absl::MutexLock l(&mu_);
  queue_.push_back(std::move(resp));
}

void Watcher::Run() {
  CallCancelScope cancellable(&canceller_);
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (closing_) return;
    }
    absl::Status end = RunStream();
    absl::MutexLock l(&mu_);
    if (closing_) return;
    if (!end.ok()) {
      end_ = end;
      return;
    }
    ++reconnects_;
    auto closing = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closing_; };
    mu_.AwaitWithTimeout(absl::Condition(&closing), kReconnectPause);
    if (closing_) return;
  }
}

absl::Status Watcher::RunStream() {
  // A throwaway Invoke picks the channel: the Client's pinned endpoint, or
  // the next one that connects within the dial timeout.
  std::shared_ptr<grpc::Channel> channel;
  absl::Status got = client_
                         .Invoke<etcdserverpb::ResponseHeader>(
                             Idempotency::kIdempotent,
                             [&](const std::shared_ptr<grpc::Channel>& c, grpc::ClientContext*,
                                 etcdserverpb::ResponseHeader*) {
                               channel = c;
                               return grpc::Status::OK;
                             })
                         .status();
  if (!got.ok() || !channel) return absl::OkStatus();  // none reachable now: retry later

  grpc::ClientContext ctx;
  etcdserverpb::WatchRequest req;
  etcdserverpb::WatchCreateRequest* c = req.mutable_create_request();
  c->set_key(key_);
  if (opts_.prefix) {
    c->set_range_end(PrefixRangeEnd(key_));
  } else if (opts_.from_key) {
    c->set_range_end(std::string(1, '\0'));
  } else {
    c->set_range_end(opts_.range_end);
  }
  c->set_prev_kv(opts_.prev_kv);
  c->set_progress_notify(opts_.progress_notify);
  if (opts_.filter_put) c->add_filters(etcdserverpb::WatchCreateRequest::NOPUT);
  if (opts_.filter_delete) c->add_filters(etcdserverpb::WatchCreateRequest::NODELETE);
  {
    absl::MutexLock l(&mu_);
    if (closing_) return absl::OkStatus();
    c->set_start_revision(next_rev_);
    ctx_ = &ctx;
  }
  client_.AttachToken(&ctx);
  auto stub = etcdserverpb::Watch::NewStub(channel);
  std::unique_ptr<Stream> stream = stub->Watch(&ctx);
  absl::Status end;
  if (StartStream(stream.get(), req)) {
    etcdserverpb::WatchResponse resp;
    while (stream->Read(&resp)) {
      if (!HandleResponse(resp, &end)) break;
    }
  }
  {
    absl::MutexLock w(&write_mu_);
    stream_ = nullptr;
  }
  bool hung;
  {
    absl::MutexLock l(&mu_);
    ctx_ = nullptr;
    live_ = false;
    hung = hung_;
    hung_ = false;
  }
  if (!end.ok()) {
    ctx.TryCancel();
    stream->Finish();
    return end;
  }
  if (relogin_) {
    relogin_ = false;
    ++relogins_;
    ctx.TryCancel();
    stream->Finish();
    return client_.RefreshToken();  // on failure the watch ends with the login's error
  }
  grpc::Status fs = stream->Finish();
  // The probe found the member unresponsive: resume elsewhere.
  if (hung) {
    client_.AbandonChannel(channel);
    return absl::OkStatus();
  }
  // The server (or the connection) ended the stream: a broken connection is
  // retried, a stale token renewed once, a refusal that no retry can change
  // is reported.
  if (relogins_ == 0 && !client_.options().username.empty() &&
      Client::IsStaleTokenMessage(fs.error_message())) {
    ++relogins_;
    return client_.RefreshToken();
  }
  switch (fs.error_code()) {
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::INVALID_ARGUMENT:
      return FromGrpcStatus(fs);
    default:
      return absl::OkStatus();
  }
}

bool Watcher::StartStream(Stream* stream, const etcdserverpb::WatchRequest& create) {
  absl::MutexLock w(&write_mu_);
  if (!stream->Write(create)) return false;
  stream_ = stream;
  absl::MutexLock l(&mu_);
  if (progress_pending_) {
    etcdserverpb::WatchRequest progress;
    progress.mutable_progress_request();
    progress_pending_ = !stream->Write(progress);
  }
  ++stream_gen_;
  live_ = true;
  last_recv_ = absl::Now();
  probe_sent_ = absl::InfiniteFuture();
  return true;
}

bool Watcher::HandleResponse(const etcdserverpb::WatchResponse& resp, absl::Status* end) {
  if (resp.canceled() && resp.compact_revision() == 0 && relogins_ == 0 &&
      !client_.options().username.empty() && Client::IsStaleTokenMessage(resp.cancel_reason())) {
    relogin_ = true;  // RunStream logs in again; the watch resumes from next_rev_
    return false;
  }
  if (resp.created() && !resp.canceled()) relogins_ = 0;
  if (resp.compact_revision() > 0 || resp.canceled()) {
    *end = resp.compact_revision() > 0
               ? absl::OutOfRangeError("mvcc: required revision has been compacted")
               : absl::CancelledError(resp.cancel_reason().empty() ? "watch canceled by the server"
                                                                   : resp.cancel_reason());
    absl::MutexLock l(&mu_);
    end_resp_ = resp;
    return false;
  }
  const bool has_events = resp.events_size() > 0;
  // The answer to a ProgressRequest (etcd sends it with watch_id -1): the
  // caller's if it asked, else the probe's (proof of life only: etcd 3.4
  // answers it ahead of events still being replayed, so it moves nothing).
  const bool progress_all = !has_events && !resp.created() && resp.watch_id() == -1;
  bool push = false;
  {
    absl::MutexLock l(&mu_);
    last_recv_ = absl::Now();
    if (progress_all && !user_progress_) return true;
    if (progress_all) user_progress_ = false;
    if (has_events) {
      next_rev_ = resp.events(resp.events_size() - 1).kv().mod_revision() + 1;
    } else if (resp.created() ? next_rev_ == 0 : !resp.fragment()) {
      // Created "from now", or a progress notification: every event up
      // to the header revision has been delivered.
      next_rev_ = std::max(next_rev_, resp.header().revision() + 1);
    }
    push = !resp.created() && (has_events || !resp.fragment());
  }
  if (push) Push(resp);
  return true;
}

void Watcher::Probe() {
  absl::MutexLock l(&mu_);
  for (;;) {
    if (closing_) return;
    const int64_t gen = stream_gen_;
    auto changed = [this, gen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closing_ || stream_gen_ != gen || !live_;
    };
    if (!live_) {
      auto up = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closing_ || live_; };
      mu_.Await(absl::Condition(&up));
      continue;
    }
    const absl::Time now = absl::Now();
    if (probe_sent_ == absl::InfiniteFuture()) {
      const absl::Time due = last_recv_ + probe_after_;
      if (now < due) {
        mu_.AwaitWithDeadline(absl::Condition(&changed), due);
        continue;
      }
      probe_sent_ = now;
      mu_.Unlock();  // write_mu_ comes first; a write must not hold mu_
      const bool sent = WriteProgress();
      mu_.Lock();
      if (!sent && stream_gen_ == gen) probe_sent_ = absl::InfiniteFuture();
      if (!sent) mu_.AwaitWithTimeout(absl::Condition(&changed), probe_after_);
      continue;
    }
    if (last_recv_ >= probe_sent_) {  // answered (or anything else came)
      probe_sent_ = absl::InfiniteFuture();
      probe_timeout_ = client_.options().keepalive_timeout;
      continue;
    }
    const absl::Time give_up = probe_sent_ + probe_timeout_;
    if (now < give_up) {
      const absl::Time sent_at = probe_sent_;
      auto answered = [this, gen, sent_at]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closing_ || stream_gen_ != gen || !live_ || last_recv_ >= sent_at;
      };
      mu_.AwaitWithDeadline(absl::Condition(&answered), give_up);
      continue;
    }
    // Nothing for a keepalive timeout after a probe: the member hangs. The
    // next stream waits twice as long before giving up (up to
    // kMaxProbeTimeout): a live server defers the answer while the watch
    // catches up on old revisions, which may take longer than that.
    hung_ = true;
    probe_sent_ = absl::InfiniteFuture();
    probe_timeout_ = std::min(probe_timeout_ * 2, std::max(kMaxProbeTimeout, probe_timeout_));
    if (ctx_ != nullptr) ctx_->TryCancel();
    mu_.Await(absl::Condition(&changed));
  }
}

}  // namespace quorum::client
