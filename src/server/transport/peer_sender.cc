#include "server/transport/peer_sender.h"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/time/time.h"

namespace quorum::server::transport {

PeerSender::PeerSender(SenderConfig cfg, std::vector<std::string> urls, size_t max_queued)
    : cfg_(std::move(cfg)),
      max_queued_(std::max<size_t>(max_queued, 1)),
      dialer_(cfg_.peer_id, std::move(urls), cfg_.tls_creds) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "peer-send");
    Run();
  });
}

PeerSender::~PeerSender() { Stop(); }

void PeerSender::Enqueue(std::vector<raftpb::Message> msgs) {
  absl::MutexLock l(&mu_);
  if (stopped_) return;
  size_t dropped = 0;
  if (in_backoff_) {
    // The stream is down: raft is better off knowing now than getting these late.
    dropped = msgs.size();
  } else {
    for (auto& m : msgs) {
      if (queue_.size() >= max_queued_) {
        ++dropped;
        continue;
      }
      queue_.push_back(std::move(m));
    }
  }
  if (dropped > 0) {
    dropped_ += dropped;
    unreachable_pending_ = true;
  }
}

void PeerSender::SetUrls(std::vector<std::string> urls) {
  dialer_.SetUrls(std::move(urls));
  absl::MutexLock l(&mu_);
  urls_changed_ = true;
}

void PeerSender::CancelIfStalled(std::chrono::steady_clock::time_point now) {
  absl::MutexLock l(&mu_);
  if (ctx_ != nullptr && writing_since_ && now - *writing_since_ > kWriteStallTimeout) {
    spdlog::warn("peer {:x}: raft message write stalled for more than {}s; cancelling stream",
                 cfg_.peer_id, kWriteStallTimeout.count());
    ctx_->TryCancel();
    writing_since_.reset();  // cancel once
  }
}

void PeerSender::Stop() {
  std::thread t;
  {
    absl::MutexLock l(&mu_);
    stopped_ = true;
    if (ctx_ != nullptr) ctx_->TryCancel();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

void PeerSender::Run() {
  std::chrono::milliseconds backoff = kMinBackoff;
  while (true) {
    std::vector<raftpb::Message> batch;
    bool report = false;
    bool reopen = false;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(this, &PeerSender::HasWorkLocked));
      if (stopped_) break;
      batch.swap(queue_);
      report = std::exchange(unreachable_pending_, false);
      reopen = std::exchange(urls_changed_, false);
    }
    if (report) cfg_.handler->ReportUnreachable(cfg_.peer_id);
    if (reopen && stream_) CloseStream(/*cancel=*/true);
    if (batch.empty()) continue;

    // When the stream this write goes to was opened (now, if it is new).
    const auto opened = stream_ ? stream_->opened : std::chrono::steady_clock::now();
    const size_t batch_size = batch.size();
    absl::Status s = WriteAll(std::move(batch));
    if (s.ok()) {
      if (!last_error_.empty()) {
        spdlog::info("peer {:x}: raft message stream to {} is up", cfg_.peer_id,
                     dialer_.CurrentUrl());
        last_error_.clear();
      }
      continue;
    }
    {
      absl::MutexLock l(&mu_);
      if (stopped_) break;
      dropped_ += batch_size;  // some of it may have been written; raft copes
    }
    LogFailure(s);
    cfg_.handler->ReportUnreachable(cfg_.peer_id);
    dialer_.Failed();
    // A stream that worked for a while starts the backoff over; one that
    // keeps failing right away (peer down, or rejecting us) backs off further.
    if (std::chrono::steady_clock::now() - opened > kMaxBackoff) {
      backoff = kMinBackoff;
    }
    if (!Backoff(backoff)) break;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(kMaxBackoff));
  }
  if (stream_) CloseStream(/*cancel=*/true);
}

