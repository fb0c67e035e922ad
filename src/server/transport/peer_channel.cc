#include "server/transport/peer_channel.h"

#include <spdlog/spdlog.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace quorum::server::transport {

absl::StatusOr<PeerTarget> ParsePeerUrl(const std::string& url) {
  auto pos = url.find("://");
  if (pos == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("peer URL has no scheme: ", url));
  }
  std::string scheme = url.substr(0, pos);
  std::string rest = url.substr(pos + 3);
  PeerTarget t;
  if (scheme == "unix" || scheme == "unixs") {
    if (rest.empty()) return absl::InvalidArgumentError(absl::StrCat("empty unix peer URL: ", url));
    t.dial = absl::StrCat(std::string("unix:"), rest);
    t.tls = scheme == "unixs";
    return t;
  }
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("peer URL scheme must be http, https, unix or unixs: ", url));
  }
  t.tls = scheme == "https";
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  // host:port or [v6]:port; the port is required (etcd's peer URLs always have one).
  auto colon = rest.rfind(':');
  auto bracket = rest.rfind(']');
  if (colon == std::string::npos || colon == 0 ||
      (bracket != std::string::npos && colon < bracket)) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer URL address does not have the form \"host:port\": ", url));
  }
  int port = 0;
  if (!absl::SimpleAtoi(rest.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port in peer URL: ", url));
  }
  t.dial = rest;
  return t;
}

std::shared_ptr<grpc::Channel> NewPeerChannel(
    const PeerTarget& target, const std::shared_ptr<grpc::ChannelCredentials>& tls_creds) {
  grpc::ChannelArguments args;
  // gRPC's own subchannel backoff defaults to 1 s growing to 120 s: far too
  // slow to notice a restarted peer. Match our sender backoff instead.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(kMinBackoff.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(kConnectTimeout.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(kMaxBackoff.count()));
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  // A private subchannel per channel: a stuck connection of one peer sender
  // never leaks into another one (or into the snapshot sender's channel).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (target.tls) {
    creds = tls_creds ? tls_creds : grpc::SslCredentials(grpc::SslCredentialsOptions());
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(target.dial, creds, args);
}

Dialer::Dialer(uint64_t peer_id, std::vector<std::string> urls,
               std::shared_ptr<grpc::ChannelCredentials> tls_creds)
    : peer_id_(peer_id), tls_creds_(std::move(tls_creds)), urls_(std::move(urls)) {}

void Dialer::SetUrls(std::vector<std::string> urls) {
  absl::MutexLock l(&mu_);
  if (urls == urls_) return;
  urls_ = std::move(urls);
  current_ = 0;
  channel_.reset();
}

std::shared_ptr<grpc::Channel> Dialer::Channel() {
  absl::MutexLock l(&mu_);
  if (channel_) return channel_;
  for (size_t tried = 0; tried < urls_.size(); ++tried) {
    const std::string& url = urls_[current_];
    auto target = ParsePeerUrl(url);
    if (target.ok()) {
      channel_ = NewPeerChannel(*target, tls_creds_);
      return channel_;
    }
    spdlog::error("peer {:x}: skipping bad peer URL: {}", peer_id_,
                  std::string(target.status().message()));
    current_ = (current_ + 1) % urls_.size();
  }
  return nullptr;
}

void Dialer::Failed() {
  absl::MutexLock l(&mu_);
  // With a single URL keep the channel: gRPC reconnects it by itself (with
  // the backoff NewPeerChannel configures) and keeps its resolver state.
  if (urls_.size() <= 1) return;
  current_ = (current_ + 1) % urls_.size();
  channel_.reset();
}

std::string Dialer::CurrentUrl() {
  absl::MutexLock l(&mu_);
  return urls_.empty() ? std::string() : urls_[current_];
}

void AddIdentityMetadata(grpc::ClientContext* ctx, uint64_t cluster_id, uint64_t member_id) {
  ctx->AddMetadata(kClusterIdKey, std::to_string(cluster_id));
  ctx->AddMetadata(kMemberIdKey, std::to_string(member_id));
}

}  // namespace quorum::server::transport
