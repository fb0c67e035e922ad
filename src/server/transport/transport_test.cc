// In-process tests of the peer transport: two or three Transports, each
// served by its own grpc::Server on 127.0.0.1 (port 0), talking over real
// gRPC. Every wait is bounded.
#include "server/transport/transport.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "internal/peer.grpc.pb.h"
#include "server/transport/peer_listener.h"
#include "server/transport/server_options.h"
#include "server/transport/tcp_link.h"
#include "server/transport/snapshot_file_writer.h"

namespace quorum::server::transport {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr absl::Duration kWait = absl::Seconds(10);
constexpr uint64_t kCluster = 0x1234;

class RecordingHandler : public Handler {
 public:
  void OnMessages(std::vector<raftpb::Message> msgs) override {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(
        +[](bool* blocked) { return !*blocked; }, &blocked_));
    batches_.push_back(std::move(msgs));
  }
  void Block(bool b) {
    absl::MutexLock l(&mu_);
    blocked_ = b;
  }
  void ReportUnreachable(uint64_t peer_id) override {
    absl::MutexLock l(&mu_);
    unreachable_.push_back(peer_id);
  }
  void ReportSnapshot(uint64_t peer_id, bool ok) override {
    absl::MutexLock l(&mu_);
    snapshots_.emplace_back(peer_id, ok);
  }

  // Waits until pred() (called under the lock) holds; false on timeout.
  bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout = kWait) {
    absl::MutexLock l(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&pred), timeout);
  }
  std::vector<raftpb::Message> Messages() {
    absl::MutexLock l(&mu_);
    return MessagesLocked();
  }
  std::vector<raftpb::Message> MessagesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<raftpb::Message> out;
    for (const auto& b : batches_) out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  size_t CountLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    size_t n = 0;
    for (const auto& b : batches_) n += b.size();
    return n;
  }

  absl::Mutex mu_;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;  // OnMessages waits while set
  std::vector<std::vector<raftpb::Message>> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> unreachable_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, bool>> snapshots_ ABSL_GUARDED_BY(mu_);
};

// Which raft message link the test runs over (the test's parameter):
// false = the gRPC stream, true = the TCP link behind a PeerListener.
bool g_tcp_link = false;

// One member's transport and its peer listener.
class Node {
 public:
  Node(uint64_t id, uint64_t cluster_id, const fs::path& root, size_t max_queued = 4096)
      : id_(id),
        cluster_id_(cluster_id),
        dir_(root / ("m" + std::to_string(id))),
        max_queued_(max_queued) {
    fs::create_directories(dir_);
  }
  ~Node() { Down(); }

  // Starts (or restarts) the transport and listener; port 0 picks a free port
  // the first time, later restarts reuse it.
  void Up() {
    TransportOptions opts;
    opts.cluster_id = cluster_id_;
    opts.member_id = id_;
    opts.snapshot_dir = (dir_ / "snap").string();
    opts.max_queued_messages_per_peer = max_queued_;
    opts.peer_credentials = client_creds_;
    opts.raft_over_tcp = g_tcp_link;
    transport_ = Transport::Create(opts, &handler_);
    grpc::ServerBuilder b;
    ConfigurePeerServerBuilder(b);
    if (g_tcp_link && !server_creds_) {
      // As the Server does for http:// peer URLs: one socket, both protocols.
      auto l = PeerListener::Listen("127.0.0.1:" + std::to_string(port_));
      ASSERT_TRUE(l.ok()) << l.status();
      listener_ = std::move(*l);
      port_ = listener_->port();
      b.RegisterService(transport_->service());
      server_ = b.BuildAndStart();
      ASSERT_NE(server_, nullptr);
      listener_->Start(server_.get(), [t = transport_.get()](int fd) { t->AcceptRaftLink(fd); });
      return;
    }
    int bound = 0;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port_),
                       server_creds_ ? server_creds_ : grpc::InsecureServerCredentials(), &bound);
    b.RegisterService(transport_->service());
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(bound, 0);
    port_ = bound;
  }

  void Down() {
    if (listener_) listener_->Stop();
    listener_.reset();
    if (transport_) transport_->Stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 2s);
    server_.reset();
    transport_.reset();
  }

  std::string url() const {
    return (server_creds_ ? "https" : "http") + std::string("://127.0.0.1:") +
           std::to_string(port_);
  }
  void Connect(Node& other) { transport_->AddPeer(other.id_, {other.url()}); }

  uint64_t id_;
  uint64_t cluster_id_;
  fs::path dir_;
  size_t max_queued_;
  int port_ = 0;
  // TLS (https:// URLs) when set.
  std::shared_ptr<grpc::ServerCredentials> server_creds_;
  std::shared_ptr<grpc::ChannelCredentials> client_creds_;
  RecordingHandler handler_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerListener> listener_;
};

raftpb::Message Msg(uint64_t from, uint64_t to, uint64_t index,
                    raftpb::MessageType type = raftpb::MsgApp) {
  raftpb::Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(7);
  m.set_index(index);
  auto* e = m.add_entries();
  e->set_term(7);
  e->set_index(index + 1);
  e->set_data("payload-" + std::to_string(index));
  return m;
}

class TransportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    g_tcp_link = GetParam();
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    root_ = fs::temp_directory_path() /
            ("quorum_transport_test_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

TEST_P(TransportTest, MessagesArriveInOrderAndBatched) {
  Node a(1, kCluster, root_), b(2, kCluster, root_);
  a.Up();
  b.Up();
  a.Connect(b);
  b.Connect(a);

  // One Send of 100 messages is drained as one frame: one OnMessages call.
  std::vector<raftpb::Message> burst;
  for (uint64_t i = 1; i <= 100; ++i) burst.push_back(Msg(1, 2, i));
  a.transport_->Send(std::move(burst));
  for (uint64_t i = 101; i <= 300; i += 10) {
    std::vector<raftpb::Message> ms;
    for (uint64_t j = i; j < i + 10; ++j) ms.push_back(Msg(1, 2, j));
    a.transport_->Send(std::move(ms));
  }
  b.transport_->Send({Msg(2, 1, 5, raftpb::MsgAppResp)});

  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 300; }));
  ASSERT_TRUE(a.handler_.WaitFor([&] { return a.handler_.CountLocked() >= 1; }));

  std::vector<raftpb::Message> got = b.handler_.Messages();
  ASSERT_EQ(got.size(), 300u);
  for (uint64_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index(), i + 1);
    EXPECT_EQ(got[i].from(), 1u);
    EXPECT_EQ(got[i].to(), 2u);
    EXPECT_EQ(got[i].type(), raftpb::MsgApp);
    ASSERT_EQ(got[i].entries_size(), 1);
    EXPECT_EQ(got[i].entries(0).data(), "payload-" + std::to_string(i + 1));
  }
  {
    absl::MutexLock l(&b.handler_.mu_);
    EXPECT_LT(b.handler_.batches_.size(), 300u);
    EXPECT_GE(b.handler_.batches_.front().size(), 100u);
    EXPECT_TRUE(b.handler_.unreachable_.empty());
  }
  EXPECT_EQ(a.handler_.Messages().front().type(), raftpb::MsgAppResp);
}

TEST_P(TransportTest, ThreeMembersAndUnknownPeers) {
  Node a(1, kCluster, root_), b(2, kCluster, root_), c(3, kCluster, root_);
  a.Up();
  b.Up();
  c.Up();
  for (Node* x : {&a, &b, &c}) {
    for (Node* y : {&a, &b, &c}) {
      if (x != y) x->Connect(*y);
    }
  }
  // One Send fans out to both peers; the message to an unknown peer is dropped.
  a.transport_->Send({Msg(1, 2, 1), Msg(1, 3, 1), Msg(1, 99, 1), Msg(1, 2, 2), Msg(1, 3, 2)});
  c.transport_->Send({Msg(3, 2, 10, raftpb::MsgHeartbeatResp)});
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 3; }));
  ASSERT_TRUE(c.handler_.WaitFor([&] { return c.handler_.CountLocked() >= 2; }));
  auto at_c = c.handler_.Messages();
  ASSERT_EQ(at_c.size(), 2u);
  EXPECT_EQ(at_c[0].index(), 1u);
  EXPECT_EQ(at_c[1].index(), 2u);
  size_t from_a = 0;
  for (const auto& m : b.handler_.Messages()) {
    if (m.from() == 1) {
      EXPECT_EQ(m.index(), ++from_a);
    }
  }
  EXPECT_EQ(from_a, 2u);

  // A removed peer gets nothing more; re-adding it works again.
  a.transport_->RemovePeer(3);
  a.transport_->Send({Msg(1, 3, 3)});
  a.transport_->AddPeer(3, {c.url()});
  a.transport_->Send({Msg(1, 3, 4)});
  ASSERT_TRUE(c.handler_.WaitFor([&] { return c.handler_.CountLocked() >= 3; }));
  EXPECT_EQ(c.handler_.Messages().back().index(), 4u);
}

TEST_P(TransportTest, ClusterIdMismatchIsRejected) {
  Node a(1, kCluster, root_), intruder(2, kCluster + 1, root_);
  a.Up();
  intruder.Up();
  intruder.Connect(a);

  // The first write may be buffered before the rejection arrives; keep
  // sending until the sender notices.
  uint64_t i = 0;
  auto deadline = absl::Now() + kWait;
  bool reported = false;
  while (!reported && absl::Now() < deadline) {
    intruder.transport_->Send({Msg(2, 1, ++i)});
    reported = intruder.handler_.WaitFor([&] { return !intruder.handler_.unreachable_.empty(); },
                                         absl::Milliseconds(50));
  }
  EXPECT_TRUE(reported);
  {
    absl::MutexLock l(&a.handler_.mu_);
    EXPECT_TRUE(a.handler_.batches_.empty());
  }

  // What the server answers, seen directly.
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(a.port_),
                                     grpc::InsecureChannelCredentials());
  auto stub = peerpb::RaftPeer::NewStub(channel);
  for (const char* cluster : std::vector<const char*>{"4661", nullptr, "not-a-number"}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    if (cluster != nullptr) ctx.AddMetadata("x-quorum-cluster-id", cluster);
    ctx.AddMetadata("x-quorum-member-id", "2");
    peerpb::StreamAck ack;
    auto w = stub->Stream(&ctx, &ack);
    raftpb::MessageBatch batch;
    *batch.add_messages() = Msg(2, 1, 1);
    w->Write(batch);
    grpc::Status st = w->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(st.error_message(), "cluster ID mismatch");
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    ctx.AddMetadata("x-quorum-cluster-id", std::to_string(kCluster + 1));
    peerpb::SnapshotAck ack;
    auto w = stub->SendSnapshot(&ctx, &ack);
    w->WritesDone();
    grpc::Status st = w->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  absl::MutexLock l(&a.handler_.mu_);
  EXPECT_TRUE(a.handler_.batches_.empty());
}

