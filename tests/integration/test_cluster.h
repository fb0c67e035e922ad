// TestCluster: an in-process cluster of quorum::server::Server members over
// real gRPC on 127.0.0.1, for integration tests (issue #4).
//
// Each member gets a temp data dir (under one root removed by the
// destructor), a fixed peer port and a fixed client port (picked by binding
// 127.0.0.1:0 and closing, so a restarted member gets the same addresses),
// and one client channel that survives the member's restarts. All members
// share one PeerFaults, so tests can partition them.
//
// Members are addressed by slot index (0..size()-1, in creation order);
// slots of stopped or removed members stay valid.
//
// Every wait has a deadline and, on timeout, returns an error carrying
// Describe(): each member's leader, term, indexes and revision.
//
// Thread-safety: the client helpers (Put/Get/Cas/Status, Kv(i)...) may be
// called from any thread while the cluster runs; everything that changes the
// cluster (Stop, Restart, AddMember, partitions) must come from one thread.
#ifndef QUORUM_TESTS_INTEGRATION_TEST_CLUSTER_H_
#define QUORUM_TESTS_INTEGRATION_TEST_CLUSTER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/config.h"
#include "server/member/peer_faults.h"
#include "server/server.h"

namespace quorum::integration {

using Millis = std::chrono::milliseconds;

// --- client helpers (any member, any thread) ---------------------------------

struct GetResult {
  std::optional<std::string> value;  // nullopt: the key is absent
  int64_t revision = 0;              // header revision
  int64_t mod_revision = 0;
};

struct CasResult {
  bool succeeded = false;
  std::optional<std::string> current;  // on failure: the value seen (absent: nullopt)
  int64_t revision = 0;
};

absl::Status FromGrpc(const grpc::Status& s);

absl::StatusOr<int64_t> KvPut(etcdserverpb::KV::Stub* kv, const std::string& key,
                              const std::string& value, Millis timeout);
absl::StatusOr<GetResult> KvGet(etcdserverpb::KV::Stub* kv, const std::string& key,
                                bool serializable, Millis timeout);
// txn: if value(key) == expected (or create_revision(key) == 0 when expected
// is nullopt) then put(key, value) else get(key).
absl::StatusOr<CasResult> KvCas(etcdserverpb::KV::Stub* kv, const std::string& key,
                                const std::optional<std::string>& expected,
                                const std::string& value, Millis timeout);

// Picks a port that is free on 127.0.0.1 now (never the same one twice in
// this process).
int PickFreePort();

// --- the cluster ----------------------------------------------------------------

struct ClusterOptions {
  int size = 3;
  int heartbeat_ms = 30;
  int election_ms = 300;
  uint64_t snapshot_count = 100000;
  // Tests that need speed turn fsync off; durability tests keep it on.
  bool unsafe_no_fsync = true;
  // --strict-reconfig-check of every member.
  bool strict_reconfig_check = true;
  // --quota-backend-bytes of every member (0: etcd's 2 GiB default).
  int64_t quota_backend_bytes = 0;
  // --restore-snapshot of every member (empty: none).
  std::string restore_snapshot;
  // Every wait (leader, catch-up, member start) uses this bound.
  Millis wait_timeout{15000};
  // Names of members that send raft messages over the gRPC stream; the
  // others use the TCP link (ServerConfig::peer_raft_link_tcp).
  std::vector<std::string> grpc_link_members;
  // Runs on a member's snapshot writer thread (with its name) before it
  // writes a state file.
  std::function<void(const std::string& member)> before_snapshot_write;
};

class TestCluster {
 public:
  // Starts `opts.size` members and waits for a leader they all agree on.
  static absl::StatusOr<std::unique_ptr<TestCluster>> Start(ClusterOptions opts);
  ~TestCluster();

  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  const ClusterOptions& options() const { return opts_; }
  int size() const { return static_cast<int>(members_.size()); }
  bool Running(int i) const { return members_[i]->server != nullptr; }
  std::vector<int> RunningMembers() const;
  uint64_t Id(int i) const { return members_[i]->id; }
  const std::string& Name(int i) const { return members_[i]->name; }
  std::string ClientAddress(int i) const;
  std::string DataDir(int i) const { return members_[i]->config.data_dir; }
  // The slot of a member id, or -1.
  int IndexOf(uint64_t id) const;

