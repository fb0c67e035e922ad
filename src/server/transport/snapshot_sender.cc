#include "server/transport/snapshot_sender.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/peer.grpc.pb.h"
#include "util/crc32c.h"

namespace quorum::server::transport {
namespace {

// Closes a file descriptor at scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status ErrnoError(const std::string& what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::string(std::strerror(err))));
}

}  // namespace

SnapshotSender::SnapshotSender(SenderConfig cfg, std::vector<std::string> urls)
    : cfg_(std::move(cfg)), dialer_(cfg_.peer_id, std::move(urls), cfg_.tls_creds) {}

SnapshotSender::~SnapshotSender() { Stop(); }

void SnapshotSender::Enqueue(raftpb::Message msg) {
  absl::MutexLock l(&mu_);
  if (stopped_) return;
  if (pending_) ++superseded_;
  pending_ = std::move(msg);
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void SnapshotSender::SetUrls(std::vector<std::string> urls) { dialer_.SetUrls(std::move(urls)); }

void SnapshotSender::CancelIfStalled(std::chrono::steady_clock::time_point now) {
  absl::MutexLock l(&mu_);
  if (ctx_ != nullptr && writing_since_ && now - *writing_since_ > kWriteStallTimeout) {
    spdlog::warn("peer {:x}: snapshot chunk write stalled for more than {}s; cancelling",
                 cfg_.peer_id, kWriteStallTimeout.count());
    ctx_->TryCancel();
    writing_since_.reset();
  }
}

void SnapshotSender::Stop() {
  std::thread t;
  {
    absl::MutexLock l(&mu_);
    stopped_ = true;
    if (ctx_ != nullptr) ctx_->TryCancel();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

void SnapshotSender::Run() {
  while (true) {
    std::optional<raftpb::Message> msg;
    int failed = 0;
    bool stopped;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(this, &SnapshotSender::HasWorkLocked));
      stopped = stopped_;
      failed = std::exchange(superseded_, 0);
      if (stopped && pending_) ++failed;  // never to be sent
      if (!stopped) msg = std::exchange(pending_, std::nullopt);
    }
    for (int i = 0; i < failed; ++i) cfg_.handler->ReportSnapshot(cfg_.peer_id, false);
    if (stopped) return;
    if (!msg) continue;

    const auto& meta = msg->snapshot().metadata();
    auto start = std::chrono::steady_clock::now();
    absl::Status s = SendOne(*msg);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    if (s.ok()) {
      spdlog::info("peer {:x}: sent snapshot term {} index {} in {} ms", cfg_.peer_id, meta.term(),
                   meta.index(), ms);
    } else {
      spdlog::warn("peer {:x}: sending snapshot term {} index {} failed after {} ms: {}",
                   cfg_.peer_id, meta.term(), meta.index(), ms, s.ToString());
      dialer_.Failed();
    }
    cfg_.handler->ReportSnapshot(cfg_.peer_id, s.ok());
  }
}

void SnapshotSender::MarkWriting(bool writing) {
  absl::MutexLock l(&mu_);
  if (writing) {
    writing_since_ = std::chrono::steady_clock::now();
  } else {
    writing_since_.reset();
  }
}

absl::Status SnapshotSender::SendOne(const raftpb::Message& msg) {
  const std::string& path = msg.snapshot().data();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("open snapshot", path, errno);
  struct stat stbuf;
  if (::fstat(fd.get(), &stbuf) != 0) return ErrnoError("stat snapshot", path, errno);
  const uint64_t size = static_cast<uint64_t>(stbuf.st_size);

  std::shared_ptr<grpc::Channel> channel = dialer_.Channel();
  if (channel == nullptr) return absl::FailedPreconditionError("no usable peer URL");
  grpc::ClientContext ctx;
  AddIdentityMetadata(&ctx, cfg_.cluster_id, cfg_.member_id);
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return absl::CancelledError("transport stopped");
    ctx_ = &ctx;
  }
  struct ClearCtx {
    SnapshotSender* self;
    ~ClearCtx() {
      absl::MutexLock l(&self->mu_);
      self->ctx_ = nullptr;
      self->writing_since_.reset();
    }
  } clear_ctx{this};

  auto stub = peerpb::RaftPeer::NewStub(channel);
  peerpb::SnapshotAck ack;
  auto writer = stub->SendSnapshot(&ctx, &ack);
  auto finish = [&](absl::Status local) -> absl::Status {
    if (!local.ok()) ctx.TryCancel();
    grpc::Status st = writer->Finish();
    if (!local.ok()) return local;
    if (!st.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                          absl::StrCat("peer: ", st.error_message()));
    }
    if (ack.bytes_received() != size) {
      return absl::DataLossError(
          absl::StrCat("peer acknowledged ", ack.bytes_received(), " of ", size, " bytes"));
    }
    return absl::OkStatus();
  };
  auto write = [&](const peerpb::SnapshotChunk& chunk) {
    MarkWriting(true);
    bool ok = writer->Write(chunk);
    MarkWriting(false);
    return ok;
  };

  peerpb::SnapshotChunk chunk;
  *chunk.mutable_message() = msg;
  chunk.mutable_message()->mutable_snapshot()->clear_data();  // our path means nothing there
  chunk.set_total_size(size);
  if (!write(chunk)) return finish(absl::OkStatus());

  std::string buf(kChunkBytes, '\0');
  uint64_t offset = 0;
  uint32_t crc = 0;
  while (offset < size) {
    ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return finish(ErrnoError("read snapshot", path, errno));
    if (n == 0) return finish(absl::DataLossError(absl::StrCat("snapshot ", path, " shrank")));
    std::string_view data(buf.data(), static_cast<size_t>(n));
    crc = util::Crc32c(crc, data);
    chunk.Clear();
    chunk.set_offset(offset);
    chunk.set_data(data.data(), data.size());
    if (!write(chunk)) return finish(absl::OkStatus());
    offset += static_cast<uint64_t>(n);
  }
  chunk.Clear();
  chunk.set_offset(offset);
  chunk.set_done(true);
  chunk.set_crc32c(crc);
  if (!write(chunk)) return finish(absl::OkStatus());
  writer->WritesDone();
  return finish(absl::OkStatus());
}

}  // namespace quorum::server::transport
