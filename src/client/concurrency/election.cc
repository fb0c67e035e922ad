#include "client/concurrency/election.h"

#include <optional>
#include <utility>

#include "client/concurrency/key.h"
#include "client/kv.h"
#include "client/txn.h"

namespace quorum::client::concurrency {

Election::Election(Client& client, int64_t lease, std::string prefix)
    : client_(client), lease_(lease), prefix_(std::move(prefix) + "/") {}

Election Election::Resume(Client& client, int64_t lease, std::string prefix,
                          std::string leader_key, int64_t leader_rev) {
  Election e(client, lease, std::move(prefix));
  e.leader_key_ = std::move(leader_key);
  e.leader_rev_ = leader_rev;
  e.leading_ = true;
  return e;
}

absl::Status Election::Campaign(std::string_view value, const Wait& wait) {
  const std::string key = LeaseKey(prefix_, lease_);
  PutOptions po;
  po.lease = lease_;
  Txn t;
  t.If({Cmp::CreateRevision(key).Equal(int64_t{0})})
      .Then({Op::Put(key, value, po)})
      .Else({Op::Get(key)});
  KvClient kv(client_);
  absl::StatusOr<etcdserverpb::TxnResponse> r =
      Retry<etcdserverpb::TxnResponse>(wait, [&]() { return kv.Commit(t); });
  if (!r.ok()) return r.status();
  leader_key_ = key;
  leader_rev_ = r->header().revision();
  leading_ = true;
  if (!r->succeeded()) {
    const auto& got = r->responses(0).response_range();
    if (got.kvs_size() == 0) return absl::AbortedError("election: own key vanished");
    leader_rev_ = got.kvs(0).create_revision();
    if (got.kvs(0).value() != value) {
      if (absl::Status s = Proclaim(value); !s.ok()) {
        (void)Resign();
        return s;
      }
    }
  }
  absl::StatusOr<etcdserverpb::ResponseHeader> h =
      WaitDeletes(client_, prefix_, leader_rev_ - 1, wait);
  if (!h.ok()) {
    if (h.status().code() == absl::StatusCode::kCancelled ||
        h.status().code() == absl::StatusCode::kDeadlineExceeded) {
      (void)Resign();
    } else {
      leading_ = false;
    }
    return h.status();
  }
  // Our own lease may have expired while we waited: then a later candidate,
  // whose predecessors are all gone, leads, and we must not say we do.
  absl::StatusOr<etcdserverpb::RangeResponse> mine = Retry<etcdserverpb::RangeResponse>(
      wait, [&]() { return kv.Get(leader_key_); });
  if (!mine.ok() || mine->kvs_size() == 0 || mine->kvs(0).create_revision() != leader_rev_) {
    const bool cancelled = !mine.ok() && (mine.status().code() == absl::StatusCode::kCancelled ||
                                          mine.status().code() == absl::StatusCode::kDeadlineExceeded);
    if (cancelled) {
      (void)Resign();
    } else {
      leader_key_.clear();
      leading_ = false;
    }
    return mine.ok() ? absl::UnknownError(kElectionSessionExpiredMessage) : mine.status();
  }
  header_ = r->header();
  return absl::OkStatus();
}

absl::Status Election::Proclaim(std::string_view value, const Wait& wait) {
  if (!leading_) return absl::UnknownError(kElectionNotLeaderMessage);
  PutOptions po;
  po.lease = lease_;
  Txn t;
  t.If({Cmp::CreateRevision(leader_key_).Equal(leader_rev_)})
      .Then({Op::Put(leader_key_, value, po)});
  KvClient kv(client_);
  if (absl::Status w = wait.Check(); !w.ok()) return w;
  // Sent once, as clientv3's Proclaim: after an ambiguous failure the put
  // may have applied, and a second one would show observers the value twice.
  CallDeadlineScope bound(wait.deadline);
  absl::StatusOr<etcdserverpb::TxnResponse> r = kv.Commit(t);
  if (!r.ok()) return r.status();
  if (!r->succeeded()) {
    leader_key_.clear();
    leading_ = false;
    return absl::UnknownError(kElectionNotLeaderMessage);
  }
  header_ = r->header();
  return absl::OkStatus();
}

absl::Status Election::Resign(const Wait& wait) {
  if (!leading_) return absl::OkStatus();
  Txn t;
  t.If({Cmp::CreateRevision(leader_key_).Equal(leader_rev_)}).Then({Op::Delete(leader_key_)});
  KvClient kv(client_);
  absl::StatusOr<etcdserverpb::TxnResponse> r =
      Retry<etcdserverpb::TxnResponse>(wait, [&]() { return kv.Commit(t); });
  if (r.ok()) header_ = r->header();
  leader_key_.clear();
  leading_ = false;
  return r.status();
}

absl::StatusOr<LeaderEvent> Election::Leader(const Wait& wait) {
  KvClient kv(client_);
  absl::StatusOr<etcdserverpb::RangeResponse> r =
      Retry<etcdserverpb::RangeResponse>(wait, [&]() { return kv.Get(prefix_, FirstCreate()); });
  if (!r.ok()) return r.status();
  if (r->kvs_size() == 0) return absl::UnknownError(kElectionNoLeaderMessage);
  return LeaderEvent{r->header(), r->kvs(0)};
}

std::unique_ptr<LeaderObserver> Election::Observe() {
  return std::make_unique<LeaderObserver>(client_, prefix_);
}

LeaderObserver::LeaderObserver(Client& client, std::string prefix_slash)
    : client_(client), prefix_(std::move(prefix_slash)) {}

absl::StatusOr<LeaderEvent> LeaderObserver::Next(const Wait& wait) {
  for (;;) {
    if (!pending_.empty()) {
      LeaderEvent e = std::move(pending_.front());
      pending_.pop_front();
      return e;
    }
    if (!end_.ok()) return end_;
    if (absl::Status s = wait.Check(); !s.ok()) return s;
    if (phase_ == Phase::kRead) {
      // At the revision of the last leader's delete (0: now), so a leader
      // that took over and went before this read is still reported.
      GetOptions go = FirstCreate();
      go.revision = read_rev_;
      KvClient kv(client_);
      absl::StatusOr<etcdserverpb::RangeResponse> r = Retry<etcdserverpb::RangeResponse>(
          wait, [&]() { return kv.Get(prefix_, go); });
      if (!r.ok()) {
        // Compacted (or a final error): the observation ends, as Go's.
        if (r.status().code() == absl::StatusCode::kOutOfRange) end_ = r.status();
        return r.status();
      }
      const int64_t at = read_rev_ > 0 ? read_rev_ : r->header().revision();
      WatchOptions wo;
      if (r->kvs_size() == 0) {
        // Wait for the first put under the prefix.
        wo.prefix = true;
        wo.start_revision = read_rev_ > 0 ? at + 1 : at;
        watcher_ = Watcher::Open(client_, prefix_, wo);
        phase_ = Phase::kWaitPut;
      } else {
        LeaderEvent e{r->header(), r->kvs(0)};
        e.header.set_revision(at);
        pending_.push_back(std::move(e));
        wo.start_revision = at + 1;
        watcher_ = Watcher::Open(client_, r->kvs(0).key(), wo);
        phase_ = Phase::kWatchLeader;
      }
      continue;
    }
    absl::StatusOr<std::optional<etcdserverpb::WatchResponse>> w = watcher_->Next(wait.Slice());
    if (!w.ok()) {
      // Compacted or ended: the observation ends (starting over would skip
      // the changes in the compacted gap or report a leader twice).
      watcher_.reset();
      end_ = w.status();
      return end_;
    }
    if (!w->has_value()) continue;
    const etcdserverpb::WatchResponse& resp = **w;
    if (phase_ == Phase::kWaitPut) {
      for (const auto& ev : resp.events()) {
        if (ev.type() != mvccpb::Event::PUT) continue;
        LeaderEvent e{resp.header(), ev.kv()};
        e.header.set_revision(ev.kv().mod_revision());
        WatchOptions wo;
        wo.start_revision = e.header.revision() + 1;
        watcher_ = Watcher::Open(client_, ev.kv().key(), wo);
        phase_ = Phase::kWatchLeader;
        pending_.push_back(std::move(e));
        break;
      }
      continue;
    }
    for (const auto& ev : resp.events()) {
      if (ev.type() == mvccpb::Event::DELETE) {
        watcher_.reset();
        phase_ = Phase::kRead;
        read_rev_ = ev.kv().mod_revision();
        break;
      }
      pending_.push_back(LeaderEvent{resp.header(), ev.kv()});
    }
  }
}

}  // namespace quorum::client::concurrency
