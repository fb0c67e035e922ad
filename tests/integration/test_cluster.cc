#include "test_cluster.h"

#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace quorum::integration {
namespace {

using Clock = std::chrono::steady_clock;

void SetDeadline(grpc::ClientContext* ctx, Millis timeout) {
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
}

std::string Hex(uint64_t id) { return absl::StrFormat("%x", id); }

// Server logs are noisy: errors only, unless QUORUM_IT_LOG=warn|info|debug.
void ConfigureLoggingOnce() {
  static const bool done = [] {
    const char* level = std::getenv("QUORUM_IT_LOG");
    spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::err);
    return true;
  }();
  (void)done;
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::StatusOr<int64_t> KvPut(etcdserverpb::KV::Stub* kv, const std::string& key,
                              const std::string& value, Millis timeout) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, timeout);
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  etcdserverpb::PutResponse resp;
  if (auto st = FromGrpc(kv->Put(&ctx, req, &resp)); !st.ok()) return st;
  return resp.header().revision();
}

absl::StatusOr<GetResult> KvGet(etcdserverpb::KV::Stub* kv, const std::string& key,
                                bool serializable, Millis timeout) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, timeout);
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  req.set_serializable(serializable);
  etcdserverpb::RangeResponse resp;
  if (auto st = FromGrpc(kv->Range(&ctx, req, &resp)); !st.ok()) return st;
  GetResult r;
  r.revision = resp.header().revision();
  if (resp.kvs_size() > 0) {
    r.value = resp.kvs(0).value();
    r.mod_revision = resp.kvs(0).mod_revision();
  }
  return r;
}

absl::StatusOr<CasResult> KvCas(etcdserverpb::KV::Stub* kv, const std::string& key,
                                const std::optional<std::string>& expected,
                                const std::string& value, Millis timeout) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, timeout);
  etcdserverpb::TxnRequest req;
  auto* cmp = req.add_compare();
  cmp->set_key(key);
  cmp->set_result(etcdserverpb::Compare::EQUAL);
  if (expected) {
    cmp->set_target(etcdserverpb::Compare::VALUE);
    cmp->set_value(*expected);
  } else {
    cmp->set_target(etcdserverpb::Compare::CREATE);
    cmp->set_create_revision(0);
  }
  auto* put = req.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  req.add_failure()->mutable_request_range()->set_key(key);
  etcdserverpb::TxnResponse resp;
  if (auto st = FromGrpc(kv->Txn(&ctx, req, &resp)); !st.ok()) return st;
  CasResult r;
  r.succeeded = resp.succeeded();
  r.revision = resp.header().revision();
  if (!r.succeeded) {
    if (resp.responses_size() != 1 || !resp.responses(0).has_response_range()) {
      return absl::InternalError("txn failure branch did not return a range response");
    }
    const auto& range = resp.responses(0).response_range();
    if (range.kvs_size() > 0) r.current = range.kvs(0).value();
  }
  return r;
}

int PickFreePort() {
  static absl::Mutex mu(absl::kConstInit);
  static std::set<int>* used = new std::set<int>();
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) continue;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    absl::MutexLock lock(&mu);
    if (port != 0 && used->insert(port).second) return port;
  }
  return 0;
}

// --- TestCluster -------------------------------------------------------------------

TestCluster::TestCluster(ClusterOptions opts, std::string root)
    : opts_(opts), root_(std::move(root)), faults_(std::make_shared<server::PeerFaults>()) {}