TEST_P(TransportTest, ReconnectsAfterPeerComesUp) {
  Node a(1, kCluster, root_), b(2, kCluster, root_);
  a.Up();
  b.Up();  // to learn a free port
  b.Down();
  a.Connect(b);

  uint64_t i = 0;
  auto deadline = absl::Now() + kWait;
  bool reported = false;
  while (!reported && absl::Now() < deadline) {
    a.transport_->Send({Msg(1, 2, ++i, raftpb::MsgHeartbeat)});
    reported = a.handler_.WaitFor([&] { return !a.handler_.unreachable_.empty(); },
                                  absl::Milliseconds(20));
  }
  ASSERT_TRUE(reported);
  {
    absl::MutexLock l(&a.handler_.mu_);
    EXPECT_EQ(a.handler_.unreachable_.front(), 2u);
  }

  b.Up();  // same port
  deadline = absl::Now() + kWait;
  bool arrived = false;
  while (!arrived && absl::Now() < deadline) {
    a.transport_->Send({Msg(1, 2, ++i, raftpb::MsgHeartbeat)});
    arrived =
        b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 5; }, absl::Milliseconds(20));
  }
  ASSERT_TRUE(arrived);
  auto got = b.handler_.Messages();
  for (size_t k = 1; k < got.size(); ++k) EXPECT_LT(got[k - 1].index(), got[k].index());

  // And again after a restart of the receiver mid-stream.
  b.Down();
  b.Up();
  size_t before = b.handler_.Messages().size();
  deadline = absl::Now() + kWait;
  arrived = false;
  while (!arrived && absl::Now() < deadline) {
    a.transport_->Send({Msg(1, 2, ++i, raftpb::MsgHeartbeat)});
    arrived = b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= before + 1; },
                                 absl::Milliseconds(20));
  }
  EXPECT_TRUE(arrived);
}

TEST_P(TransportTest, UpdatePeerRedials) {
  Node a(1, kCluster, root_), b(2, kCluster, root_), b2(2, kCluster, root_ / "elsewhere");
  a.Up();
  b.Up();
  a.Connect(b);
  a.transport_->Send({Msg(1, 2, 1)});
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 1; }));
  // Member 2 moves to another address.
  b.Down();
  b2.Up();
  a.transport_->UpdatePeer(2, {b2.url()});
  uint64_t i = 1;
  auto deadline = absl::Now() + kWait;
  bool arrived = false;
  while (!arrived && absl::Now() < deadline) {
    a.transport_->Send({Msg(1, 2, ++i)});
    arrived =
        b2.handler_.WaitFor([&] { return b2.handler_.CountLocked() >= 1; }, absl::Milliseconds(20));
  }
  EXPECT_TRUE(arrived);
  // UpdatePeer of an unknown member adds it.
  a.transport_->RemovePeer(2);
  a.transport_->UpdatePeer(2, {b2.url()});
  size_t before = b2.handler_.Messages().size();
  a.transport_->Send({Msg(1, 2, 1000)});
  ASSERT_TRUE(b2.handler_.WaitFor([&] { return b2.handler_.CountLocked() > before; }));
  EXPECT_EQ(b2.handler_.Messages().back().index(), 1000u);
}

TEST_P(TransportTest, FullQueueDropsAndReportsUnreachable) {
  Node a(1, kCluster, root_, /*max_queued=*/4), b(2, kCluster, root_);
  a.Up();
  b.Up();
  a.Connect(b);
  a.transport_->Send({Msg(1, 2, 0)});
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 1; }));

  // The receiver stops reading: flow control blocks the sender's write and
  // its queue fills up.
  b.handler_.Block(true);
  const std::string payload(1 << 20, 'x');
  constexpr uint64_t kCount = 64;
  for (uint64_t i = 1; i <= kCount; ++i) {
    raftpb::Message m = Msg(1, 2, i);
    m.mutable_entries(0)->set_data(payload);
    a.transport_->Send({std::move(m)});
  }
  std::this_thread::sleep_for(300ms);
  b.handler_.Block(false);

  ASSERT_TRUE(a.handler_.WaitFor([&] { return !a.handler_.unreachable_.empty(); }));
  // What did arrive is in order, and some of it was dropped.
  std::vector<raftpb::Message> got;
  auto deadline = absl::Now() + absl::Seconds(2);
  while (absl::Now() < deadline) {
    got = b.handler_.Messages();
    std::this_thread::sleep_for(50ms);
    if (got.size() == b.handler_.Messages().size()) break;  // settled
  }
  EXPECT_LT(got.size(), kCount + 1);
  for (size_t k = 1; k < got.size(); ++k) EXPECT_LT(got[k - 1].index(), got[k].index());
  // And the stream still works afterwards.
  a.transport_->Send({Msg(1, 2, kCount + 1)});
  ASSERT_TRUE(b.handler_.WaitFor([&] {
    auto all = b.handler_.MessagesLocked();
    return !all.empty() && all.back().index() == kCount + 1;
  }));
}

