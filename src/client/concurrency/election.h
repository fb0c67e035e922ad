// Election: etcd's leader election recipe (clientv3/concurrency.Election),
// wire-compatible with etcdctl elect and etcd's v3election service.
//
// Candidates own "<prefix>/<lease hex>" (same ordering as Mutex): Campaign
// puts the key with the proposal (or finds it and, if the value differs,
// proclaims it) and waits until every key created before it is deleted; the
// leader is the prefix's first-created key. Proclaim/Resign act only while
// create_revision(leader key) still equals the campaign's revision, so a
// deposed leader cannot overwrite or delete a successor's key.
//
// LeaderObserver yields the leader's (header, kv) on every change: the
// current leader, each value it proclaims, then the next leader after its
// key is deleted (read as of the delete's revision, so a leader that came
// and went meanwhile is reported too) -- in revision order. If its watch or
// read is compacted, the observation ends with OutOfRange (as Go's observe
// channel closes): restarting would skip the changes in the gap.
//
// Thread-safety: thread-compatible. The Client (and Session) must outlive
// the Election and its observers.
#ifndef QUORUM_CLIENT_CONCURRENCY_ELECTION_H_
#define QUORUM_CLIENT_CONCURRENCY_ELECTION_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/concurrency/session.h"
#include "client/concurrency/wait.h"
#include "client/watch.h"
#include "etcdserverpb/rpc.pb.h"
#include "mvccpb/kv.pb.h"

namespace quorum::client::concurrency {

inline constexpr char kElectionNotLeaderMessage[] = "election: not leader";
inline constexpr char kElectionNoLeaderMessage[] = "election: no leader";
inline constexpr char kElectionSessionExpiredMessage[] = "election: session expired";

struct LeaderEvent {
  etcdserverpb::ResponseHeader header;
  mvccpb::KeyValue kv;
};

class LeaderObserver;

class Election {
 public:
  Election(Session& session, std::string prefix)
      : Election(session.client(), session.Lease(), std::move(prefix)) {}
  // With a lease kept alive by someone else (the server-side service).
  Election(Client& client, int64_t lease, std::string prefix);
  // An election already won elsewhere: leader key and its create revision
  // (etcd's ResumeElection).
  static Election Resume(Client& client, int64_t lease, std::string prefix, std::string leader_key,
                         int64_t leader_rev);

  // Blocks until this candidate leads (or the wait ends, in which case the
  // candidacy is withdrawn when cancelled).
  absl::Status Campaign(std::string_view value, const Wait& wait = {});
  // Sets a new value while leading; Unknown kElectionNotLeaderMessage if not.
  // Sent once, never retried (a put that failed ambiguously may have
  // applied): a transient failure is returned for the caller to judge.
  absl::Status Proclaim(std::string_view value, const Wait& wait = Wait::For(absl::Seconds(10)));
  // Gives up leadership (deletes the key if still ours). No-op if not leading.
  absl::Status Resign(const Wait& wait = Wait::For(absl::Seconds(10)));
  // The current leader's key/value; Unknown kElectionNoLeaderMessage if none.
  absl::StatusOr<LeaderEvent> Leader(const Wait& wait = Wait::For(absl::Seconds(10)));
  // Observes leadership changes from now on.
  std::unique_ptr<LeaderObserver> Observe();

  const std::string& Key() const { return leader_key_; }
  int64_t Rev() const { return leader_rev_; }
  int64_t Lease() const { return lease_; }
  const etcdserverpb::ResponseHeader& Header() const { return header_; }
  bool Leading() const { return leading_; }

 private:
  Client& client_;
  const int64_t lease_;
  const std::string prefix_;  // with the trailing '/'
  std::string leader_key_;
  int64_t leader_rev_ = 0;
  bool leading_ = false;
  etcdserverpb::ResponseHeader header_;
};

class LeaderObserver {
 public:
  LeaderObserver(Client& client, std::string prefix_slash);
  // The next leadership change, or the wait's end / a read failure. Once
  // the observation has ended (compacted, watch ended), every call returns
  // that error.
  absl::StatusOr<LeaderEvent> Next(const Wait& wait);

 private:
  enum class Phase { kRead, kWaitPut, kWatchLeader };

  Client& client_;
  const std::string prefix_;
  Phase phase_ = Phase::kRead;
  std::unique_ptr<Watcher> watcher_;
  std::deque<LeaderEvent> pending_;
  // kRead reads as of this revision (the last leader's delete); 0: now.
  int64_t read_rev_ = 0;
  absl::Status end_;  // non-OK once the observation has ended
};

}  // namespace quorum::client::concurrency

#endif  // QUORUM_CLIENT_CONCURRENCY_ELECTION_H_
