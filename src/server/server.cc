#include "server/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "mvcc/backend/backend.h"
#include "mvcc/kv_store.h"
#include "server/api/cluster_service.h"
#include "server/api/kv_service.h"
#include "server/api/election_service.h"
#include "server/api/lease_service.h"
#include "server/api/lock_service.h"
#include "server/api/recipe_runtime.h"
#include "server/api/maintenance_service.h"
#include "mvcc/lessor.h"
#include "server/api/watch_service.h"
#include "mvcc/watchable_store.h"
#include "server/api/quota_gate.h"
#include "server/api/service_deps.h"
#include "server/apply/alarm_store.h"
#include "server/apply/backend_quota.h"
#include "server/apply/applier.h"
#include "server/auto_compaction_policy.h"
#include "server/auto_compactor.h"
#include "server/bootstrap_checks.h"
#include "server/config_validation.h"
#include "server/http/metrics_server.h"
#include "server/member/cluster_discovery.h"
#include "server/member/membership.h"
#include "server/member/raft_member.h"
#include "server/member/raft_storage.h"
#include "server/member/snapshot_install_recovery.h"
#include "server/snapshot_restore.h"
#include "server/tls.h"
#include "server/transport/peer_listener.h"
#include "server/transport/server_options.h"
#include "server/transport/snapshot_file_writer.h"
#include "server/transport/transport.h"
#include "server/url.h"
#include "util/member_id.h"

namespace quorum::server {

// gRPC core's own receive limit. It is deliberately above etcd's limit
// (max-request-bytes + 512 KiB), which ServiceDeps::CheckWireSize enforces
// with grpc-go's wording; this one only bounds memory per message.
constexpr int kTransportMaxMessageBytes = 64 << 20;

struct Server::Impl {
  Server* owner = nullptr;
  ServerConfig config;
  uint64_t self_id = 0;
  std::unique_ptr<mvcc::Backend> backend;
  std::unique_ptr<mvcc::KvStore> store;
  std::unique_ptr<mvcc::Lessor> lessor;
  std::unique_ptr<mvcc::WatchableStore> watchable;
  std::unique_ptr<Membership> membership;
  std::unique_ptr<AlarmStore> alarms;
  std::unique_ptr<BackendQuota> quota;
  // True while this member's own NOSPACE proposal is in flight.
  std::atomic<bool> raising_nospace{false};
  std::unique_ptr<Applier> applier;
  std::unique_ptr<RaftMember> member;
  std::unique_ptr<transport::Transport> transport;
  ServiceDeps deps;
  std::unique_ptr<KvService> kv;
  std::unique_ptr<MaintenanceService> maintenance;
  std::unique_ptr<ClusterService> cluster;
  std::unique_ptr<LeaseService> lease;
  std::unique_ptr<WatchService> watch;
  // v3lock / v3election: recipes over a loopback client (connected in Start).
  std::unique_ptr<RecipeRuntime> recipes;
  std::unique_ptr<LockService> lock;
  std::unique_ptr<ElectionService> election;
  std::unique_ptr<ClusterInfoService> cluster_info;
  // --auto-compaction-*: null when off. Runs only while this member leads.
  std::unique_ptr<AutoCompactor> compactor;
  // --listen-metrics-urls: null when none.
  std::unique_ptr<http::MetricsServer> metrics;
  std::unique_ptr<grpc::Server> client_server;
  std::unique_ptr<grpc::Server> peer_server;
  // The http:// peer sockets: raft links and gRPC connections (TLS peer
  // URLs are gRPC's own listening ports).
  std::vector<std::unique_ptr<transport::PeerListener>> peer_listeners;
  std::vector<std::string> bound;

  std::shared_ptr<grpc::ChannelCredentials> peer_creds;
  // Detects that this member was removed while it could not hear about it
  // (the removal commits after it is cut off): asks peers when leaderless.
  std::thread removal_watchdog;
  absl::Notification stop_watchdog;

