// FakeLease: an etcd Lease service for client unit tests (served by
// TestServer) that answers the first `answered` keep-alives with `ttl` and
// then stops answering -- a member that hangs (SIGSTOP) or a leader that
// cannot be reached, as far as the renewing client can tell. TimeToLive
// reports `ttl` left of a granted `ttl`. Tests only.
#ifndef QUORUM_CLIENT_FAKE_LEASE_H_
#define QUORUM_CLIENT_FAKE_LEASE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"

namespace quorum::client {

class FakeLease final : public etcdserverpb::Lease::Service {
 public:
  FakeLease(int64_t ttl, int answered) : ttl_(ttl), answered_(answered) {}

  grpc::Status LeaseKeepAlive(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<etcdserverpb::LeaseKeepAliveResponse,
                               etcdserverpb::LeaseKeepAliveRequest>* stream) override {
    etcdserverpb::LeaseKeepAliveRequest req;
    while (stream->Read(&req)) {
      if (answered_.fetch_sub(1) > 0) {
        etcdserverpb::LeaseKeepAliveResponse resp;
        resp.set_id(req.id());
        resp.set_ttl(ttl_);
        stream->Write(resp);
        continue;
      }
      ++hung_;
      // Hold the call unanswered until the client gives up (bounded).
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!ctx->IsCancelled() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return grpc::Status(grpc::StatusCode::CANCELLED, "fake: gave up");
    }
    return grpc::Status::OK;
  }

  grpc::Status LeaseTimeToLive(grpc::ServerContext*, const etcdserverpb::LeaseTimeToLiveRequest* req,
                               etcdserverpb::LeaseTimeToLiveResponse* resp) override {
    resp->set_id(req->id());
    resp->set_ttl(ttl_);
    resp->set_grantedttl(ttl_);
    return grpc::Status::OK;
  }

  // Keep-alives received and left unanswered so far.
  int Hung() const { return hung_.load(); }

 private:
  const int64_t ttl_;
  std::atomic<int> answered_;
  std::atomic<int> hung_{0};
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_FAKE_LEASE_H_