absl::Status PeerSender::WriteAll(std::vector<raftpb::Message> batch) {
  if (!stream_) {
    if (absl::Status s = OpenStream(); !s.ok()) return s;
  }
  raftpb::MessageBatch frame;
  size_t frame_bytes = 0;
  for (auto& m : batch) {
    size_t n = m.ByteSizeLong();
    if (frame.messages_size() > 0 && frame_bytes + n > kMaxFrameBytes) {
      if (absl::Status s = WriteFrame(frame); !s.ok()) return s;
      frame.Clear();
      frame_bytes = 0;
    }
    *frame.add_messages() = std::move(m);
    frame_bytes += n;
  }
  return WriteFrame(frame);
}

absl::Status PeerSender::OpenStream() {
  std::shared_ptr<grpc::Channel> channel = dialer_.Channel();
  if (channel == nullptr) return absl::FailedPreconditionError("no usable peer URL");
  Stream st;
  st.ctx = std::make_unique<grpc::ClientContext>();
  AddIdentityMetadata(st.ctx.get(), cfg_.cluster_id, cfg_.member_id);
  st.opened = std::chrono::steady_clock::now();
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return absl::CancelledError("transport stopped");
    // Stop() may cancel it from now on, even before the call starts (gRPC
    // then cancels the call as soon as it is created).
    ctx_ = st.ctx.get();
  }
  auto stub = peerpb::RaftPeer::NewStub(channel);
  st.writer = stub->Stream(st.ctx.get(), &st.ack);
  stream_.emplace(std::move(st));
  return absl::OkStatus();
}

absl::Status PeerSender::WriteFrame(const raftpb::MessageBatch& frame) {
  {
    absl::MutexLock l(&mu_);
    writing_since_ = std::chrono::steady_clock::now();
  }
  bool ok = stream_->writer->Write(frame);
  {
    absl::MutexLock l(&mu_);
    writing_since_.reset();
  }
  if (ok) return absl::OkStatus();
  grpc::Status st = CloseStream(/*cancel=*/false);
  if (st.ok()) return absl::UnavailableError("stream closed by peer");
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
}

grpc::Status PeerSender::CloseStream(bool cancel) {
  if (cancel) stream_->ctx->TryCancel();
  // After a failed Write the call is already over and Finish returns its
  // status (e.g. the peer's "cluster ID mismatch") without waiting.
  grpc::Status st = stream_->writer->Finish();
  {
    absl::MutexLock l(&mu_);
    ctx_ = nullptr;
  }
  stream_.reset();
  return st;
}

bool PeerSender::Backoff(std::chrono::milliseconds d) {
  absl::MutexLock l(&mu_);
  in_backoff_ = true;
  // Whatever was queued while the write failed is stale now.
  if (!queue_.empty()) {
    dropped_ += queue_.size();
    queue_.clear();
    unreachable_pending_ = true;
  }
  mu_.AwaitWithTimeout(absl::Condition(&stopped_), absl::FromChrono(d));
  in_backoff_ = false;
  return !stopped_;
}

void PeerSender::LogFailure(const absl::Status& s) {
  std::string err(s.message());
  if (s.code() == absl::StatusCode::kFailedPrecondition && err == kClusterIdMismatch) {
    err = "peer rejected us: cluster ID mismatch (is it a member of another cluster?)";
  }
  if (err == last_error_) {
    spdlog::debug("peer {:x}: raft message stream to {} failed: {}", cfg_.peer_id,
                  dialer_.CurrentUrl(), err);
    return;
  }
  uint64_t dropped;
  {
    absl::MutexLock l(&mu_);
    dropped = dropped_;
  }
  spdlog::warn("peer {:x}: raft message stream to {} failed ({}): {} ({} messages dropped so far)",
               cfg_.peer_id, dialer_.CurrentUrl(), absl::StatusCodeToString(s.code()), err,
               dropped);
  last_error_ = err;
}

}  // namespace quorum::server::transport