  absl::Mutex mu;
  bool shut_down ABSL_GUARDED_BY(mu) = false;
  absl::Notification shutdown_done;
};

namespace {

// Writes the founding membership of a new cluster's member and bootstraps
// its raft log (joining members learn theirs from peers instead).
absl::Status BootstrapFoundingMember(const ServerConfig& cfg,
                                 const std::map<std::string, std::vector<std::string>>& cluster,
                                 mvcc::Backend* backend, Membership* membership,
                                 RaftStorage* storage) {
  mvcc::Batch batch = backend->NewBatch();
  std::vector<uint64_t> ids;
  for (const auto& [name, urls] : cluster) {
    MemberInfo m;
    m.name = name;
    m.peer_urls = urls;
    m.id = util::ComputeMemberId(urls, cfg.initial_cluster_token);
    if (name == cfg.name) m.client_urls = cfg.advertise_client_urls;
    ids.push_back(m.id);
    membership->Add(m, &batch);
  }
  membership->SetClusterId(util::ComputeClusterId(ids), &batch);
  if (auto st = backend->Commit(std::move(batch), /*sync=*/true); !st.ok()) return st;
  return storage->Bootstrap(ids);
}

// The auto-compactor's Compact: the proposal a client's Compact makes,
// waited for until it is applied here or the compactor stops.
absl::Status ProposeCompaction(Proposer* proposer, int64_t rev, const absl::Notification& stop) {
  struct Wait {
    absl::Notification done;
    absl::Mutex mu;
    absl::Status status ABSL_GUARDED_BY(mu);
  };
  auto wait = std::make_shared<Wait>();
  internalpb::InternalRequest req;
  req.mutable_compaction()->set_revision(rev);
  proposer->Propose(std::move(req), [wait](absl::StatusOr<internalpb::InternalResponse> r) {
    {
      absl::MutexLock l(&wait->mu);
      wait->status = r.status();
    }
    wait->done.Notify();
  });
  while (!wait->done.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
    if (stop.HasBeenNotified()) return absl::CancelledError("compactor stopped");
  }
  absl::MutexLock l(&wait->mu);
  return wait->status;
}

// Before anything reads the state machine: what a crash took from RocksDB's
// unsynced writes comes back from the raft log journal (the restore seed
// decides from the raft state whether this member is initialised); a state
// snapshot persisted but not (wholly) installed -- a crash between receiving
// and installing it, or during the install, which replaces the state batch
// by batch -- is installed (the member list, key index, leases and alarms
// are read next); then --restore-snapshot seeds a new data dir. Without
// fsync there is nothing for the journal to save: one left by an earlier
// run with fsync is replayed once and removed.
absl::Status RecoverDataDir(const ServerConfig& cfg, const std::filesystem::path& member_dir,
                            const std::string& journal, mvcc::Backend* backend) {
  if (auto st = cfg.unsafe_no_fsync ? LogJournal::RecoverAndRemove(journal, backend)
                                    : LogJournal::Recover(journal, backend);
      !st.ok()) {
    return st;
  }
  const std::string snap_dir = (member_dir / "snap").string();
  if (auto st = FinishSnapshotInstall(backend, snap_dir); !st.ok()) return st;
  if (cfg.restore_snapshot.empty()) return absl::OkStatus();
  return SeedFromClientSnapshot(backend, cfg.restore_snapshot, snap_dir);
}

}  // namespace

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }
Server::~Server() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig config) {
  auto impl = std::make_unique<Impl>();
  if (config.data_dir.empty()) config.data_dir = config.name + ".etcd";
  // Every URL is checked before any is used: a bad one is an error, never a crash.
  for (const auto* list : {&config.listen_client_urls, &config.advertise_client_urls,
                           &config.listen_peer_urls, &config.initial_advertise_peer_urls,
                           &config.listen_metrics_urls}) {
    for (const auto& u : *list) {
      if (auto p = ParseUrl(u); !p.ok()) return p.status();
    }
  }
  if (absl::Status st = ValidateConfig(config); !st.ok()) return st;
  if (config.snapshot_count == 0) {
    // etcd's reading of --snapshot-count 0.
    config.snapshot_count = 100000;
    spdlog::info("set snapshot count to default {}", config.snapshot_count);
  }
  auto retention = ParseCompactionRetention(config.auto_compaction_mode,
                                            config.auto_compaction_retention);
  if (!retention.ok()) return retention.status();
  if (config.initial_cluster.empty()) {
    for (const auto& u : config.initial_advertise_peer_urls) {
      if (!config.initial_cluster.empty()) config.initial_cluster += ",";
      config.initial_cluster += config.name + "=" + u;
    }
  }
  auto cluster = ParseInitialCluster(config.initial_cluster);
  if (!cluster.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("error setting up initial cluster: ", cluster.status().message()));
  }
  impl->config = std::move(config);
  const ServerConfig& cfg = impl->config;

  // Credentials this member dials its peers with (TLS when peers use https).
  std::shared_ptr<grpc::ChannelCredentials> peer_creds;
  bool peer_tls = false;
  for (const auto& list : {cfg.listen_peer_urls, cfg.initial_advertise_peer_urls}) {
    for (const auto& u : list) {
      auto p = ParseUrl(u);
      peer_tls |= p.ok() && p->tls();
    }
  }
  if (peer_tls || !cfg.peer_cert_file.empty()) {
    auto creds = MakeClientCredentials(
        TlsFiles{cfg.peer_cert_file, cfg.peer_key_file, cfg.peer_trusted_ca_file, false});
    if (!creds.ok()) return creds.status();
    peer_creds = *creds;
  }

  mvcc::BackendOptions bo;
  bo.unsafe_no_fsync = cfg.unsafe_no_fsync;
  const std::filesystem::path member_dir = std::filesystem::path(cfg.data_dir) / "member";
  auto backend = mvcc::Backend::Open((member_dir / "db").string(), bo);
  if (!backend.ok()) return backend.status();
  impl->backend = std::move(*backend);
  const std::string journal = (member_dir / "wal" / "journal").string();
  if (auto st = RecoverDataDir(cfg, member_dir, journal, impl->backend.get()); !st.ok()) return st;
  mvcc::CompactorOptions co;
  co.on_error = [](int64_t rev, const absl::Status& st) {
    spdlog::error("dropping the records of compaction {} failed (retrying): {}", rev,
                  std::string(st.message()));
  };
  auto store = mvcc::KvStore::Open(impl->backend.get(), std::move(co));
  if (!store.ok()) return store.status();
  impl->store = std::move(*store);
  mvcc::LessorOptions lo;
  lo.min_ttl_s = mvcc::MinLeaseTtlSeconds(cfg.election_timeout_ms, cfg.heartbeat_interval_ms);
  if (!cfg.enable_lease_checkpoint) lo.checkpoint_interval = util::Clock::Duration::zero();
  auto lessor = mvcc::Lessor::Open(impl->backend.get(), lo);
  if (!lessor.ok()) return lessor.status();
  impl->lessor = std::move(*lessor);
  impl->watchable = std::make_unique<mvcc::WatchableStore>(impl->store.get());
  impl->membership = std::make_unique<Membership>(impl->backend.get());
  if (auto st = impl->membership->Load(); !st.ok()) return st;
  auto storage =
      RaftStorage::Open(impl->backend.get(), cfg.unsafe_no_fsync ? std::string() : journal);
  if (!storage.ok()) return storage.status();

  if ((*storage)->IsEmpty()) {
    if (absl::Status st = VerifyInitialCluster(cfg.name, *cluster, cfg.initial_advertise_peer_urls,
                                               cfg.initial_cluster_state == "existing");
        !st.ok()) {
      return st;
    }
    if (cfg.initial_cluster_state == "existing") {
      // Joining: learn the cluster id and our own id (assigned by MemberAdd)
      // from the members already running, as etcd does.
      std::vector<std::string> peers;
      for (const auto& [name, urls] : *cluster) {
        if (name != cfg.name) peers.insert(peers.end(), urls.begin(), urls.end());
      }
      auto info = FetchClusterInfo(peers, peer_creds, std::chrono::seconds(30));
      if (!info.ok()) return info.status();
      mvcc::Batch b = impl->backend->NewBatch();
      for (const auto& cm : info->members()) {
        MemberInfo m;
        m.id = cm.id();
        m.name = cm.name();
        m.peer_urls.assign(cm.peer_urls().begin(), cm.peer_urls().end());
        m.client_urls.assign(cm.client_urls().begin(), cm.client_urls().end());
        m.is_learner = cm.is_learner();
        if (m.peer_urls == cfg.initial_advertise_peer_urls) {
          impl->self_id = m.id;
          m.name = cfg.name;
          m.client_urls = cfg.advertise_client_urls;
        }
        impl->membership->Add(m, &b);
      }
      if (impl->self_id == 0) {
        return absl::FailedPreconditionError(
            "this member's peer URLs are not in the cluster: run `member add` first");
      }
      impl->membership->SetClusterId(info->cluster_id(), &b);
      if (auto st = impl->backend->Commit(std::move(b), /*sync=*/true); !st.ok()) return st;
    } else {
      impl->self_id = util::ComputeMemberId(cluster->at(cfg.name), cfg.initial_cluster_token);
      if (auto st = BootstrapFoundingMember(cfg, *cluster, impl->backend.get(),
                                        impl->membership.get(), storage->get());
          !st.ok()) {
        return st;
      }
    }
  } else {
    // A restarted member trusts its data dir, not the --initial-* flags.
    const auto self_urls = cfg.initial_advertise_peer_urls;
    for (const auto& m : impl->membership->List()) {
      if (m.peer_urls == self_urls || m.name == cfg.name) impl->self_id = m.id;
    }
    if (impl->self_id == 0) {
      return absl::FailedPreconditionError(
          "data dir belongs to a member that is not in the cluster (removed?)");
    }
    if (cluster->contains(cfg.name)) {
      spdlog::info("restarting member {} from {}; ignoring --initial-cluster",
                   util::IdToHex(impl->self_id), cfg.data_dir);
    }
  }

  mvcc::Lessor* lessor_ptr = impl->lessor.get();
  impl->applier = std::make_unique<Applier>(
      impl->store.get(), [lessor_ptr](int64_t id) { return lessor_ptr->Lookup(id); }, lessor_ptr);
  impl->alarms = std::make_unique<AlarmStore>(impl->backend.get());
  if (auto st = impl->alarms->Load(); !st.ok()) return st;
  for (const auto& a : impl->alarms->Get(etcdserverpb::NONE)) {
    spdlog::warn("alarm {} of member {:x} is active", etcdserverpb::AlarmType_Name(a.alarm()),
                 a.memberid());
  }
  impl->quota = std::make_unique<BackendQuota>(impl->backend.get(), cfg.quota_backend_bytes);
  if (!impl->quota->enabled()) {
    spdlog::warn("disabled backend quota (--quota-backend-bytes {})", cfg.quota_backend_bytes);
  } else if (impl->quota->limit() > kMaxQuotaBytes) {
    spdlog::warn("quota exceeds the maximum value: --quota-backend-bytes {} > {}",
                 impl->quota->limit(), kMaxQuotaBytes);
  }
  {
    Impl* self = impl.get();
    impl->applier->SetAlarms(impl->alarms.get(), impl->quota.get(), [self] {
      // Apply thread: only queue the proposal (once at a time).
      if (self->raising_nospace.exchange(true)) return;
      RaiseNoSpaceAlarm(&self->deps, [self] { self->raising_nospace = false; });
    });
  }
  RaftMemberOptions mo;
  mo.id = impl->self_id;
  mo.name = cfg.name;
  mo.client_urls = cfg.advertise_client_urls;
  mo.heartbeat_ms = cfg.heartbeat_interval_ms;
  mo.election_ms = cfg.election_timeout_ms;
  mo.snapshot_count = cfg.snapshot_count;
  mo.strict_reconfig_check = cfg.strict_reconfig_check;
  mo.snapshot_dir = (member_dir / "snap").string();
  (*storage)->RelocateSnapshot(mo.snapshot_dir);
  // Leftovers of a crash: a snapshot being written (<term>-<index>.snap.tmp)
  // and files being streamed to clients; no later run reads either.
  transport::SnapshotFileWriter::RemoveStaleTempFiles(mo.snapshot_dir);
  {
    std::error_code ec;
    std::filesystem::remove_all(member_dir / "snap" / "client", ec);
  }
  mo.request_timeout_ms = 5000 + 2 * cfg.election_timeout_ms;
  mo.peer_faults = cfg.peer_faults_for_testing;
  mo.before_snapshot_write = cfg.before_snapshot_write_for_testing;
  Impl* raw = impl.get();
  // Only the leader's lessor tracks expiry; a new leader extends every lease
  // by an election timeout so none expires because of the election.
  const auto election = std::chrono::milliseconds(cfg.election_timeout_ms);
  if (*retention > 0) {
    AutoCompactorOptions ao;
    ao.mode = cfg.auto_compaction_mode == "revision" ? "revision" : "periodic";
    ao.retention = *retention;
    ao.revision_interval_for_testing = cfg.auto_compaction_interval_for_testing;
    mvcc::KvStore* store_ptr = impl->store.get();
    impl->compactor = std::make_unique<AutoCompactor>(
        ao, [store_ptr] { return store_ptr->Rev(); },
        [raw](int64_t rev, const absl::Notification& stop) {
          return ProposeCompaction(raw->member.get(), rev, stop);
        });
  } else if (*retention < 0) {
    spdlog::warn("ignoring negative --auto-compaction-retention {}", cfg.auto_compaction_retention);
  }
  AutoCompactor* compactor_ptr = impl->compactor.get();
  mo.on_leader_change = [lessor_ptr, election, compactor_ptr](bool is_leader) {
    if (is_leader) {
      lessor_ptr->Promote(election);
      if (compactor_ptr != nullptr) compactor_ptr->Resume();
    } else {
      lessor_ptr->Demote();
      if (compactor_ptr != nullptr) compactor_ptr->Pause();
    }
  };
  AlarmStore* alarms_ptr = impl->alarms.get();
  mo.on_state_reloaded = [lessor_ptr, alarms_ptr] {
    if (auto st = alarms_ptr->Load(); !st.ok()) {
      spdlog::critical("cannot reload alarms after a snapshot: {}", std::string(st.message()));
      std::abort();
    }
    if (auto st = lessor_ptr->Reload(); !st.ok()) {
      spdlog::critical("cannot rebuild leases after a snapshot: {}", std::string(st.message()));
      std::abort();
    }
    // The WatchableStore learns of the new state from the KvStore itself.
  };
  mo.on_removed = [raw] {
    // Shut down off the loop thread (Shutdown stops the loop).
    std::thread([raw] { raw->owner->Shutdown(); }).detach();
  };
  auto member = RaftMember::Create(mo, impl->backend.get(), impl->store.get(),
                                   impl->applier.get(), impl->membership.get(),
                                   std::move(*storage));
  if (!member.ok()) return member.status();
  impl->member = std::move(*member);

  transport::TransportOptions to;
  to.cluster_id = impl->membership->cluster_id();
  to.member_id = impl->self_id;
  to.snapshot_dir = (member_dir / "snap" / "recv").string();
  to.peer_credentials = peer_creds;
  const char* link = std::getenv("QUORUM_PEER_RAFT_LINK");
  to.raft_over_tcp = cfg.peer_raft_link_tcp && !(link != nullptr && std::string(link) == "grpc");
  impl->peer_creds = peer_creds;
  impl->transport = transport::Transport::Create(to, impl->member.get());

  impl->deps.config = &impl->config;
  impl->deps.store = impl->store.get();
  impl->deps.backend = impl->backend.get();
  impl->deps.applier = impl->applier.get();
  impl->deps.proposer = impl->member.get();
  impl->deps.member = impl->member.get();
  impl->deps.membership = impl->membership.get();
  impl->deps.self_id = impl->self_id;
  impl->deps.alarms = impl->alarms.get();
  impl->deps.quota = impl->quota.get();
  impl->kv = std::make_unique<KvService>(&impl->deps);
  impl->maintenance = std::make_unique<MaintenanceService>(&impl->deps);
  impl->cluster = std::make_unique<ClusterService>(&impl->deps);
  impl->lease = std::make_unique<LeaseService>(&impl->deps, impl->lessor.get());
  impl->watch = std::make_unique<WatchService>(
      &impl->deps, impl->watchable.get(),
      std::chrono::milliseconds(cfg.watch_progress_notify_interval_ms));
  impl->recipes = std::make_unique<RecipeRuntime>();
  impl->lock = std::make_unique<LockService>(impl->recipes.get());
  impl->election = std::make_unique<ElectionService>(impl->recipes.get());
  impl->cluster_info = std::make_unique<ClusterInfoService>(impl->membership.get(), impl->self_id);
  spdlog::info("member {} (cluster {}) at revision {}, applied index {}, data dir {}",
               util::IdToHex(impl->self_id), util::IdToHex(impl->membership->cluster_id()),
               impl->store->Rev(), impl->store->ConsistentIndex(), cfg.data_dir);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

