// Dialing peers: peer URL parsing, channel construction and the identity
// metadata every peer call carries. Used by PeerSender and SnapshotSender
// (client side) and PeerService (server side reads the same keys).
//
// Thread-safety: free functions, no shared state.
#ifndef QUORUM_SERVER_TRANSPORT_PEER_CHANNEL_H_
#define QUORUM_SERVER_TRANSPORT_PEER_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/transport/transport.h"

namespace quorum::server::transport {

inline constexpr char kClusterIdKey[] = "x-quorum-cluster-id";
inline constexpr char kMemberIdKey[] = "x-quorum-member-id";
inline constexpr char kClusterIdMismatch[] = "cluster ID mismatch";

// Reconnect backoff of both our senders and gRPC's own subchannels.
inline constexpr std::chrono::milliseconds kMinBackoff{50};
inline constexpr std::chrono::milliseconds kMaxBackoff{2000};
// How long one TCP connect + TLS handshake + HTTP/2 settings exchange may take
// (gRPC's GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, which is really a minimum connect
// timeout; its default is 20 s).
inline constexpr std::chrono::milliseconds kConnectTimeout{3000};

// What every sender (messages or snapshots) to one peer needs to know.
struct SenderConfig {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;                               // this member: the sender
  uint64_t peer_id = 0;                                 // the receiver
  std::shared_ptr<grpc::ChannelCredentials> tls_creds;  // for https:// peers
  Handler* handler = nullptr;                           // not owned; outlives the sender
};

struct PeerTarget {
  std::string dial;  // what grpc::CreateChannel takes: "host:port", "[v6]:port", "unix:path"
  bool tls = false;  // https:// or unixs://
};

// "http://127.0.0.1:2380" -> {"127.0.0.1:2380", false}; https/unix/unixs too.
absl::StatusOr<PeerTarget> ParsePeerUrl(const std::string& url);

// A channel to `target`: TLS credentials when target.tls (`tls_creds`, or
// system roots when null), insecure otherwise; fast reconnect backoff.
std::shared_ptr<grpc::Channel> NewPeerChannel(
    const PeerTarget& target, const std::shared_ptr<grpc::ChannelCredentials>& tls_creds);

// The channel a sender uses to reach one peer. Caches the channel to the
// current URL; Failed() moves on to the peer's next URL (when it has more
// than one). Each sender owns its own Dialer, so message streams and
// snapshot streams use separate connections (see NewPeerChannel).
// Thread-safe.
class Dialer {
 public:
  Dialer(uint64_t peer_id, std::vector<std::string> urls,
         std::shared_ptr<grpc::ChannelCredentials> tls_creds);

  // Replaces the URL list; the next Channel() dials the new first URL.
  void SetUrls(std::vector<std::string> urls);
  // Channel to the current URL; nullptr when none of the URLs parses.
  std::shared_ptr<grpc::Channel> Channel();
  // The current channel failed: try the next URL next time.
  void Failed();
  std::string CurrentUrl();

 private:
  const uint64_t peer_id_;
  const std::shared_ptr<grpc::ChannelCredentials> tls_creds_;
  absl::Mutex mu_;
  std::vector<std::string> urls_ ABSL_GUARDED_BY(mu_);
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;                      // index into urls_
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);  // to urls_[current_], or null
};

// Adds the cluster/member identity headers to an outgoing call.
void AddIdentityMetadata(grpc::ClientContext* ctx, uint64_t cluster_id, uint64_t member_id);

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_PEER_CHANNEL_H_
