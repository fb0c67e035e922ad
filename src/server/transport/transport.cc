// Transport: routes outgoing messages to per-peer senders (PeerSender for
// the message stream, SnapshotSender for MsgSnap) and serves incoming ones
// through PeerService. A monitor thread cancels writes that stall.
#include "server/transport/transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/transport/peer_channel.h"
#include "server/transport/peer_sender.h"
#include "server/transport/peer_service.h"
#include "server/transport/snapshot_file_writer.h"
#include "server/transport/snapshot_sender.h"
#include "server/transport/tcp_link_receiver.h"
#include "server/transport/tcp_peer_sender.h"

namespace quorum::server::transport {
namespace {

constexpr auto kMonitorInterval = std::chrono::milliseconds(500);

class TransportImpl final : public Transport {
  struct Peer;

 public:
  TransportImpl(TransportOptions opts, Handler* handler)
      : opts_(std::move(opts)),
        handler_(handler),
        service_(PeerServiceConfig{opts_.cluster_id, opts_.member_id, opts_.snapshot_dir},
                 handler),
        links_(opts_.cluster_id, opts_.member_id, handler) {
    SnapshotFileWriter::RemoveStaleTempFiles(opts_.snapshot_dir);
    monitor_ = std::thread([this] { Monitor(); });
  }
  ~TransportImpl() override { Stop(); }

  grpc::Service* service() override { return &service_; }

  void AcceptRaftLink(int fd) override { links_.Serve(fd); }

  void AddPeer(uint64_t id, const std::vector<std::string>& peer_urls) override {
    if (id == opts_.member_id) return;
    std::optional<Peer> replaced;
    InstallPeer(id, peer_urls, &replaced);
    // Outside mu_: Stop() joins the sender's thread.
    if (replaced) replaced->Stop();
  }

  void UpdatePeer(uint64_t id, const std::vector<std::string>& peer_urls) override {
    // Same as AddPeer: an unknown peer is added.
    AddPeer(id, peer_urls);
  }

  void RemovePeer(uint64_t id) override {
    Peer p;
    {
      absl::MutexLock l(&mu_);
      auto it = peers_.find(id);
      if (it == peers_.end()) return;
      p = std::move(it->second);
      peers_.erase(it);
    }
    // Outside mu_: Stop() joins threads that call the handler.
    p.Stop();
    spdlog::info("removed peer {:x}", id);
  }

  void Send(std::vector<raftpb::Message> msgs) override {
    // One pass: each peer's messages in order, MsgSnap to its snapshot sender.
    // The message senders write on this thread (see PeerSender), so they are
    // called outside mu_: one peer's write never holds up another's, nor the monitor.
    std::vector<std::pair<std::shared_ptr<PeerSender>, std::vector<raftpb::Message>>> sends;
    std::vector<std::pair<std::shared_ptr<TcpPeerSender>, std::vector<raftpb::Message>>> links;
    std::vector<uint64_t> snaps_dropped;
    {
      absl::MutexLock l(&mu_);
      if (stopped_) return;
      for (auto& m : msgs) {
        auto it = peers_.find(m.to());
        if (it == peers_.end()) {
          spdlog::debug("dropping {} to unknown peer {:x}", raftpb::MessageType_Name(m.type()),
                        m.to());
          if (m.type() == raftpb::MsgSnap) snaps_dropped.push_back(m.to());
          continue;
        }
        if (m.type() == raftpb::MsgSnap) {
          it->second.snaps->Enqueue(std::move(m));
          continue;
        }
        if (it->second.tcp) {
          AddTo(&links, it->second.tcp, std::move(m));
        } else {
          AddTo(&sends, it->second.msgs, std::move(m));
        }
      }
    }
    // A sender removed meanwhile is stopped and ignores what it is given.
    for (auto& [sender, plain] : sends) sender->Enqueue(std::move(plain));
    for (auto& [link, plain] : links) link->Enqueue(std::move(plain));
    // Raft waits for every snapshot's outcome before sending that peer more.
    for (uint64_t to : snaps_dropped) handler_->ReportSnapshot(to, /*ok=*/false);
  }