absl::Status Server::Start() {
  Impl& s = *impl_;
  // Peers first: the member must be reachable before it campaigns.
  {
    grpc::ServerBuilder pb;
    transport::ConfigurePeerServerBuilder(pb);
    for (const auto& u : s.config.listen_peer_urls) {
      auto url = ParseUrl(u);
      std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
      if (url->scheme == "http") {
        auto l = transport::PeerListener::Listen(url->HostPort());
        if (!l.ok()) {
          return absl::UnavailableError(absl::StrCat("failed to listen on --listen-peer-urls ", u,
                                                     ": ", l.status().message()));
        }
        s.peer_listeners.push_back(std::move(*l));
        continue;
      }
      if (url->tls()) {
        auto c = MakeServerCredentials(TlsFiles{s.config.peer_cert_file, s.config.peer_key_file,
                                                s.config.peer_trusted_ca_file,
                                                s.config.peer_client_cert_auth});
        if (!c.ok()) return c.status();
        creds = *c;
      }
      pb.AddListeningPort(url->HostPort(), creds);
    }
    pb.RegisterService(s.transport->service());
    pb.RegisterService(s.cluster_info.get());
    s.peer_server = pb.BuildAndStart();
    if (!s.peer_server) return absl::UnavailableError("failed to listen on --listen-peer-urls");
    for (auto& l : s.peer_listeners) {
      l->Start(s.peer_server.get(), [t = s.transport.get()](int fd) { t->AcceptRaftLink(fd); });
    }
  }
  s.member->Start(s.transport.get());
  s.lease->Start();
  s.removal_watchdog = std::thread([&s] {
    int leaderless_s = 0;
    while (!s.stop_watchdog.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      leaderless_s = s.member->LeaderId() == 0 ? leaderless_s + 1 : 0;
      if (leaderless_s < 3) continue;
      std::vector<std::string> peers;
      for (const auto& m : s.membership->List()) {
        if (m.id != s.self_id) peers.insert(peers.end(), m.peer_urls.begin(), m.peer_urls.end());
      }
      auto info = FetchClusterInfo(peers, s.peer_creds, std::chrono::seconds(1), s.self_id);
      if (info.ok() && info->asker_removed()) {
        spdlog::warn("member {} has been permanently removed from the cluster; stopping",
                     util::IdToHex(s.self_id));
        std::thread([&s] { s.owner->Shutdown(); }).detach();
        return;
      }
    }
  });

  grpc::ServerBuilder builder;
  std::vector<std::unique_ptr<int>> ports;
  for (const auto& u : s.config.listen_client_urls) {
    auto url = ParseUrl(u);
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (url->tls()) {
      auto c = MakeServerCredentials(TlsFiles{s.config.cert_file, s.config.key_file,
                                              s.config.trusted_ca_file, s.config.client_cert_auth});
      if (!c.ok()) return c.status();
      creds = *c;
    }
    ports.push_back(std::make_unique<int>(0));
    builder.AddListeningPort(url->HostPort(), creds, ports.back().get());
  }
  builder.SetMaxReceiveMessageSize(std::max<int>(
      kTransportMaxMessageBytes,
      static_cast<int>(2 * (s.config.max_request_bytes + ServiceDeps::kGrpcOverheadBytes))));
  builder.SetMaxSendMessageSize(INT32_MAX);
  // etcd's keepalive policy (--grpc-keepalive-*), so clients that ping
  // (etcdctl, clientv3) are not disconnected with too_many_pings, and dead
  // connections are found by the server's own pings.
  const auto clamp_ms = [](int64_t ms) { return static_cast<int>(std::min<int64_t>(ms, INT32_MAX)); };
  if (s.config.grpc_keepalive_min_time_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                               clamp_ms(s.config.grpc_keepalive_min_time_ms));
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC allows SO_REUSEPORT by default: a second process could bind our
  // client port and take half the connections. etcd's listener refuses.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (s.config.grpc_keepalive_interval_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, clamp_ms(s.config.grpc_keepalive_interval_ms));
  }
  if (s.config.grpc_keepalive_timeout_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, clamp_ms(s.config.grpc_keepalive_timeout_ms));
  }
  // grpc.health.v1.Health answering SERVING for "" (etcd registers the
  // same); it turns NOT_SERVING when the listener shuts down. Process-wide
  // switch, read when a server is built.
  grpc::EnableDefaultHealthCheckService(true);
  builder.RegisterService(s.kv.get());
  builder.RegisterService(s.maintenance.get());
  builder.RegisterService(s.cluster.get());
  builder.RegisterService(s.lease.get());
  builder.RegisterService(s.watch.get());
  builder.RegisterService(s.lock.get());
  builder.RegisterService(s.election.get());
  s.client_server = builder.BuildAndStart();
  if (!s.client_server) return absl::UnavailableError("failed to listen on --listen-client-urls");
  for (size_t i = 0; i < ports.size(); ++i) {
    auto url = ParseUrl(s.config.listen_client_urls[i]);
    if (*ports[i] == 0) return absl::UnavailableError("failed to bind " + s.config.listen_client_urls[i]);
    s.bound.push_back(absl::StrCat(url->host, ":", *ports[i]));
    spdlog::info("serving client requests on {}", s.bound.back());
  }
  {
    // The v3lock/v3election services run the recipes through a client of
    // this member's first client listener (etcd's use clientv3 likewise).
    auto url = ParseUrl(s.config.listen_client_urls[0]);
    client::ClientOptions co;
    const bool tls = url.ok() && url->tls();
    co.endpoints = {(tls ? "https://" : "http://") + s.bound[0]};
    if (tls) {
      co.tls.insecure_skip_verify = true;  // our own certificate, by address
      if (s.config.client_cert_auth) {
        co.tls.cert_file = s.config.cert_file;
        co.tls.key_file = s.config.key_file;
      }
    }
    if (absl::Status st = s.recipes->Connect(std::move(co)); !st.ok()) return st;
  }
  if (!s.config.listen_metrics_urls.empty()) {
    auto m = http::MetricsServer::Start(
        s.config.listen_metrics_urls,
        TlsFiles{s.config.cert_file, s.config.key_file, s.config.trusted_ca_file,
                 s.config.client_cert_auth},
        &s.deps);
    if (!m.ok()) return m.status();
    s.metrics = std::move(*m);
  }
  if (s.compactor) s.compactor->Start();
  return absl::OkStatus();
}

