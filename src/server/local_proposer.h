// LocalProposer: the single-member write path before raft (issue #2). One
// apply thread drains the queue in groups: it applies each request through
// the Applier, commits the whole group to RocksDB in one fsynced WriteBatch
// (group commit), and only then answers the clients, so no write is
// acknowledged before it is durable. Issue #4 replaces it with the raft
// member without touching the services.
#ifndef QUORUM_SERVER_LOCAL_PROPOSER_H_
#define QUORUM_SERVER_LOCAL_PROPOSER_H_

#include <atomic>
#include <deque>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "server/apply/applier.h"
#include "server/proposer.h"

namespace quorum::server {

class LocalProposer final : public Proposer {
 public:
  struct Options {
    size_t max_group = 1024;  // requests applied per commit
    uint64_t member_id = 0;
  };
  LocalProposer(mvcc::KvStore* store, Applier* applier, Options opts);
  ~LocalProposer() override;  // stops the thread; pending requests get ErrStopped

  void Propose(internalpb::InternalRequest req, ProposeDone done) override;
  uint64_t Term() const override { return 1; }
  uint64_t AppliedIndex() const override { return applied_.load(); }
  uint64_t CommittedIndex() const override { return applied_.load(); }
  uint64_t LeaderId() const override { return opts_.member_id; }

  void Stop();

 private:
  struct Pending {
    internalpb::InternalRequest req;
    ProposeDone done;
  };
  void Loop();

  mvcc::KvStore* store_;
  Applier* applier_;
  Options opts_;
  std::atomic<uint64_t> applied_;
  std::atomic<uint64_t> next_id_{1};

  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_LOCAL_PROPOSER_H_
