// Membership: the cluster's members as the replicated log defines them.
// Changes are applied only from committed ConfChange entries (on the apply
// path), so every member converges on the same list; the list is persisted
// in the `members` column family with the same WriteBatch as the apply
// group, and removed ids are remembered so a removed member is refused.
//
// Persisted format (DO NOT CHANGE), column family `members`:
//   "m/" id:be64  -> etcdserverpb.Member
//   "r/" id:be64  -> ""                      (removed)
// and in `meta`: "cluster_id" -> be64.
// Thread-safety: all methods are thread-safe (readers are gRPC threads).
#ifndef QUORUM_SERVER_MEMBER_MEMBERSHIP_H_
#define QUORUM_SERVER_MEMBER_MEMBERSHIP_H_

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mvcc/backend/backend.h"
#include "server/member_info.h"

namespace quorum::server {

class Membership {
 public:
  explicit Membership(mvcc::Backend* backend) : backend_(backend) {}

  // Loads members, removed ids and the cluster id from the backend.
  absl::Status Load();
  // Reloads after a state snapshot was restored.
  absl::Status Reload() { return Load(); }

  std::vector<MemberInfo> List() const;
  std::optional<MemberInfo> Get(uint64_t id) const;
  bool IsRemoved(uint64_t id) const;
  uint64_t cluster_id() const;
  size_t VoterCount() const;

  // Mutations: update memory and write into `batch` (committed by the caller).
  void SetClusterId(uint64_t id, mvcc::Batch* batch);
  void Add(const MemberInfo& m, mvcc::Batch* batch);
  void Remove(uint64_t id, mvcc::Batch* batch);
  void UpdatePeerUrls(uint64_t id, const std::vector<std::string>& urls, mvcc::Batch* batch);
  void Promote(uint64_t id, mvcc::Batch* batch);
  // Client URLs and name are learnt when a member starts (not replicated in
  // this version): kept in memory and persisted with `batch`.
  void SetAttributes(uint64_t id, const std::string& name,
                     const std::vector<std::string>& client_urls, mvcc::Batch* batch);

 private:
  void PersistLocked(const MemberInfo& m, mvcc::Batch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mvcc::Backend* backend_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, MemberInfo> members_ ABSL_GUARDED_BY(mu_);
  std::set<uint64_t> removed_ ABSL_GUARDED_BY(mu_);
  uint64_t cluster_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_MEMBERSHIP_H_
