// SnapshotStream: one Maintenance.Snapshot call. A worker thread writes the
// member's state through one RocksDB snapshot (WriteStateSnapshot: the state
// at one applied index; apply is never blocked, RocksDB keeps the versions
// alive) into a temporary file, then the reactor streams it as etcd does:
// 32 KiB blobs (the file, zero-padded to a multiple of 512 bytes), each with
// remaining_bytes = bytes still to come, then one
// last message whose blob is the SHA-256 of everything sent (remaining 0),
// which `snapshot save` verifies. The temporary file is removed at the end.
// Thread-safety: gRPC reactor rules; the worker only hands over to the
// reactor through StartWrite/Finish.
#ifndef QUORUM_SERVER_API_SNAPSHOT_STREAM_H_
#define QUORUM_SERVER_API_SNAPSHOT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "etcdserverpb/rpc.pb.h"
#include "mvcc/backend/backend.h"
#include "util/sha256.h"

namespace quorum::server {

class SnapshotStream final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  // Chunk size of etcd's snapshotSendBufferSize.
  static constexpr size_t kChunkBytes = 32 * 1024;
  // The data is zero-padded to a multiple of this: etcdctl 3.4 refuses a
  // snapshot whose size before the digest is not (bbolt page alignment).
  static constexpr size_t kAlignBytes = 512;

  // Starts at once; deletes itself when gRPC is done with it. `tmp_dir` is
  // where the snapshot file is written (created if missing).
  SnapshotStream(const mvcc::Backend* backend, std::string tmp_dir);

  void OnWriteDone(bool ok) override;
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override;

 private:
  ~SnapshotStream() override;
  void Produce();    // worker thread
  void SendNext();   // reactor: next chunk, the digest, or Finish

  const mvcc::Backend* backend_;
  std::string path_;
  std::ifstream in_;
  uint64_t file_size_ = 0;
  uint64_t total_ = 0;  // file_size_ rounded up to kAlignBytes
  uint64_t sent_ = 0;
  bool digest_sent_ = false;
  util::Sha256 sha_;
  etcdserverpb::SnapshotResponse msg_;  // must outlive each write
  std::atomic<bool> cancelled_{false};
  std::thread worker_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_SNAPSHOT_STREAM_H_
