// Test helper (integration tests only).
#ifndef QUORUM_TESTS_INTEGRATION_COUNTING_RELAY_H_
#define QUORUM_TESTS_INTEGRATION_COUNTING_RELAY_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::integration {

// CountingRelay: a gRPC server on 127.0.0.1 that serves KV and Watch (all a
// Mutex uses) by forwarding each call to one member, and counts the Range
// calls and watch creates it relays. Lease, Maintenance... are not served.
//
// Thread-safety: counts() from any thread; one gRPC thread per call, plus
// one pump thread per relayed watch stream, all ended by the destructor.
class CountingRelay {
 public:
  struct Counts {
    int64_t ranges = 0;
    int64_t watch_creates = 0;    // create requests sent by the client
    int64_t watches_created = 0;  // created responses from the member
  };

  explicit CountingRelay(const std::string& target) : kv_(target), watch_(kv_.channel) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&kv_);
    b.RegisterService(&watch_);
    server_ = b.BuildAndStart();
  }
  ~CountingRelay() {
    // Cancels the watch streams still open; their handlers end their pumps.
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  CountingRelay(const CountingRelay&) = delete;
  CountingRelay& operator=(const CountingRelay&) = delete;

  bool ok() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Counts counts() const {
    return Counts{kv_.ranges.load(), watch_.creates.load(), watch_.created.load()};
  }

 private:
  class KvRelay final : public etcdserverpb::KV::Service {
   public:
    explicit KvRelay(const std::string& target)
        : channel(grpc::CreateChannel(target, grpc::InsecureChannelCredentials())),
          stub_(etcdserverpb::KV::NewStub(channel)) {}
    grpc::Status Range(grpc::ServerContext* sctx, const etcdserverpb::RangeRequest* req,
                       etcdserverpb::RangeResponse* resp) override {
      ++ranges;
      grpc::ClientContext c;
      c.set_deadline(sctx->deadline());
      return stub_->Range(&c, *req, resp);
    }
    grpc::Status Put(grpc::ServerContext* sctx, const etcdserverpb::PutRequest* req,
                     etcdserverpb::PutResponse* resp) override {
      grpc::ClientContext c;
      c.set_deadline(sctx->deadline());
      return stub_->Put(&c, *req, resp);
    }
    grpc::Status DeleteRange(grpc::ServerContext* sctx, const etcdserverpb::DeleteRangeRequest* req,
                             etcdserverpb::DeleteRangeResponse* resp) override {
      grpc::ClientContext c;
      c.set_deadline(sctx->deadline());
      return stub_->DeleteRange(&c, *req, resp);
    }
    grpc::Status Txn(grpc::ServerContext* sctx, const etcdserverpb::TxnRequest* req,
                     etcdserverpb::TxnResponse* resp) override {
      grpc::ClientContext c;
      c.set_deadline(sctx->deadline());
      return stub_->Txn(&c, *req, resp);
    }

    std::shared_ptr<grpc::Channel> channel;
    std::atomic<int64_t> ranges{0};

   private:
    std::unique_ptr<etcdserverpb::KV::Stub> stub_;
  };

  class WatchRelay final : public etcdserverpb::Watch::Service {
   public:
    explicit WatchRelay(std::shared_ptr<grpc::Channel> channel)
        : stub_(etcdserverpb::Watch::NewStub(std::move(channel))) {}
    grpc::Status Watch(grpc::ServerContext* sctx,
                       grpc::ServerReaderWriter<etcdserverpb::WatchResponse,
                                                etcdserverpb::WatchRequest>* down) override {
      grpc::ClientContext c;
      std::unique_ptr<
          grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
          up = stub_->Watch(&c);
      std::thread pump([&] {
        etcdserverpb::WatchResponse r;
        while (up->Read(&r)) {
          if (r.created()) ++created;
          if (!down->Write(r)) break;
        }
        sctx->TryCancel();  // the member ended the stream: end the client's too
      });
      etcdserverpb::WatchRequest q;
      while (down->Read(&q)) {
        if (q.has_create_request()) ++creates;
        if (!up->Write(q)) break;
      }
      c.TryCancel();
      pump.join();
      return grpc::Status::OK;
    }

    std::atomic<int64_t> creates{0};
    std::atomic<int64_t> created{0};

   private:
    std::unique_ptr<etcdserverpb::Watch::Stub> stub_;
  };

  KvRelay kv_;
  WatchRelay watch_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace quorum::integration

#endif  // QUORUM_TESTS_INTEGRATION_COUNTING_RELAY_H_
