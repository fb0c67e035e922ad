// The raft message link over plain TCP, used between members whose peer
// URLs are http:// (TLS peers keep the gRPC stream, peer_sender.h).
//
// Why not gRPC for this: a replicated put crosses two peer messages on its
// critical path. Over a gRPC stream each costs a hand-off to a gRPC callback
// thread on both ends plus an HTTP/2 WINDOW_UPDATE back (docs/benchmarks.md,
// "Where a single put's time goes"); over a bare socket it is one sendmsg
// and one wake-up of the reading thread.
//
// Wire format (DO NOT CHANGE without a new magic):
//   hello, once, client -> server: "QRMRAFT1" | cluster_id be64 | from be64 | to be64
//   then frames:                   length be32 | raftpb.MessageBatch (length bytes)
// The server never writes; on a bad hello (wrong cluster, not addressed to
// it) it closes the connection. The peer listener (peer_listener.h) tells
// this link from gRPC by the first 8 bytes.
//
// Thread-safety: free functions, no shared state.
#ifndef QUORUM_SERVER_TRANSPORT_TCP_LINK_H_
#define QUORUM_SERVER_TRANSPORT_TCP_LINK_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace quorum::server::transport {

inline constexpr std::string_view kTcpLinkMagic = "QRMRAFT1";
inline constexpr size_t kTcpHelloBytes = 32;
inline constexpr size_t kTcpFrameHeaderBytes = 4;

struct TcpHello {
  uint64_t cluster_id = 0;
  uint64_t from = 0;
  uint64_t to = 0;
};

std::string EncodeTcpHello(const TcpHello& h);
// `bytes` must be kTcpHelloBytes long; fails on a wrong magic.
absl::StatusOr<TcpHello> DecodeTcpHello(std::string_view bytes);

// Appends one frame carrying `payload` (a serialized MessageBatch).
void AppendTcpFrameHeader(std::string* dst, uint32_t payload_len);
uint32_t DecodeTcpFrameLength(const char* header);

// Connects to "host:port" or "[v6]:port" within `timeout`; returns a
// blocking socket with TCP_NODELAY set, or an error. Gives up early
// (CANCELLED) when `cancel_fd` (if >= 0) becomes readable.
absl::StatusOr<int> DialTcp(const std::string& host_port, std::chrono::milliseconds timeout,
                            int cancel_fd = -1);
// The local port `fd` is bound to (0 on error).
int BoundPort(int fd);

// Binds and listens on every address "host:port" resolves to, as gRPC's
// listeners do ("localhost" is often both 127.0.0.1 and ::1); port 0 picks
// one free port for all of them. Addresses this host cannot bind (no IPv6)
// are skipped; one already in use is an error.
absl::StatusOr<std::vector<int>> ListenTcp(const std::string& host_port);

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_TCP_LINK_H_