std::unique_ptr<TestCluster::Member> TestCluster::NewMember(const std::string& name) {
  auto m = std::make_unique<Member>();
  m->name = name;
  m->client_port = PickFreePort();
  m->peer_port = PickFreePort();
  server::ServerConfig& c = m->config;
  c.name = name;
  c.data_dir = (std::filesystem::path(root_) / name).string();
  const std::string client_url = absl::StrCat("http://127.0.0.1:", m->client_port);
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", m->peer_port);
  c.listen_client_urls = {client_url};
  c.advertise_client_urls = {client_url};
  c.listen_peer_urls = {peer_url};
  c.initial_advertise_peer_urls = {peer_url};
  c.initial_cluster_token = std::filesystem::path(root_).filename().string();
  c.heartbeat_interval_ms = opts_.heartbeat_ms;
  c.election_timeout_ms = opts_.election_ms;
  c.snapshot_count = opts_.snapshot_count;
  c.unsafe_no_fsync = opts_.unsafe_no_fsync;
  c.quota_backend_bytes = opts_.quota_backend_bytes;
  c.strict_reconfig_check = opts_.strict_reconfig_check;
  c.restore_snapshot = opts_.restore_snapshot;
  c.peer_faults_for_testing = faults_;
  c.peer_raft_link_tcp = std::find(opts_.grpc_link_members.begin(), opts_.grpc_link_members.end(),
                                   name) == opts_.grpc_link_members.end();
  if (opts_.before_snapshot_write) {
    c.before_snapshot_write_for_testing = [hook = opts_.before_snapshot_write, name] { hook(name); };
  }

  grpc::ChannelArguments args;
  // Reconnect quickly after a member restarts (gRPC's default backoff grows
  // to minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
  // A distinct channel per member (no subchannel sharing across members).
  args.SetString("quorum.test.member", name + root_);
  m->channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", m->client_port),
                                         grpc::InsecureChannelCredentials(), args);
  m->kv = etcdserverpb::KV::NewStub(m->channel);
  m->maintenance = etcdserverpb::Maintenance::NewStub(m->channel);
  m->cluster = etcdserverpb::Cluster::NewStub(m->channel);
  return m;
}

absl::Status TestCluster::StartMember(Member& m) {
  auto s = server::Server::Create(m.config);
  if (!s.ok()) return absl::Status(s.status().code(), absl::StrCat(m.name, ": ", s.status().message()));
  if (auto st = (*s)->Start(); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat(m.name, ": ", st.message()));
  }
  m.id = (*s)->MemberId();
  m.server = std::move(*s);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TestCluster>> TestCluster::Start(ClusterOptions opts) {
  ConfigureLoggingOnce();
  std::string tmpl = (std::filesystem::temp_directory_path() / "quorum-it-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<TestCluster> c(new TestCluster(opts, tmpl));
  std::vector<std::string> initial;
  for (int i = 0; i < opts.size; ++i) {
    c->members_.push_back(c->NewMember(absl::StrCat("m", c->next_name_++)));
    const Member& m = *c->members_.back();
    initial.push_back(absl::StrCat(m.name, "=", m.config.initial_advertise_peer_urls[0]));
  }
  for (auto& m : c->members_) {
    m->config.initial_cluster = absl::StrJoin(initial, ",");
    m->config.initial_cluster_state = "new";
  }
  for (auto& m : c->members_) {
    if (auto st = c->StartMember(*m); !st.ok()) return st;
  }
  if (auto l = c->WaitForLeader(); !l.ok()) return l.status();
  return c;
}

TestCluster::~TestCluster() {
  std::vector<std::thread> stoppers;
  for (auto& m : members_) {
    if (m->server) stoppers.emplace_back([&m] { m->server->Shutdown(); });
  }
  for (auto& t : stoppers) t.join();
  for (auto& m : members_) m->server.reset();
  if (std::getenv("QUORUM_IT_KEEP") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  } else {
    std::printf("QUORUM_IT_KEEP: data dirs kept in %s\n", root_.c_str());
  }
}

std::vector<int> TestCluster::RunningMembers() const {
  std::vector<int> out;
  for (int i = 0; i < size(); ++i) {
    if (Running(i)) out.push_back(i);
  }
  return out;
}

std::string TestCluster::ClientAddress(int i) const {
  return absl::StrCat("127.0.0.1:", members_[i]->client_port);
}

int TestCluster::IndexOf(uint64_t id) const {
  for (int i = 0; i < size(); ++i) {
    if (members_[i]->id == id && id != 0) return i;
  }
  return -1;
}

absl::StatusOr<int64_t> TestCluster::Put(int i, const std::string& key, const std::string& value,
                                         Millis timeout) {
  return KvPut(Kv(i), key, value, timeout);
}

absl::StatusOr<GetResult> TestCluster::Get(int i, const std::string& key, bool serializable,
                                           Millis timeout) {
  return KvGet(Kv(i), key, serializable, timeout);
}

absl::StatusOr<etcdserverpb::StatusResponse> TestCluster::Status(int i, Millis timeout) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, timeout);
  etcdserverpb::StatusResponse resp;
  if (auto st = FromGrpc(Maintenance(i)->Status(&ctx, etcdserverpb::StatusRequest(), &resp)); !st.ok()) {
    return st;
  }
  return resp;
}