  void Stop() override {
    absl::MutexLock stop_lock(&stop_mu_);  // a second Stop() waits for the first
    absl::flat_hash_map<uint64_t, Peer> peers;
    {
      absl::MutexLock l(&mu_);
      if (stopped_) return;
      stopped_ = true;
      peers.swap(peers_);
    }
    if (monitor_.joinable()) monitor_.join();
    for (auto& [id, p] : peers) p.Stop();
    service_.Stop();
    links_.Stop();
    spdlog::info("peer transport of member {:x} stopped", opts_.member_id);
  }

 private:
  // Adds or updates the peer under mu_; a sender of the wrong kind is moved
  // to `replaced` for the caller to stop.
  void InstallPeer(uint64_t id, const std::vector<std::string>& peer_urls,
                     std::optional<Peer>* replaced) {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
    const bool tcp = opts_.raft_over_tcp && TcpPeerSender::CanServe(peer_urls);
    if (auto it = peers_.find(id); it != peers_.end()) {
      if (tcp == (it->second.tcp != nullptr)) {
        if (tcp) {
          it->second.tcp->SetUrls(peer_urls);
        } else {
          it->second.msgs->SetUrls(peer_urls);
        }
        it->second.snaps->SetUrls(peer_urls);
        return;
      }
      // The kind of link changes (e.g. http -> https): start over.
      replaced->emplace(std::move(it->second));
      peers_.erase(it);
    }
    SenderConfig cfg{opts_.cluster_id, opts_.member_id, id, opts_.peer_credentials, handler_};
    Peer p;
    if (tcp) {
      p.tcp = std::make_shared<TcpPeerSender>(cfg, peer_urls);
    } else {
      p.msgs = std::make_shared<PeerSender>(cfg, peer_urls, opts_.max_queued_messages_per_peer);
    }
    p.snaps = std::make_unique<SnapshotSender>(cfg, peer_urls);
    peers_.emplace(id, std::move(p));
    spdlog::info("added peer {:x} at {}", id, peer_urls.empty() ? "" : peer_urls.front());
  }

  // Appends `m` to `sender`'s messages in `groups` (one entry per sender,
  // in order of first use).
  template <typename Sender>
  static void AddTo(
      std::vector<std::pair<std::shared_ptr<Sender>, std::vector<raftpb::Message>>>* groups,
      const std::shared_ptr<Sender>& sender, raftpb::Message m) {
    auto slot = std::find_if(groups->begin(), groups->end(),
                             [&](const auto& g) { return g.first == sender; });
    if (slot == groups->end()) slot = groups->emplace(groups->end(), sender, std::vector<raftpb::Message>());
    slot->second.push_back(std::move(m));
  }

  struct Peer {
    std::shared_ptr<PeerSender> msgs;    // gRPC stream, or
    std::shared_ptr<TcpPeerSender> tcp;  // TCP link; shared with Send() in progress
    std::unique_ptr<SnapshotSender> snaps;
    void Stop() {
      if (msgs) msgs->Stop();
      if (tcp) tcp->Stop();
      snaps->Stop();
    }
  };

  void Monitor() {
    absl::MutexLock l(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopped_), absl::FromChrono(kMonitorInterval))) {
      auto now = std::chrono::steady_clock::now();
      for (auto& [id, p] : peers_) {
        if (p.msgs) p.msgs->CancelIfStalled(now);
        p.snaps->CancelIfStalled(now);
      }
    }
  }

  const TransportOptions opts_;
  Handler* const handler_;
  PeerService service_;
  TcpLinkReceiver links_;
  std::thread monitor_;

  absl::Mutex stop_mu_;  // serializes Stop(); acquired before mu_
  absl::Mutex mu_;       // acquired before any sender's own mutex
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<uint64_t, Peer> peers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Transport> Transport::Create(TransportOptions opts, Handler* handler) {
  return std::make_unique<TransportImpl>(std::move(opts), handler);
}

}  // namespace quorum::server::transport
