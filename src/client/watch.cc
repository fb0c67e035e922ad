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
  return w;
}

Watcher::Watcher(Client& client, std::string key, WatchOptions opts)
    : client_(client), key_(std::move(key)), opts_(std::move(opts)) {
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
  absl::MutexLock l(&mu_);
  etcdserverpb::WatchRequest req;
  req.mutable_progress_request();
  if (stream_ == nullptr || !stream_->Write(req)) progress_pending_ = true;
  return absl::OkStatus();
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
  auto stub = etcdserverpb::Watch::NewStub(channel);
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      stream = stub->Watch(&ctx);
  absl::Status end;
  bool written;
  {
    absl::MutexLock l(&mu_);
    written = stream->Write(req);
    if (written) stream_ = stream.get();
    if (written && progress_pending_) {
      etcdserverpb::WatchRequest progress;
      progress.mutable_progress_request();
      progress_pending_ = !stream->Write(progress);
    }
  }
  if (written) {
    etcdserverpb::WatchResponse resp;
    while (stream->Read(&resp)) {
      if (resp.compact_revision() > 0 || resp.canceled()) {
        end = resp.compact_revision() > 0
                  ? absl::OutOfRangeError("mvcc: required revision has been compacted")
                  : absl::CancelledError(resp.cancel_reason().empty()
                                             ? "watch canceled by the server"
                                             : resp.cancel_reason());
        absl::MutexLock l(&mu_);
        end_resp_ = resp;
        break;
      }
      const bool has_events = resp.events_size() > 0;
      {
        absl::MutexLock l(&mu_);
        if (has_events) {
          next_rev_ = resp.events(resp.events_size() - 1).kv().mod_revision() + 1;
        } else if (resp.created() ? next_rev_ == 0 : !resp.fragment()) {
          // Created "from now", or a progress notification: every event up
          // to the header revision has been delivered.
          next_rev_ = std::max(next_rev_, resp.header().revision() + 1);
        }
      }
      if (resp.created()) continue;
      if (has_events || (resp.events_size() == 0 && !resp.fragment())) Push(resp);
    }
  }
  {
    absl::MutexLock l(&mu_);
    ctx_ = nullptr;
    stream_ = nullptr;
  }
  if (!end.ok()) {
    ctx.TryCancel();
    stream->Finish();
    return end;
  }
  // The server (or the connection) ended the stream: a broken connection is
  // retried, a refusal that no retry can change is reported.
  grpc::Status fs = stream->Finish();
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

}  // namespace quorum::client