absl::StatusOr<etcdserverpb::HashKVResponse> TestCluster::HashKV(int i, int64_t revision,
                                                                 Millis timeout) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, timeout);
  etcdserverpb::HashKVRequest req;
  req.set_revision(revision);
  etcdserverpb::HashKVResponse resp;
  if (auto st = FromGrpc(Maintenance(i)->HashKV(&ctx, req, &resp)); !st.ok()) return st;
  return resp;
}

std::vector<int> TestCluster::Resolve(const std::optional<std::vector<int>>& among) const {
  return among ? *among : RunningMembers();
}

std::string TestCluster::Describe() {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    const Member& m = *members_[i];
    absl::StrAppend(&out, "  ", m.name, " id=", Hex(m.id), " client=", ClientAddress(i),
                    " peer=", m.peer_port, Running(i) ? "" : " [stopped]");
    if (Running(i)) {
      auto s = Status(i, Millis(500));
      if (s.ok()) {
        absl::StrAppend(&out, " leader=", Hex(s->leader()), " term=", s->raftterm(),
                        " committed=", s->raftindex(), " applied=", s->raftappliedindex(),
                        " rev=", s->header().revision(), s->islearner() ? " learner" : "");
      } else {
        absl::StrAppend(&out, " status error: ", s.status().ToString());
      }
    }
    absl::StrAppend(&out, "\n");
  }
  std::set<std::pair<uint64_t, uint64_t>> cuts = cuts_;
  if (!cuts.empty()) {
    absl::StrAppend(&out, "  partitions:");
    for (auto [a, b] : cuts) absl::StrAppend(&out, " ", Hex(a), "-x-", Hex(b));
    absl::StrAppend(&out, "\n");
  }
  return out;
}

absl::StatusOr<int> TestCluster::WaitForLeader(std::optional<std::vector<int>> among) {
  return WaitForLeader(std::move(among), opts_.wait_timeout);
}

absl::StatusOr<int> TestCluster::WaitForLeader(std::optional<std::vector<int>> among,
                                               Millis timeout) {
  const std::vector<int> set = Resolve(among);
  int leader = -1;
  const bool ok = PollUntil(
      [&] {
        uint64_t agreed = 0;
        for (int i : set) {
          auto s = Status(i, Millis(500));
          if (!s.ok() || s->leader() == 0) return false;
          if (agreed != 0 && s->leader() != agreed) return false;
          agreed = s->leader();
        }
        const int slot = IndexOf(agreed);
        if (slot < 0 || std::find(set.begin(), set.end(), slot) == set.end()) return false;
        leader = slot;
        return true;
      },
      timeout);
  if (ok) return leader;
  return absl::DeadlineExceededError(
      absl::StrCat("no agreed leader among ", set.size(), " members within ", timeout.count(),
                   " ms:\n", Describe()));
}

absl::StatusOr<int> TestCluster::LeaderSlot() { return WaitForLeader(); }

absl::Status TestCluster::WaitConverged(std::optional<std::vector<int>> among) {
  const std::vector<int> set = Resolve(among);
  std::string last;
  const bool ok = PollUntil(
      [&] {
        uint64_t applied = 0;
        int64_t rev = -1;
        bool first = true;
        std::vector<int> voters;
        for (int i : set) {
          auto s = Status(i, Millis(500));
          if (!s.ok()) {
            last = absl::StrCat(Name(i), ": ", s.status().ToString());
            return false;
          }
          if (s->raftappliedindex() != s->raftindex()) {
            last = absl::StrCat(Name(i), " applied ", s->raftappliedindex(), " < committed ",
                                s->raftindex());
            return false;
          }
          if (!first && (s->raftappliedindex() != applied || s->header().revision() != rev)) {
            last = absl::StrCat(Name(i), " at applied ", s->raftappliedindex(), " rev ",
                                s->header().revision(), ", others at applied ", applied, " rev ", rev);
            return false;
          }
          first = false;
          applied = s->raftappliedindex();
          rev = s->header().revision();
          if (!s->islearner()) voters.push_back(i);
        }
        // Learners do not serve HashKV (etcd's rule); voters must agree.
        std::optional<uint32_t> hash;
        for (int i : voters) {
          // At the current revision (0): an explicit one equal to the
          // compaction revision is refused, as etcd refuses it.
          auto h = HashKV(i, 0);
          if (!h.ok()) {
            last = absl::StrCat(Name(i), " HashKV: ", h.status().ToString());
            return false;
          }
          if (h->header().revision() != rev) {
            last = absl::StrCat(Name(i), " hashed at rev ", h->header().revision(), ", not ", rev);
            return false;
          }
          if (hash && *hash != h->hash()) {
            last = absl::StrCat("HashKV at rev ", rev, " differs: ", Name(i), " has ", h->hash(),
                                ", others ", *hash);
            return false;
          }
          hash = h->hash();
        }
        return true;
      },
      opts_.wait_timeout, Millis(50));
  if (ok) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat("members did not converge within ",
                                                  opts_.wait_timeout.count(), " ms (last: ", last,
                                                  "):\n", Describe()));
}

