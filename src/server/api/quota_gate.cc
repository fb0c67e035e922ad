#include "server/api/quota_gate.h"

#include "server/errors.h"

namespace quorum::server {

void RaiseNoSpaceAlarm(const ServiceDeps* deps, absl::AnyInvocable<void() &&> then) {
  internalpb::InternalRequest ir;
  auto* a = ir.mutable_alarm();
  a->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  a->set_memberid(deps->self_id);
  a->set_alarm(etcdserverpb::NOSPACE);
  deps->proposer->Propose(std::move(ir),
                          [then = std::move(then)](absl::StatusOr<internalpb::InternalResponse>) mutable {
                            std::move(then)();
                          });
}

void FinishNoSpace(grpc::ServerUnaryReactor* reactor) { reactor->Finish(ToGrpcStatus(ErrNoSpace())); }

}  // namespace quorum::server
