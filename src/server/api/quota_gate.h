// The space quota at the gRPC edge (etcd's quotaKVServer / quotaLeaseServer):
// a Put, Txn or LeaseGrant that would take the backend over
// --quota-backend-bytes is not proposed; this member raises the NOSPACE
// alarm through raft and the call fails with ErrNoSpace once the alarm is
// recorded (so `alarm list` right after shows it). Deletes and reads are
// never checked here.
#ifndef QUORUM_SERVER_API_QUOTA_GATE_H_
#define QUORUM_SERVER_API_QUOTA_GATE_H_

#include <grpcpp/grpcpp.h>

#include "absl/functional/any_invocable.h"
#include "server/api/service_deps.h"

namespace quorum::server {

// Proposes ACTIVATE NOSPACE for this member; `then` runs when it is applied
// or has failed (any thread).
void RaiseNoSpaceAlarm(const ServiceDeps* deps, absl::AnyInvocable<void() &&> then);

void FinishNoSpace(grpc::ServerUnaryReactor* reactor);

// Returns true when the request does not fit and the call has been (or will
// be) finished here with ErrNoSpace.
template <typename Req>
bool RejectOverQuota(const ServiceDeps* deps, const Req& req, grpc::ServerUnaryReactor* reactor) {
  if (deps->quota == nullptr || deps->quota->Available(QuotaCost(req))) return false;
  RaiseNoSpaceAlarm(deps, [reactor] { FinishNoSpace(reactor); });
  return true;
}

}  // namespace quorum::server

#endif  // QUORUM_SERVER_API_QUOTA_GATE_H_