void Server::Wait() {
  if (impl_->client_server) impl_->client_server->Wait();
  // The client listener stops early in Shutdown; wait for the whole of it.
  impl_->shutdown_done.WaitForNotification();
}

void Server::Shutdown() {
  bool already = false;
  {
    absl::MutexLock lock(&impl_->mu);
    already = impl_->shut_down;
    impl_->shut_down = true;
  }
  if (already) {
    // Another thread (e.g. a removed member stopping itself) is shutting
    // down: return only once it is done, so the caller may destroy us.
    impl_->shutdown_done.WaitForNotification();
    return;
  }
  Impl& s = *impl_;
  s.stop_watchdog.Notify();
  if (s.removal_watchdog.joinable()) {
    if (s.removal_watchdog.get_id() == std::this_thread::get_id()) {
      s.removal_watchdog.detach();
    } else {
      s.removal_watchdog.join();
    }
  }
  // Hand leadership over and stop raft first: every pending request then
  // fails at once with "etcdserver: server stopped" (as etcd's do), so the
  // client listener's shutdown does not wait for raft timeouts.
  if (s.metrics) s.metrics->Stop();
  if (s.compactor) s.compactor->Stop();
  if (s.recipes) s.recipes->Stop();
  if (s.member) s.member->Stop();
  // Nothing applies now: physical compactions still waiting are answered.
  if (s.store) s.store->StopCompactor();
  // Before the client listener: its shutdown waits for open streams, and a
  // keep-alive waiting on an expired lease's revoke would hold its stream
  // until its 5 s deadline. Stop answers those (server stopped) at once;
  // requests arriving meanwhile are answered the same way.
  if (s.lease) s.lease->Stop();
  if (s.client_server) s.client_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  for (auto& l : s.peer_listeners) l->Stop();
  if (s.transport) s.transport->Stop();
  if (s.peer_server) s.peer_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  spdlog::info("member {} stopped", util::IdToHex(s.self_id));
  s.shutdown_done.Notify();
}

std::vector<std::string> Server::BoundClientAddresses() const { return impl_->bound; }
uint64_t Server::MemberId() const { return impl_->self_id; }
uint64_t Server::ClusterId() const { return impl_->membership->cluster_id(); }

}  // namespace quorum::server