absl::Status TestCluster::WaitForValue(int i, const std::string& key,
                                       const std::optional<std::string>& value) {
  std::string last;
  const bool ok = PollUntil(
      [&] {
        auto r = Get(i, key, /*serializable=*/true, Millis(500));
        if (!r.ok()) {
          last = r.status().ToString();
          return false;
        }
        last = r->value ? absl::StrCat("\"", *r->value, "\"") : "<absent>";
        return r->value == value;
      },
      opts_.wait_timeout);
  if (ok) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(Name(i), " never served ", key, " = ",
                                                  value.value_or("<absent>"), " (last: ", last,
                                                  "):\n", Describe()));
}

void TestCluster::AddCut(uint64_t a, uint64_t b) {
  if (a != 0 && b != 0 && a != b) faults_->Cut(a, b);
}

void TestCluster::ApplyCuts() {
  faults_->HealAll();
  for (auto [a, b] : cuts_) AddCut(a, b);
  for (uint64_t id : crash_isolated_) {
    for (auto& m : members_) AddCut(id, m->id);
  }
}

void TestCluster::Isolate(int i) { Partition({i}); }

void TestCluster::Partition(const std::vector<int>& side) {
  // Only adds cuts, so no partition is ever briefly healed.
  for (int a : side) {
    for (int b = 0; b < size(); ++b) {
      if (std::find(side.begin(), side.end(), b) != side.end()) continue;
      const uint64_t x = Id(a), y = Id(b);
      if (x == 0 || y == 0) continue;  // never started
      cuts_.insert({std::min(x, y), std::max(x, y)});
      AddCut(x, y);
    }
  }
}

void TestCluster::Cut(int a, int b) {
  const uint64_t x = Id(a), y = Id(b);
  if (x == 0 || y == 0 || x == y) return;
  cuts_.insert({std::min(x, y), std::max(x, y)});
  AddCut(x, y);
}

void TestCluster::CutOneWay(int from, int to) { faults_->CutOneWay(Id(from), Id(to)); }

void TestCluster::HealAll() {
  cuts_.clear();
  ApplyCuts();
}

absl::Status TestCluster::Stop(int i, bool crash) {
  Member& m = *members_[i];
  if (!m.server) return absl::FailedPreconditionError(m.name + " is not running");
  if (crash) {
    crash_isolated_.insert(m.id);
    for (auto& o : members_) AddCut(m.id, o->id);
  }
  m.server->Shutdown();
  m.server.reset();
  return absl::OkStatus();
}

absl::Status TestCluster::Restart(int i) {
  Member& m = *members_[i];
  if (m.server) return absl::FailedPreconditionError(m.name + " is running");
  crash_isolated_.erase(m.id);
  ApplyCuts();
  return StartMember(m);
}