// A receiver that stops reading for longer than the write-stall timeout gets
// its stream cancelled; the sender reports it unreachable and reconnects.
TEST_P(TransportTest, StalledWriteIsCancelled) {
  Node a(1, kCluster, root_), b(2, kCluster, root_);
  a.Up();
  b.Up();
  a.Connect(b);
  a.transport_->Send({Msg(1, 2, 0)});
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 1; }));

  b.handler_.Block(true);
  // Timed from before the sends: the stall may begin while they are queued.
  const auto start = absl::Now();
  const std::string payload(1 << 20, 'x');
  // The TCP link holds up to 16 MiB besides the kernel's socket buffers
  // (about 4 MiB); more would be dropped (and reported) before any stall.
  const uint64_t count = g_tcp_link ? 14 : 64;
  for (uint64_t i = 1; i <= count; ++i) {
    raftpb::Message m = Msg(1, 2, i);
    m.mutable_entries(0)->set_data(payload);
    a.transport_->Send({std::move(m)});
  }
  ASSERT_TRUE(a.handler_.WaitFor([&] { return !a.handler_.unreachable_.empty(); }));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(4500));  // not before the 5 s stall timeout
  b.handler_.Block(false);

  uint64_t i = 1000;
  auto deadline = absl::Now() + kWait;
  bool arrived = false;
  while (!arrived && absl::Now() < deadline) {
    a.transport_->Send({Msg(1, 2, ++i)});
    arrived = b.handler_.WaitFor(
        [&] {
          auto all = b.handler_.MessagesLocked();
          return !all.empty() && all.back().index() > 1000;
        },
        absl::Milliseconds(50));
  }
  EXPECT_TRUE(arrived);
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

raftpb::Message SnapMsg(uint64_t from, uint64_t to, const std::string& path, uint64_t term,
                        uint64_t index) {
  raftpb::Message m;
  m.set_type(raftpb::MsgSnap);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  m.mutable_snapshot()->set_data(path);
  auto* meta = m.mutable_snapshot()->mutable_metadata();
  meta->set_term(term);
  meta->set_index(index);
  meta->mutable_conf_state()->add_voters(1);
  meta->mutable_conf_state()->add_voters(2);
  return m;
}

TEST_P(TransportTest, SnapshotArrivesIntact) {
  Node a(1, kCluster, root_), b(2, kCluster, root_);
  a.Up();
  b.Up();
  a.Connect(b);

  const std::string content = RandomBytes((3 << 20) + 12345, 42);
  const std::string src = (a.dir_ / "outgoing.snap").string();
  {
    std::ofstream out(src, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  // Regular messages around it still flow.
  a.transport_->Send({Msg(1, 2, 1), SnapMsg(1, 2, src, 3, 42), Msg(1, 2, 2)});

  ASSERT_TRUE(a.handler_.WaitFor([&] { return !a.handler_.snapshots_.empty(); }));
  {
    absl::MutexLock l(&a.handler_.mu_);
    EXPECT_EQ(a.handler_.snapshots_.front(), std::make_pair(uint64_t{2}, true));
  }
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 3; }));
  raftpb::Message snap;
  for (const auto& m : b.handler_.Messages()) {
    if (m.type() == raftpb::MsgSnap) snap = m;
  }
  ASSERT_EQ(snap.type(), raftpb::MsgSnap);
  EXPECT_EQ(snap.from(), 1u);
  EXPECT_EQ(snap.snapshot().metadata().term(), 3u);
  EXPECT_EQ(snap.snapshot().metadata().index(), 42u);
  EXPECT_EQ(snap.snapshot().metadata().conf_state().voters_size(), 2);
  const std::string& path = snap.snapshot().data();
  EXPECT_EQ(fs::path(path).parent_path(), b.dir_ / "snap");
  EXPECT_EQ(fs::path(path).filename(), "0000000000000003-000000000000002a.snap");
  EXPECT_TRUE(ReadFile(path) == content) << "snapshot bytes differ";
  EXPECT_TRUE(ReadFile(src) == content) << "sender's file was modified";
  for (const auto& e : fs::directory_iterator(b.dir_ / "snap")) {
    EXPECT_EQ(e.path().string(), path) << "stray file";
  }
}

TEST_P(TransportTest, SnapshotFailuresAreReported) {
  Node a(1, kCluster, root_), b(2, kCluster, root_);
  a.Up();
  b.Up();
  a.Connect(b);

  // Missing file.
  a.transport_->Send({SnapMsg(1, 2, (a.dir_ / "nope.snap").string(), 1, 1)});
  ASSERT_TRUE(a.handler_.WaitFor([&] { return a.handler_.snapshots_.size() >= 1; }));

  // Receiver down.
  const std::string src = (a.dir_ / "s.snap").string();
  {
    std::ofstream out(src, std::ios::binary);
    out << "snapshot";
  }
  b.Down();
  a.transport_->Send({SnapMsg(1, 2, src, 1, 2)});
  ASSERT_TRUE(a.handler_.WaitFor([&] { return a.handler_.snapshots_.size() >= 2; }));
  absl::MutexLock l(&a.handler_.mu_);
  EXPECT_EQ(a.handler_.snapshots_[0], std::make_pair(uint64_t{2}, false));
  EXPECT_EQ(a.handler_.snapshots_[1], std::make_pair(uint64_t{2}, false));
}

