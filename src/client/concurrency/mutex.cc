#include "client/concurrency/mutex.h"

#include <utility>

#include "client/concurrency/key.h"
#include "client/kv.h"
#include "client/txn.h"

namespace quorum::client::concurrency {

Mutex::Mutex(Client& client, int64_t lease, std::string prefix)
    : client_(client), lease_(lease), prefix_(std::move(prefix) + "/") {}

absl::StatusOr<int64_t> Mutex::TryAcquire(const Wait& wait) {
  my_key_ = LeaseKey(prefix_, lease_);
  PutOptions po;
  po.lease = lease_;
  Txn t;
  t.If({Cmp::CreateRevision(my_key_).Equal(int64_t{0})})
      .Then({Op::Put(my_key_, "", po), Op::Get(prefix_, FirstCreate())})
      .Else({Op::Get(my_key_), Op::Get(prefix_, FirstCreate())});
  KvClient kv(client_);
  // Safe to repeat: a second attempt after an ambiguous first one finds the
  // key and takes the else branch.
  absl::StatusOr<etcdserverpb::TxnResponse> r =
      Retry<etcdserverpb::TxnResponse>(wait, [&]() { return kv.Commit(t); });
  if (!r.ok()) return r.status();
  my_rev_ = r->header().revision();
  if (!r->succeeded()) {
    const auto& got = r->responses(0).response_range();
    if (got.kvs_size() == 0) return absl::AbortedError("mutex: own key vanished");
    my_rev_ = got.kvs(0).create_revision();
  }
  header_ = r->header();
  const auto& owner = r->responses(1).response_range();
  return owner.kvs_size() == 0 ? 0 : owner.kvs(0).create_revision();
}

absl::Status Mutex::Lock(const Wait& wait) {
  absl::StatusOr<int64_t> owner = TryAcquire(wait);
  if (!owner.ok()) return owner.status();
  if (*owner == 0 || *owner == my_rev_) return absl::OkStatus();
  absl::StatusOr<etcdserverpb::ResponseHeader> h = WaitDeletes(client_, prefix_, my_rev_ - 1, wait);
  if (h.ok()) {
    // Our own lease may have expired while we waited.
    KvClient kv(client_);
    absl::StatusOr<etcdserverpb::RangeResponse> mine = Retry<etcdserverpb::RangeResponse>(
        wait, [&]() { return kv.Get(my_key_); });
    if (!mine.ok()) {
      h = mine.status();
    } else if (mine->kvs_size() == 0 || mine->kvs(0).create_revision() != my_rev_) {
      h = absl::FailedPreconditionError(kSessionExpiredMessage);
    } else {
      header_ = *h;
      return absl::OkStatus();
    }
  }
  (void)Unlock();
  return h.status();
}

absl::Status Mutex::TryLock(const Wait& wait) {
  absl::StatusOr<int64_t> owner = TryAcquire(wait);
  if (!owner.ok()) return owner.status();
  if (*owner == 0 || *owner == my_rev_) return absl::OkStatus();
  (void)Unlock(wait);
  return absl::FailedPreconditionError(kLockedMessage);
}

absl::Status Mutex::Unlock(const Wait& wait) {
  if (my_key_.empty()) return absl::OkStatus();
  KvClient kv(client_);
  if (my_rev_ <= 0) {
    // The acquire failed: which key generation is ours is unknown, so one
    // plain delete (clientv3's Unlock), never re-sent.
    CallDeadlineScope bound(wait.deadline);
    absl::StatusOr<etcdserverpb::DeleteRangeResponse> d = kv.Delete(my_key_);
    if (!d.ok()) return d.status();
    header_ = d->header();
    my_key_.clear();
    return absl::OkStatus();
  }
  // Deletes this tenure's key only: a retry after an ambiguous attempt, or
  // that attempt applied late, must not delete the key of a later Lock of
  // the same session (same name), so re-sending is safe.
  Txn t;
  t.If({IsOwner()}).Then({Op::Delete(my_key_)});
  absl::StatusOr<etcdserverpb::TxnResponse> r =
      Retry<etcdserverpb::TxnResponse>(wait, [&]() { return kv.Commit(t); });
  if (!r.ok()) return r.status();
  header_ = r->header();
  my_key_.clear();
  my_rev_ = -1;
  return absl::OkStatus();
}

}  // namespace quorum::client::concurrency
