// PeerListener: one http:// --listen-peer-urls address (one socket per
// address its host resolves to) shared by the two
// peer protocols. Each accepted connection is classified by its first bytes:
// a raft link hello (tcp_link.h) goes to the raft link receiver, anything
// else (an HTTP/2 preface) is handed to the peer gRPC server, which then
// serves it as if it had accepted it (snapshots, cluster info, and raft
// messages from members that use the gRPC stream).
//
// TLS peer URLs are not served here: gRPC listens on those itself, and
// members talk to TLS peers over the gRPC stream only.
//
// Thread-safety: Start and Stop from one thread; Stop joins the accept thread
// and the classifying threads; connections already handed over are not
// touched.
#ifndef QUORUM_SERVER_TRANSPORT_PEER_LISTENER_H_
#define QUORUM_SERVER_TRANSPORT_PEER_LISTENER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace quorum::server::transport {

class PeerListener {
 public:
  // Binds and listens on "host:port" now, so the port is taken (or the
  // error reported) before anything starts.
  static absl::StatusOr<std::unique_ptr<PeerListener>> Listen(const std::string& host_port);
  ~PeerListener();

  // Starts accepting. `on_raft_link` takes ownership of a raft link socket.
  void Start(grpc::Server* grpc_server, std::function<void(int fd)> on_raft_link);
  void Stop();
  // The bound port (useful when listening on port 0).
  int port() const;

 private:
  PeerListener(std::vector<int> fds, std::string host_port);
  void Accept();
  // Accepts one connection on `listen_fd` and starts classifying it.
  void Take(int listen_fd);
  void Classify(int fd);

  const std::vector<int> listen_fds_;  // one per address the host resolves to
  const int wake_fd_;
  const std::string host_port_;
  grpc::Server* grpc_server_ = nullptr;
  std::function<void(int)> on_raft_link_;
  std::thread accept_thread_;

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  struct Classifier {
    std::thread thread;
    absl::Notification done;
  };
  std::list<Classifier> classifiers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::server::transport

#endif  // QUORUM_SERVER_TRANSPORT_PEER_LISTENER_H_