// Bad peers: truncated or out-of-order snapshot chunks, snapshots for another
// member, MsgSnap on the message stream, messages for another member.
TEST_P(TransportTest, BadPeerInputIsRejected) {
  Node a(1, kCluster, root_);
  a.Up();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(a.port_),
                                     grpc::InsecureChannelCredentials());
  auto stub = peerpb::RaftPeer::NewStub(channel);
  auto send_snapshot = [&](const std::vector<peerpb::SnapshotChunk>& chunks) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    ctx.AddMetadata("x-quorum-cluster-id", std::to_string(kCluster));
    ctx.AddMetadata("x-quorum-member-id", "2");
    peerpb::SnapshotAck ack;
    auto w = stub->SendSnapshot(&ctx, &ack);
    for (const auto& c : chunks) {
      if (!w->Write(c)) break;
    }
    w->WritesDone();
    return w->Finish();
  };
  peerpb::SnapshotChunk header;
  *header.mutable_message() = SnapMsg(2, 1, "", 1, 5);
  header.set_total_size(10);
  peerpb::SnapshotChunk first;
  first.set_offset(0);
  first.set_data("01234");
  peerpb::SnapshotChunk gap;
  gap.set_offset(7);
  gap.set_data("789");
  peerpb::SnapshotChunk trailer;
  trailer.set_offset(5);
  trailer.set_done(true);

  EXPECT_EQ(send_snapshot({header, first}).error_code(),
            grpc::StatusCode::DATA_LOSS);  // no trailer
  EXPECT_EQ(send_snapshot({header, first, trailer}).error_code(),
            grpc::StatusCode::DATA_LOSS);  // short
  EXPECT_EQ(send_snapshot({header, first, gap, trailer}).error_code(),
            grpc::StatusCode::DATA_LOSS);  // gap
  peerpb::SnapshotChunk bad_crc = trailer;
  bad_crc.set_data("56789");
  bad_crc.set_crc32c(1);
  EXPECT_EQ(send_snapshot({header, first, bad_crc}).error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(send_snapshot({first}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(send_snapshot({}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  peerpb::SnapshotChunk not_ours = header;
  not_ours.mutable_message()->set_to(9);
  EXPECT_EQ(send_snapshot({not_ours}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    ctx.AddMetadata("x-quorum-cluster-id", std::to_string(kCluster));
    peerpb::StreamAck ack;
    auto w = stub->Stream(&ctx, &ack);
    raftpb::MessageBatch batch;
    *batch.add_messages() = SnapMsg(2, 1, "/etc/passwd", 1, 1);  // must come via SendSnapshot
    *batch.add_messages() = Msg(2, 9, 1);                        // not for us
    *batch.add_messages() = Msg(2, 1, 77);                       // fine
    EXPECT_TRUE(w->Write(batch));
    w->WritesDone();
    EXPECT_TRUE(w->Finish().ok());
  }
  ASSERT_TRUE(a.handler_.WaitFor([&] { return a.handler_.CountLocked() >= 1; }));
  auto got = a.handler_.Messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].index(), 77u);
  // No partial files left behind, and the member keeps serving.
  for (const auto& e : fs::directory_iterator(a.dir_ / "snap")) {
    ADD_FAILURE() << "stray file " << e.path();
  }
}

TEST_P(TransportTest, StopWhileStreamingDoesNotHang) {
  Node a(1, kCluster, root_), b(2, kCluster, root_);
  a.Up();
  b.Up();
  a.Connect(b);
  b.Connect(a);

  // A big snapshot in flight too.
  const std::string src = (a.dir_ / "big.snap").string();
  {
    std::ofstream out(src, std::ios::binary);
    std::string block = RandomBytes(1 << 20, 7);
    for (int k = 0; k < 64; ++k)
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  std::atomic<bool> done{false};
  std::thread pump([&] {
    uint64_t i = 0;
    while (!done) {
      std::vector<raftpb::Message> ms;
      for (int k = 0; k < 50; ++k) ms.push_back(Msg(1, 2, ++i));
      a.transport_->Send(std::move(ms));
      b.transport_->Send({Msg(2, 1, i, raftpb::MsgAppResp)});
      std::this_thread::sleep_for(1ms);
    }
  });
  a.transport_->Send({SnapMsg(1, 2, src, 2, 1000)});
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 500; }));

  auto stopped = std::async(std::launch::async, [&] {
    a.transport_->Stop();
    b.transport_->Stop();
    a.transport_->Stop();  // twice is fine
  });
  EXPECT_EQ(stopped.wait_for(10s), std::future_status::ready);
  done = true;
  pump.join();
  // Sends after Stop are dropped quietly.
  a.transport_->Send({Msg(1, 2, 1)});
  auto down = std::async(std::launch::async, [&] {
    a.Down();
    b.Down();
  });
  EXPECT_EQ(down.wait_for(10s), std::future_status::ready);
}

TEST_P(TransportTest, DestructorStopsWithoutExplicitStop) {
  Node a(1, kCluster, root_), b(2, kCluster, root_);
  a.Up();
  b.Up();
  a.Connect(b);
  a.transport_->Send({Msg(1, 2, 1)});
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 1; }));
  auto fut = std::async(std::launch::async, [&] {
    a.transport_.reset();  // destroys a live transport: server still up, peer connected
    a.server_->Shutdown(std::chrono::system_clock::now() + 2s);
    a.server_.reset();
  });
  EXPECT_EQ(fut.wait_for(10s), std::future_status::ready);
}

