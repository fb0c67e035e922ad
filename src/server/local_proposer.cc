#include "server/local_proposer.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "server/errors.h"

namespace quorum::server {

LocalProposer::LocalProposer(mvcc::KvStore* store, Applier* applier, Options opts)
    : store_(store), applier_(applier), opts_(opts), applied_(store->ConsistentIndex()) {
  thread_ = std::thread([this] { Loop(); });
}

LocalProposer::~LocalProposer() { Stop(); }

void LocalProposer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void LocalProposer::Propose(internalpb::InternalRequest req, ProposeDone done) {
  req.mutable_header()->set_id(next_id_.fetch_add(1));
  req.mutable_header()->set_member_id(opts_.member_id);
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(req), std::move(done)});
      return;
    }
  }
  std::move(done)(ErrStopped());
}

void LocalProposer::Loop() {
  std::vector<Pending> group;
  std::vector<absl::StatusOr<internalpb::InternalResponse>> results;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LocalProposer* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stopping_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && group.size() < opts_.max_group) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    uint64_t index = applied_.load();
    for (auto& p : group) {
      ++index;
      results.push_back(applier_->Apply(p.req));
    }
    // Durable before anyone hears of it; a failure here means memory is
    // ahead of disk, which only a restart (replaying from disk) can fix.
    if (auto s = store_->Commit(index, Term(), /*sync=*/true); !s.ok()) {
      spdlog::critical("backend commit failed: {}", std::string(s.message()));
      std::abort();
    }
    applied_.store(index);
    for (size_t i = 0; i < group.size(); ++i) std::move(group[i].done)(std::move(results[i]));
    group.clear();
    results.clear();
  }
}

}  // namespace quorum::server
