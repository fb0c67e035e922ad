// etcdserverpb.KV over gRPC's callback API: reads are answered inline from
// the published state; writes are validated, proposed, and answered when the
// proposer reports them applied (no thread waits meanwhile).
#ifndef QUORUM_SERVER_API_KV_SERVICE_H_
#define QUORUM_SERVER_API_KV_SERVICE_H_

#include "etcdserverpb/rpc.grpc.pb.h"
#include "server/api/service_deps.h"

namespace quorum::server {

// Range is registered raw (grpc::ByteBuffer in and out): a plain range's
// key-values go into the response as stored (range_response_encoder.h).
using KvServiceBase = etcdserverpb::KV::WithRawCallbackMethod_Range<
    etcdserverpb::KV::WithCallbackMethod_Put<etcdserverpb::KV::WithCallbackMethod_DeleteRange<
        etcdserverpb::KV::WithCallbackMethod_Txn<
            etcdserverpb::KV::WithCallbackMethod_Compact<etcdserverpb::KV::Service>>>>>;

class KvService final : public KvServiceBase {
 public:
  explicit KvService(const ServiceDeps* deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw,
                                  grpc::ByteBuffer* resp) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx,
                                const etcdserverpb::PutRequest* req,
                                etcdserverpb::PutResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* ctx,
                                        const etcdserverpb::DeleteRangeRequest* req,
                                        etcdserverpb::DeleteRangeResponse* resp) override;
  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* ctx,
                                const etcdserverpb::TxnRequest* req,
                                etcdserverpb::TxnResponse* resp) override;
  grpc::ServerUnaryReactor* Compact(grpc::CallbackServerContext* ctx,
                                    const etcdserverpb::CompactionRequest* req,
                                    etcdserverpb::CompactionResponse* resp) override;

 private:
  // Proposes `req`; on success `extract` moves the result into the response.
  template <typename Resp, typename Extract>
  void ProposeAndReply(grpc::ServerUnaryReactor* reactor, internalpb::InternalRequest req,
                       Resp* resp, Extract extract);

  // Answers a read now (serializable) or after a ReadIndex barrier;
  // `read` returns StatusOr<Resp> from the published state.
  template <typename Resp, typename Read>
  void ServeRead(grpc::ServerUnaryReactor* reactor, bool serializable, Resp* resp, Read read);

  const ServiceDeps* deps_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_KV_SERVICE_H_
