#include "server/api/snapshot_stream.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "server/errors.h"
#include "server/member/state_snapshot.h"

namespace quorum::server {
namespace {
std::atomic<uint64_t> next_stream_id{1};
}  // namespace

SnapshotStream::SnapshotStream(const mvcc::Backend* backend, std::string tmp_dir)
    : backend_(backend) {
  std::error_code ec;
  std::filesystem::create_directories(tmp_dir, ec);
  path_ = (std::filesystem::path(tmp_dir) /
           absl::StrCat("stream-", ::getpid(), "-", next_stream_id.fetch_add(1), ".qsnap"))
              .string();
  worker_ = std::thread([this] { Produce(); });
}

SnapshotStream::~SnapshotStream() {
  if (worker_.joinable()) {
    // gRPC may run OnDone inline from the worker's own Finish.
    if (worker_.get_id() == std::this_thread::get_id()) {
      worker_.detach();
    } else {
      worker_.join();
    }
  }
  in_.close();
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  std::filesystem::remove(path_ + ".tmp", ec);
}

void SnapshotStream::Produce() {
  const auto started = std::chrono::steady_clock::now();
  if (auto st = WriteStateSnapshot(*backend_, path_); !st.ok()) {
    spdlog::error("snapshot for a client failed: {}", std::string(st.message()));
    return Finish(ToGrpcStatus(st));
  }
  in_.open(path_, std::ios::binary);
  std::error_code ec;
  file_size_ = std::filesystem::file_size(path_, ec);
  // etcd clients accept a snapshot only if the body is a whole number of
  // 512-byte blocks (bbolt pages) before the digest: pad with zeros.
  total_ = (file_size_ + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
  if (!in_ || ec) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot read " + path_));
  spdlog::info("sending database snapshot to client: {} bytes (written in {} ms)", total_,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  SendNext();
}

void SnapshotStream::SendNext() {
  if (cancelled_) return Finish(grpc::Status::CANCELLED);
  msg_.Clear();
  if (sent_ < total_) {
    std::string* blob = msg_.mutable_blob();
    blob->assign(std::min<uint64_t>(kChunkBytes, total_ - sent_), '\0');
    const uint64_t from_file = sent_ < file_size_ ? std::min<uint64_t>(blob->size(), file_size_ - sent_) : 0;
    in_.read(blob->data(), static_cast<std::streamsize>(from_file));
    if (!in_) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "short read of " + path_));
    sent_ += blob->size();
    sha_.Update(*blob);
    msg_.set_remaining_bytes(total_ - sent_);
    return StartWrite(&msg_);
  }
  if (!digest_sent_) {
    digest_sent_ = true;
    msg_.set_remaining_bytes(0);
    msg_.set_blob(sha_.Finish());
    return StartWrite(&msg_);
  }
  Finish(grpc::Status::OK);
}

void SnapshotStream::OnWriteDone(bool ok) {
  if (!ok) return Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "snapshot stream broken"));
  SendNext();
}

void SnapshotStream::OnDone() { delete this; }

}  // namespace quorum::server