absl::StatusOr<int> TestCluster::AddMember(bool learner) {
  auto leader = LeaderSlot();
  if (!leader.ok()) return leader.status();
  auto nm = NewMember(absl::StrCat("m", next_name_++));
  const std::string peer_url = nm->config.initial_advertise_peer_urls[0];

  grpc::ClientContext ctx;
  SetDeadline(&ctx, Millis(10000));
  etcdserverpb::MemberAddRequest req;
  req.add_peerurls(peer_url);
  req.set_islearner(learner);
  etcdserverpb::MemberAddResponse resp;
  if (auto st = FromGrpc(Cluster(*leader)->MemberAdd(&ctx, req, &resp)); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("MemberAdd via ", Name(*leader), ": ", st.message()));
  }
  // ETCD_INITIAL_CLUSTER as etcdctl prints it: every member by name, the
  // new (unnamed, unstarted) one by the name we give it.
  std::vector<std::string> initial;
  for (const auto& pm : resp.members()) {
    const std::string name = pm.id() == resp.member().id() ? nm->name : pm.name();
    for (const auto& u : pm.peerurls()) initial.push_back(absl::StrCat(name, "=", u));
  }
  nm->config.initial_cluster = absl::StrJoin(initial, ",");
  nm->config.initial_cluster_state = "existing";
  members_.push_back(std::move(nm));
  const int slot = size() - 1;
  // Cuts already in force apply to the newcomer's id once known.
  if (auto st = StartMember(*members_[slot]); !st.ok()) return st;
  if (members_[slot]->id != resp.member().id()) {
    return absl::InternalError(absl::StrCat("new member started as ", Hex(members_[slot]->id),
                                            " but MemberAdd assigned ", Hex(resp.member().id())));
  }
  return slot;
}

absl::Status TestCluster::PromoteMember(int i) {
  std::string last;
  const bool ok = PollUntil(
      [&] {
        auto leader = WaitForLeader(std::nullopt, Millis(2000));
        if (!leader.ok()) {
          last = leader.status().ToString();
          return false;
        }
        grpc::ClientContext ctx;
        SetDeadline(&ctx, Millis(3000));
        etcdserverpb::MemberPromoteRequest req;
        req.set_id(Id(i));
        etcdserverpb::MemberPromoteResponse resp;
        auto st = FromGrpc(Cluster(*leader)->MemberPromote(&ctx, req, &resp));
        last = st.ToString();
        return st.ok();
      },
      opts_.wait_timeout, Millis(100));
  if (ok) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat("promote ", Name(i), " failed: ", last, "\n", Describe()));
}

absl::Status TestCluster::RemoveMember(int i, std::optional<int> via) {
  int through;
  if (via) {
    through = *via;
  } else {
    auto leader = LeaderSlot();
    if (!leader.ok()) return leader.status();
    through = *leader;
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx, Millis(10000));
  etcdserverpb::MemberRemoveRequest req;
  req.set_id(Id(i));
  etcdserverpb::MemberRemoveResponse resp;
  auto st = FromGrpc(Cluster(through)->MemberRemove(&ctx, req, &resp));
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat("MemberRemove via ", Name(through), ": ", st.message()));
  for (const auto& m : resp.members()) {
    if (m.id() == Id(i)) return absl::InternalError("removed member still listed");
  }
  return absl::OkStatus();
}

absl::Status TestCluster::WaitRemovedMemberStopped(int i) {
  Member& m = *members_[i];
  if (!m.server) return absl::OkStatus();
  const bool ok = PollUntil([&] { return !Status(i, Millis(300)).ok(); }, opts_.wait_timeout, Millis(100));
  if (!ok) {
    return absl::DeadlineExceededError(absl::StrCat("removed member ", m.name,
                                                    " still serves clients:\n", Describe()));
  }
  // The member shuts itself down on a detached thread; Server::Shutdown
  // returns at once to a second caller while the first one still runs, so
  // destroying the Server now could free it under that thread. Wait for the
  // client server to finish, give the rest of the shutdown time, and keep
  // the object (a bounded, test-only leak) rather than risk a use-after-free.
  m.server->Wait();
  std::this_thread::sleep_for(Millis(200));
  (void)m.server.release();
  return absl::OkStatus();
}

absl::Status TestCluster::MoveLeader(int i) {
  auto leader = LeaderSlot();
  if (!leader.ok()) return leader.status();
  if (*leader != i) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, Millis(10000));
    etcdserverpb::MoveLeaderRequest req;
    req.set_targetid(Id(i));
    etcdserverpb::MoveLeaderResponse resp;
    auto st = FromGrpc(Maintenance(*leader)->MoveLeader(&ctx, req, &resp));
    if (!st.ok()) return absl::Status(st.code(), absl::StrCat("MoveLeader via ", Name(*leader), ": ", st.message()));
  }
  auto now = WaitForLeader();
  if (!now.ok()) return now.status();
  if (*now != i) {
    return absl::InternalError(absl::StrCat("leader is ", Name(*now), " after MoveLeader to ", Name(i),
                                            ":\n", Describe()));
  }
  return absl::OkStatus();
}

}  // namespace quorum::integration
