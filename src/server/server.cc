#include "server/server.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "mvcc/backend/backend.h"
#include "mvcc/kv_store.h"
#include "server/api/kv_service.h"
#include "server/api/maintenance_service.h"
#include "server/api/service_deps.h"
#include "server/apply/applier.h"
#include "server/local_proposer.h"
#include "server/url.h"
#include "util/member_id.h"

namespace quorum::server {

// gRPC core's own receive limit. It is deliberately above etcd's limit
// (max-request-bytes + 512 KiB), which ServiceDeps::CheckWireSize enforces
// with grpc-go's wording; this one only bounds memory per message.
constexpr int kTransportMaxMessageBytes = 64 << 20;

struct Server::Impl {
  ServerConfig config;
  std::unique_ptr<mvcc::Backend> backend;
  std::unique_ptr<mvcc::KvStore> store;
  std::unique_ptr<Applier> applier;
  std::unique_ptr<LocalProposer> proposer;
  ServiceDeps deps;
  std::unique_ptr<KvService> kv;
  std::unique_ptr<MaintenanceService> maintenance;
  std::unique_ptr<ClusterService> cluster;
  std::unique_ptr<grpc::Server> grpc_server;
  std::vector<std::string> bound;

  absl::Mutex mu;
  bool shut_down ABSL_GUARDED_BY(mu) = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig config) {
  auto impl = std::make_unique<Impl>();
  if (config.data_dir.empty()) config.data_dir = config.name + ".etcd";
  if (config.initial_cluster.empty()) {
    for (const auto& u : config.initial_advertise_peer_urls) {
      if (!config.initial_cluster.empty()) config.initial_cluster += ",";
      config.initial_cluster += config.name + "=" + u;
    }
  }
  for (const auto& u : config.listen_client_urls) {
    if (auto p = ParseUrl(u); !p.ok()) return p.status();
  }
  auto cluster = ParseInitialCluster(config.initial_cluster);
  if (!cluster.ok()) return cluster.status();
  if (!cluster->contains(config.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "couldn't find local name \"", config.name, "\" in the initial cluster configuration"));
  }
  impl->config = std::move(config);
  const ServerConfig& cfg = impl->config;

  std::vector<uint64_t> ids;
  for (const auto& [name, urls] : *cluster) {
    MemberInfo m;
    m.name = name;
    m.peer_urls = urls;
    m.id = util::ComputeMemberId(urls, cfg.initial_cluster_token);
    if (name == cfg.name) {
      m.client_urls = cfg.advertise_client_urls;
      impl->deps.self = m;
    }
    ids.push_back(m.id);
    impl->deps.members.push_back(std::move(m));
  }
  impl->deps.cluster_id = util::ComputeClusterId(ids);

  mvcc::BackendOptions bo;
  bo.unsafe_no_fsync = cfg.unsafe_no_fsync;
  auto backend = mvcc::Backend::Open(
      (std::filesystem::path(cfg.data_dir) / "member" / "db").string(), bo);
  if (!backend.ok()) return backend.status();
  impl->backend = std::move(*backend);
  auto store = mvcc::KvStore::Open(impl->backend.get());
  if (!store.ok()) return store.status();
  impl->store = std::move(*store);
  impl->applier = std::make_unique<Applier>(impl->store.get(), LeaseLookup());
  LocalProposer::Options po;
  po.member_id = impl->deps.self.id;
  impl->proposer = std::make_unique<LocalProposer>(impl->store.get(), impl->applier.get(), po);

  impl->deps.config = &impl->config;
  impl->deps.store = impl->store.get();
  impl->deps.backend = impl->backend.get();
  impl->deps.applier = impl->applier.get();
  impl->deps.proposer = impl->proposer.get();
  impl->kv = std::make_unique<KvService>(&impl->deps);
  impl->maintenance = std::make_unique<MaintenanceService>(&impl->deps);
  impl->cluster = std::make_unique<ClusterService>(&impl->deps);
  spdlog::info("opened member {} (cluster {}) at revision {}, data dir {}",
               util::IdToHex(impl->deps.self.id), util::IdToHex(impl->deps.cluster_id),
               impl->store->Rev(), cfg.data_dir);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

absl::Status Server::Start() {
  Impl& s = *impl_;
  grpc::ServerBuilder builder;
  std::vector<std::unique_ptr<int>> ports;
  for (const auto& u : s.config.listen_client_urls) {
    auto url = ParseUrl(u);
    if (!url.ok()) return url.status();
    if (url->tls()) {
      return absl::UnimplementedError("https client URLs need TLS support (issue #4)");
    }
    ports.push_back(std::make_unique<int>(0));
    builder.AddListeningPort(url->HostPort(), grpc::InsecureServerCredentials(), ports.back().get());
  }
  builder.SetMaxReceiveMessageSize(std::max<int>(
      kTransportMaxMessageBytes,
      static_cast<int>(2 * (s.config.max_request_bytes + ServiceDeps::kGrpcOverheadBytes))));
  builder.SetMaxSendMessageSize(INT32_MAX);
  // Match etcd's keepalive enforcement so clients that ping (etcdctl,
  // clientv3) are not disconnected with too_many_pings.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterService(s.kv.get());
  builder.RegisterService(s.maintenance.get());
  builder.RegisterService(s.cluster.get());
  s.grpc_server = builder.BuildAndStart();
  if (!s.grpc_server) return absl::UnavailableError("failed to listen on --listen-client-urls");
  for (size_t i = 0; i < ports.size(); ++i) {
    auto url = ParseUrl(s.config.listen_client_urls[i]);
    if (*ports[i] == 0) return absl::UnavailableError("failed to bind " + s.config.listen_client_urls[i]);
    s.bound.push_back(absl::StrCat(url->host, ":", *ports[i]));
    spdlog::info("serving client requests on {}", s.bound.back());
  }
  return absl::OkStatus();
}

void Server::Wait() {
  if (impl_->grpc_server) impl_->grpc_server->Wait();
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&impl_->mu);
    if (impl_->shut_down) return;
    impl_->shut_down = true;
  }
  if (impl_->grpc_server) {
    impl_->grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  if (impl_->proposer) impl_->proposer->Stop();
  spdlog::info("member {} stopped", util::IdToHex(impl_->deps.self.id));
}

std::vector<std::string> Server::BoundClientAddresses() const { return impl_->bound; }
uint64_t Server::MemberId() const { return impl_->deps.self.id; }
uint64_t Server::ClusterId() const { return impl_->deps.cluster_id; }

}  // namespace quorum::server
