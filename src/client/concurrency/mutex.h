// Mutex: etcd's distributed lock recipe (clientv3/concurrency.Mutex),
// wire-compatible with etcdctl lock and etcd's v3lock service.
//
// Algorithm. Each contender owns the key "<prefix>/<lease hex>" (prefix
// gets a trailing '/'), written with its lease in one txn:
//   if create_revision(myKey) == 0 then put(myKey, "", lease) else get(myKey)
// plus a read of the prefix's first-created key. myRev = the create revision
// of myKey. The holder is the key with the smallest create revision; a
// waiter watches only the key with the largest create revision below its own
// (from the read's revision) until that key is deleted, then re-reads -- no
// thundering herd. A crashed holder's key vanishes with its lease.
//
// Fencing: while held, (Key(), Revision()) identifies this tenure; Revision()
// grows strictly from one holder to the next, and IsOwner() is a txn Cmp
// that guards writes on still holding the lock.
//
// After waiting, Lock() re-checks that myKey still exists (etcd 3.5's
// ErrSessionExpired): a lease that expired while waiting must not grant the
// lock. A failed or cancelled Lock() deletes myKey.
//
// Thread-safety: thread-compatible (one Lock/Unlock at a time). The Client
// (and Session) must outlive the Mutex.
#ifndef QUORUM_CLIENT_CONCURRENCY_MUTEX_H_
#define QUORUM_CLIENT_CONCURRENCY_MUTEX_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "client/client.h"
#include "client/concurrency/session.h"
#include "client/concurrency/wait.h"
#include "client/txn.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client::concurrency {

inline constexpr char kLockedMessage[] = "mutex: Locked by another session";
inline constexpr char kSessionExpiredMessage[] = "mutex: session is expired";

class Mutex {
 public:
  Mutex(Session& session, std::string prefix)
      : Mutex(session.client(), session.Lease(), std::move(prefix)) {}
  // With a lease kept alive by someone else (the server-side Lock service).
  Mutex(Client& client, int64_t lease, std::string prefix);

  // Blocks until held, or fails (the lease is gone: NotFound
  // "etcdserver: requested lease not found"; wait over: Cancelled /
  // DeadlineExceeded).
  absl::Status Lock(const Wait& wait = {});
  // Takes the lock only if free; FailedPrecondition kLockedMessage otherwise.
  absl::Status TryLock(const Wait& wait = Wait::For(absl::Seconds(10)));
  // Deletes myKey if its create revision is still Revision() (a txn, so
  // retrying after an ambiguous failure cannot delete a later tenure's key).
  absl::Status Unlock(const Wait& wait = Wait::For(absl::Seconds(10)));

  // Valid after a successful Lock.
  const std::string& Key() const { return my_key_; }
  int64_t Revision() const { return my_rev_; }
  const etcdserverpb::ResponseHeader& Header() const { return header_; }
  Cmp IsOwner() const { return Cmp::CreateRevision(my_key_).Equal(my_rev_); }

 private:
  // The acquire txn; sets my_key_/my_rev_; returns the first-created key's
  // create revision under the prefix (0: none).
  absl::StatusOr<int64_t> TryAcquire(const Wait& wait);

  Client& client_;
  const int64_t lease_;
  const std::string prefix_;  // with the trailing '/'
  std::string my_key_;
  int64_t my_rev_ = -1;
  etcdserverpb::ResponseHeader header_;
};

}  // namespace quorum::client::concurrency

#endif  // QUORUM_CLIENT_CONCURRENCY_MUTEX_H_
