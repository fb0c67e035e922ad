// TcpLinkReceiver: the reading end of raft links (tcp_link.h).
//
// Serve() takes a connection the peer listener classified as a raft link,
// checks its hello (cluster id, addressed to this member; otherwise the
// connection is closed with a warning, as PeerService answers "cluster ID
// mismatch"), and reads it on a thread of its own. All complete frames one
// read returns are handed to Handler::OnMessages in one call, on that thread,
// in order, after dropping messages not addressed to this member and any
// MsgSnap (snapshots only arrive through the gRPC SendSnapshot call).
//
// Thread-safety: thread-safe. Stop() closes every connection and joins the
// threads; no Handler callback runs after it returns; later Serve() calls
// close the connection at once.
#ifndef QUORUM_SERVER_TRANSPORT_TCP_LINK_RECEIVER_H_
#define QUORUM_SERVER_TRANSPORT_TCP_LINK_RECEIVER_H_

#include <cstdint>
#include <list>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/transport/transport.h"

namespace quorum::server::transport {

class TcpLinkReceiver {
 public:
  TcpLinkReceiver(uint64_t cluster_id, uint64_t member_id, Handler* handler);
  ~TcpLinkReceiver();
  TcpLinkReceiver(const TcpLinkReceiver&) = delete;
  TcpLinkReceiver& operator=(const TcpLinkReceiver&) = delete;

  // Takes ownership of `fd` (a connected socket whose unread bytes start
  // with the hello).
  void Serve(int fd);
  void Stop();

 private:
  struct Conn {
    int fd = -1;  // -1 once the reading thread closed it
    bool done = false;
    std::thread thread;
  };
  void Read(Conn* c);
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t cluster_id_;
  const uint64_t member_id_;
  Handler* const handler_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::list<Conn> conns_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_TCP_LINK_RECEIVER_H_
