// AutoCompactor: etcd's --auto-compaction-mode / --auto-compaction-retention.
// A thread runs the policy (auto_compaction_policy.h) and compacts through
// `compact`, the same raft proposal a client's Compact makes. Only the
// leader compacts: the compactor starts paused, and leadership changes
// Pause/Resume it, as etcd's server does with its compactor.
// Thread-safety: Pause/Resume from any thread; Start/Stop from one.
#ifndef QUORUM_SERVER_AUTO_COMPACTOR_H_
#define QUORUM_SERVER_AUTO_COMPACTOR_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"

namespace quorum::server {

struct AutoCompactorOptions {
  std::string mode = "periodic";  // periodic | revision
  // From ParseCompactionRetention: nanoseconds (periodic) or revisions.
  int64_t retention = 0;
  // Test only: replaces the revision mode's 5-minute interval.
  std::chrono::milliseconds revision_interval_for_testing{0};
};

class AutoCompactor {
 public:
  using RevFn = std::function<int64_t()>;
  // Compacts to `rev` and returns the outcome; blocks the compactor thread,
  // and should give up (returning any error) once `stop` is notified.
  using CompactFn = std::function<absl::Status(int64_t rev, const absl::Notification& stop)>;

  AutoCompactor(AutoCompactorOptions opts, RevFn rev, CompactFn compact);
  ~AutoCompactor();

  void Start();
  void Stop();
  void Pause() { paused_.store(true); }
  void Resume() { paused_.store(false); }

 private:
  void RunPeriodic();
  void RunRevision();
  // Compacts and logs as etcd's compactor does; true when it is done (a
  // revision compacted already counts).
  bool CompactTo(int64_t rev, const std::string& retention);

  AutoCompactorOptions opts_;
  RevFn rev_;
  CompactFn compact_;
  std::atomic<bool> paused_{true};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_AUTO_COMPACTOR_H_