// Makes a CA and one peer certificate (serverAuth + clientAuth, SAN
// 127.0.0.1) with the openssl CLI. False when openssl is unavailable.
bool MakePeerCerts(const fs::path& dir) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) return false;
  std::ofstream(dir / "ext.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                    "extendedKeyUsage=serverAuth,clientAuth\n";
  std::string d = dir.string();
  std::string cmd =
      "cd '" + d +
      "' && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
      "-out ca.crt -subj /CN=quorum-test-ca -days 2 "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout peer.key "
      "-out peer.csr -subj /CN=peer && "
      "openssl x509 -req -in peer.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile ext.cnf -out peer.crt";
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

TEST_P(TransportTest, HttpsPeersUseTls) {
  if (!MakePeerCerts(root_)) GTEST_SKIP() << "openssl CLI not available";
  std::string ca = ReadFile((root_ / "ca.crt").string());
  std::string key = ReadFile((root_ / "peer.key").string());
  std::string cert = ReadFile((root_ / "peer.crt").string());
  grpc::SslServerCredentialsOptions sopts(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  sopts.pem_root_certs = ca;
  sopts.pem_key_cert_pairs.push_back({key, cert});
  grpc::SslCredentialsOptions copts;
  copts.pem_root_certs = ca;
  copts.pem_private_key = key;
  copts.pem_cert_chain = cert;

  Node a(1, kCluster, root_), b(2, kCluster, root_);
  for (Node* n : {&a, &b}) {
    n->server_creds_ = grpc::SslServerCredentials(sopts);
    n->client_creds_ = grpc::SslCredentials(copts);
    n->Up();
  }
  a.Connect(b);
  b.Connect(a);
  const std::string src = (a.dir_ / "tls.snap").string();
  const std::string content = RandomBytes((1 << 20) + 7, 9);
  {
    std::ofstream out(src, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  a.transport_->Send({Msg(1, 2, 1), Msg(1, 2, 2), SnapMsg(1, 2, src, 4, 9)});
  b.transport_->Send({Msg(2, 1, 1, raftpb::MsgAppResp)});
  ASSERT_TRUE(b.handler_.WaitFor([&] { return b.handler_.CountLocked() >= 3; }));
  ASSERT_TRUE(a.handler_.WaitFor([&] { return a.handler_.CountLocked() >= 1; }));
  ASSERT_TRUE(a.handler_.WaitFor([&] { return !a.handler_.snapshots_.empty(); }));
  {
    absl::MutexLock l(&a.handler_.mu_);
    EXPECT_EQ(a.handler_.snapshots_.front(), std::make_pair(uint64_t{2}, true));
    EXPECT_TRUE(a.handler_.unreachable_.empty());
  }
  for (const auto& m : b.handler_.Messages()) {
    if (m.type() == raftpb::MsgSnap) {
      EXPECT_TRUE(ReadFile(m.snapshot().data()) == content);
    }
  }

  // A peer without a client certificate is refused by the TLS handshake.
  Node plain(3, kCluster, root_);
  plain.client_creds_ = grpc::SslCredentials(grpc::SslCredentialsOptions{ca, "", ""});
  plain.Up();
  plain.transport_->AddPeer(2, {b.url()});
  bool reported = false;
  auto deadline = absl::Now() + kWait;
  while (!reported && absl::Now() < deadline) {
    plain.transport_->Send({Msg(3, 2, 1)});
    reported = plain.handler_.WaitFor([&] { return !plain.handler_.unreachable_.empty(); },
                                      absl::Milliseconds(50));
  }
  EXPECT_TRUE(reported);
  for (const auto& m : b.handler_.Messages()) {
    EXPECT_NE(m.from(), 3u);
  }
}

INSTANTIATE_TEST_SUITE_P(Links, TransportTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return std::string(p.param ? "TcpLink" : "GrpcStream");
                         });

// The TCP link's receiving end, driven with a raw socket: whatever a
// connection sends that is not a well-formed link closes it, and nothing of
// it reaches the handler.
class TcpLinkInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_tcp_link = true;
    root_ = fs::temp_directory_path() /
            ("quorum_tcp_link_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    node_ = std::make_unique<Node>(1, kCluster, root_);
    node_->Up();
  }
  void TearDown() override {
    node_.reset();
    fs::remove_all(root_);
  }
  int Dial() {
    auto fd = DialTcp("127.0.0.1:" + std::to_string(node_->port_), 3000ms);
    EXPECT_TRUE(fd.ok()) << fd.status();
    return fd.ok() ? *fd : -1;
  }
  static void SendAll(int fd, const std::string& s) {
    ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  // True when the server closes `fd` (EOF, or a reset when it left our
  // bytes unread) within the wait; whatever it writes first is skipped.
  static bool ClosedByServer(int fd) {
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    while (true) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n > 0) continue;
      return n == 0 || errno == ECONNRESET;
    }
  }
  static std::string Frame(const raftpb::MessageBatch& b) {
    std::string out;
    std::string body = b.SerializeAsString();
    AppendTcpFrameHeader(&out, static_cast<uint32_t>(body.size()));
    return out + body;
  }

  fs::path root_;
  std::unique_ptr<Node> node_;
};

TEST_F(TcpLinkInputTest, WellFormedLinkDeliversAndFiltersMessages) {
  int fd = Dial();
  SendAll(fd, EncodeTcpHello({kCluster, 2, 1}));
  raftpb::MessageBatch b;
  *b.add_messages() = Msg(2, 1, 1);
  *b.add_messages() = Msg(2, 3, 2);  // not for this member: dropped
  *b.add_messages() = Msg(2, 1, 3, raftpb::MsgSnap);  // snapshots only via gRPC: dropped
  *b.add_messages() = Msg(2, 1, 4);
  *b.add_messages() = Msg(5, 1, 5);  // another member's id on member 2's link: dropped
  raftpb::Message no_term = Msg(2, 1, 6, raftpb::MsgHeartbeat);
  no_term.set_term(0);  // raft sends only forwarded proposals and reads without a term
  *b.add_messages() = no_term;
  raftpb::Message empty_prop = Msg(2, 1, 7, raftpb::MsgProp);
  empty_prop.set_term(0);
  empty_prop.clear_entries();  // raft aborts on a proposal without entries
  *b.add_messages() = empty_prop;
  raftpb::Message prop = Msg(2, 1, 8, raftpb::MsgProp);
  prop.set_term(0);  // a follower's forwarded proposal: kept
  *b.add_messages() = prop;
  raftpb::Message empty_read = Msg(2, 1, 9, raftpb::MsgReadIndex);
  empty_read.set_term(0);
  empty_read.clear_entries();  // raft reads the context from entries(0)
  *b.add_messages() = empty_read;
  raftpb::Message read = Msg(2, 1, 10, raftpb::MsgReadIndex);
  read.set_term(0);  // a follower's forwarded read: kept
  *b.add_messages() = read;
  // Split mid-frame: the receiver waits for the rest.
  const std::string f = Frame(b) + Frame(b);
  SendAll(fd, f.substr(0, 7));
  std::this_thread::sleep_for(50ms);
  SendAll(fd, f.substr(7));
  ASSERT_TRUE(node_->handler_.WaitFor([&] { return node_->handler_.CountLocked() >= 8; }));
  auto got = node_->handler_.Messages();
  ASSERT_EQ(got.size(), 8u);
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(got[4 * round].index(), 1u);
    EXPECT_EQ(got[4 * round + 1].index(), 4u);
    EXPECT_EQ(got[4 * round + 2].index(), 8u);
    EXPECT_EQ(got[4 * round + 3].index(), 10u);
  }
  close(fd);
}