  etcdserverpb::KV::Stub* Kv(int i) { return members_[i]->kv.get(); }
  etcdserverpb::Maintenance::Stub* Maintenance(int i) { return members_[i]->maintenance.get(); }
  etcdserverpb::Cluster::Stub* Cluster(int i) { return members_[i]->cluster.get(); }

  // Convenience wrappers on member i (default timeout: 2 s).
  absl::StatusOr<int64_t> Put(int i, const std::string& key, const std::string& value,
                              Millis timeout = Millis(2000));
  absl::StatusOr<GetResult> Get(int i, const std::string& key, bool serializable = false,
                                Millis timeout = Millis(2000));
  absl::StatusOr<etcdserverpb::StatusResponse> Status(int i, Millis timeout = Millis(1000));
  absl::StatusOr<etcdserverpb::HashKVResponse> HashKV(int i, int64_t revision = 0,
                                                      Millis timeout = Millis(2000));

  // Waits until every member in `among` (default: all running ones) reports
  // the same leader, which is itself in `among`; returns its slot.
  absl::StatusOr<int> WaitForLeader(std::optional<std::vector<int>> among = std::nullopt);
  absl::StatusOr<int> WaitForLeader(std::optional<std::vector<int>> among, Millis timeout);
  // Waits until every running member (or `among`) has applied the same index
  // and reached the same revision, then checks that HashKV agrees.
  absl::Status WaitConverged(std::optional<std::vector<int>> among = std::nullopt);
  // Waits until member i's serializable read of `key` returns `value`.
  absl::Status WaitForValue(int i, const std::string& key, const std::optional<std::string>& value);

  // Stops member i. `crash` (default) cuts its peer traffic first, so a
  // leader cannot hand leadership over: the others see it vanish, as after
  // kill -9. Its data dir and ports are kept.
  absl::Status Stop(int i, bool crash = true);
  // Starts member i again on the same data dir and ports.
  absl::Status Restart(int i);

  // Partitions (raft traffic only; clients still reach every member).
  void Isolate(int i);
  // Cuts every member of `side` off from every member not in it.
  void Partition(const std::vector<int>& side);
  // Cuts the link between a and b only (non-transitive partitions).
  void Cut(int a, int b);
  // Drops raft traffic from `from` to `to`; the other direction still flows.
  void CutOneWay(int from, int to);
  void HealAll();

  // MemberAdd (through the leader) of a new member, then starts it with
  // --initial-cluster-state existing and the full initial cluster from the
  // MemberAdd response. Returns its slot.
  absl::StatusOr<int> AddMember(bool learner = false);
  // MemberPromote through the leader, retried while the learner is not in sync.
  absl::Status PromoteMember(int i);
  // MemberRemove through the leader (or `via`).
  absl::Status RemoveMember(int i, std::optional<int> via = std::nullopt);
  // Waits until a removed member has shut itself down (its client port stops
  // answering), then forgets it.
  absl::Status WaitRemovedMemberStopped(int i);
  // MoveLeader to member i (sent to the current leader); waits until every
  // running member reports i as leader.
  absl::Status MoveLeader(int i);

  // One line per member: name, id, leader, term, indexes, revision, learner.
  std::string Describe();

 private:
  struct Member {
    std::string name;
    uint64_t id = 0;
    int client_port = 0;
    int peer_port = 0;
    server::ServerConfig config;
    std::unique_ptr<server::Server> server;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
    std::unique_ptr<etcdserverpb::Cluster::Stub> cluster;
  };

  explicit TestCluster(ClusterOptions opts, std::string root);
  std::unique_ptr<Member> NewMember(const std::string& name);
  absl::Status StartMember(Member& m);
  void ApplyCuts();
  void AddCut(uint64_t a, uint64_t b);
  std::vector<int> Resolve(const std::optional<std::vector<int>>& among) const;
  absl::StatusOr<int> LeaderSlot();

  ClusterOptions opts_;
  std::string root_;
  std::shared_ptr<server::PeerFaults> faults_;
  std::vector<std::unique_ptr<Member>> members_;
  // Partitions asked for by the test, and members cut off for a crash-stop.
  std::set<std::pair<uint64_t, uint64_t>> cuts_;
  std::set<uint64_t> crash_isolated_;
  int next_name_ = 0;
};

// Polls `fn` every `every` until it returns true or `timeout` passes.
template <typename Fn>
bool PollUntil(Fn fn, Millis timeout, Millis every = Millis(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (fn()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace quorum::integration

#endif  // QUORUM_TESTS_INTEGRATION_TEST_CLUSTER_H_