// A frame header may claim up to 64 MiB; memory must follow the bytes that
// actually come, or a few connections could exhaust it.
TEST_F(TcpLinkInputTest, ClaimedFrameLengthDoesNotAllocateUpFront) {
  auto rss_kb = [] {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    }
    return -1LL;
  };
  const long long before = rss_kb();
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) {
    int fd = Dial();
    SendAll(fd, EncodeTcpHello({kCluster, 2, 1}));
    std::string h;
    AppendTcpFrameHeader(&h, static_cast<uint32_t>(kMaxPeerMessageBytes) - 1);
    SendAll(fd, h + std::string(100, 'x'));
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(300ms);
  const long long grown = rss_kb() - before;
  EXPECT_LT(grown, 32 * 1024) << "RSS grew by " << grown << " KiB for 4 claimed 64 MiB frames";
  for (int fd : fds) close(fd);
}

TEST_F(TcpLinkInputTest, BadHelloOrFrameClosesTheConnection) {
  {
    SCOPED_TRACE("other cluster");
    int fd = Dial();
    SendAll(fd, EncodeTcpHello({kCluster + 1, 2, 1}));
    SendAll(fd, Frame([] { raftpb::MessageBatch b; *b.add_messages() = Msg(2, 1, 1); return b; }()));
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  {
    SCOPED_TRACE("addressed to another member");
    int fd = Dial();
    SendAll(fd, EncodeTcpHello({kCluster, 2, 7}));
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  {
    SCOPED_TRACE("frame larger than the limit");
    int fd = Dial();
    SendAll(fd, EncodeTcpHello({kCluster, 2, 1}));
    std::string h;
    AppendTcpFrameHeader(&h, static_cast<uint32_t>(kMaxPeerMessageBytes) + 1);
    SendAll(fd, h);
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  {
    SCOPED_TRACE("frame that is not a MessageBatch");
    int fd = Dial();
    SendAll(fd, EncodeTcpHello({kCluster, 2, 1}));
    std::string h;
    AppendTcpFrameHeader(&h, 3);
    SendAll(fd, h + "\xff\xff\xff");
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  {
    SCOPED_TRACE("neither a link nor HTTP/2 (handed to gRPC, which drops it)");
    int fd = Dial();
    SendAll(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  {
    absl::MutexLock l(&node_->handler_.mu_);
    EXPECT_TRUE(node_->handler_.batches_.empty());
  }
  // The listener still serves both protocols afterwards.
  int fd = Dial();
  SendAll(fd, EncodeTcpHello({kCluster, 2, 1}));
  SendAll(fd, Frame([] { raftpb::MessageBatch b; *b.add_messages() = Msg(2, 1, 9); return b; }()));
  ASSERT_TRUE(node_->handler_.WaitFor([&] { return node_->handler_.CountLocked() == 1; }));
  close(fd);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(node_->port_),
                                     grpc::InsecureChannelCredentials());
  EXPECT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + 10s));
}

// Removing a peer whose host does not answer (its SYNs go unanswered: a
// listener with a full accept queue here) must not wait out the 3 s dial:
// RemovePeer runs on the raft thread, which must keep sending heartbeats.
TEST_F(TcpLinkInputTest, RemovingAPeerCutsItsDialShort) {
  auto ls = ListenTcp("127.0.0.1:0");
  ASSERT_TRUE(ls.ok()) << ls.status();
  ASSERT_EQ(ls->size(), 1u);
  const int l = ls->front();
  ASSERT_EQ(listen(l, 0), 0);
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string target = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  // Fill the accept queue: later connects hang in SYN_SENT.
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(100ms);
  auto probe = DialTcp(target, 500ms);
  ASSERT_FALSE(probe.ok()) << "precondition: a connect beyond the full backlog hangs";
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kUnavailable) << probe.status();
  node_->transport_->AddPeer(3, {"http://" + target});
  node_->transport_->Send({Msg(1, 3, 1)});
  std::this_thread::sleep_for(300ms);  // the sender is now inside its dial
  const auto start = std::chrono::steady_clock::now();
  node_->transport_->RemovePeer(3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  for (int fd : fillers) close(fd);
  close(l);
}

// As gRPC's listeners do, a peer URL whose host resolves to several
// addresses ("localhost": 127.0.0.1 and often ::1) is served on all of them,
// on one port; an address already taken is an error, not skipped.
TEST(PeerListenerTest, ListensOnEveryAddressOfTheHostOnOnePort) {
  auto l = PeerListener::Listen("localhost:0");
  ASSERT_TRUE(l.ok()) << l.status();
  const int port = (*l)->port();
  ASSERT_GT(port, 0);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  ASSERT_EQ(getaddrinfo("localhost", std::to_string(port).c_str(), &hints, &res), 0);
  int addresses = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char host[64] = {0};
    getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), nullptr, 0, NI_NUMERICHOST);
    const std::string target = ai->ai_family == AF_INET6
                                   ? "[" + std::string(host) + "]:" + std::to_string(port)
                                   : std::string(host) + ":" + std::to_string(port);
    auto fd = DialTcp(target, 2000ms);
    EXPECT_TRUE(fd.ok()) << target << ": " << fd.status();
    if (fd.ok()) close(*fd);
    ++addresses;
  }
  freeaddrinfo(res);
  EXPECT_GE(addresses, 1);
  std::printf("localhost has %d address(es), all served on port %d\n", addresses, port);
  // The same port again is in use.
  auto again = PeerListener::Listen("127.0.0.1:" + std::to_string(port));
  EXPECT_FALSE(again.ok());
  (*l)->Stop();
  // Stop frees the port.
  auto after = PeerListener::Listen("127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_F(TcpLinkInputTest, StopClosesOpenLinksAndReturns) {
  int fd = Dial();
  SendAll(fd, EncodeTcpHello({kCluster, 2, 1}));
  SendAll(fd, Frame([] { raftpb::MessageBatch b; *b.add_messages() = Msg(2, 1, 1); return b; }()));
  ASSERT_TRUE(node_->handler_.WaitFor([&] { return node_->handler_.CountLocked() == 1; }));
  int silent = Dial();  // never sends a byte: still being classified
  const auto start = std::chrono::steady_clock::now();
  node_->Down();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(ClosedByServer(fd));
  close(fd);
  close(silent);
}

TEST(SnapshotFileWriterTest, NamesAndStaleTempFiles) {
  EXPECT_EQ(SnapshotFileWriter::FinalName(3, 42), "0000000000000003-000000000000002a.snap");
  EXPECT_EQ(SnapshotFileWriter::IndexOfName(SnapshotFileWriter::FinalName(3, 42)), 42u);
  EXPECT_FALSE(SnapshotFileWriter::IndexOfName("0000000000000003-000000000000002a.snap.tmp.1"));
  EXPECT_FALSE(SnapshotFileWriter::IndexOfName("0000000000000003-00000000000000zz.snap"));
  fs::path dir = fs::temp_directory_path() / ("quorum_sfw_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    auto w = SnapshotFileWriter::Create(dir.string(), 1, 2, 3);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(0, "abc").ok());
    EXPECT_FALSE((*w)->Append(3, "d").ok());  // past the size
    auto crc_bad = (*w)->Commit(0);
    EXPECT_FALSE(crc_bad.ok());
  }
  EXPECT_TRUE(fs::is_empty(dir));  // uncommitted temp file removed
  { std::ofstream(dir / "0000000000000001-0000000000000002.snap.tmp.7") << "x"; }
  { std::ofstream(dir / "keep.snap") << "x"; }
  SnapshotFileWriter::RemoveStaleTempFiles(dir.string());
  EXPECT_FALSE(fs::exists(dir / "0000000000000001-0000000000000002.snap.tmp.7"));
  EXPECT_TRUE(fs::exists(dir / "keep.snap"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace quorum::server::transport
