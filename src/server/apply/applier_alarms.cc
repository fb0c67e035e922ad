// The alarm side of the Applier: Alarm requests, and the gates etcd's
// corrupt / capped / quota appliers put in front of the normal apply.
#include <spdlog/spdlog.h>

#include "server/apply/applier.h"
#include "server/errors.h"

namespace quorum::server {
namespace {

using internalpb::InternalRequest;

bool RejectedWhenCorrupt(const InternalRequest& r) {
  switch (r.op_case()) {
    case InternalRequest::kPut:
    case InternalRequest::kDeleteRange:
    case InternalRequest::kTxn:
    case InternalRequest::kCompaction:
    case InternalRequest::kLeaseGrant:
    case InternalRequest::kLeaseRevoke:
      return true;
    default:
      return false;
  }
}

// etcd's capped applier: anything that may grow the database.
bool RejectedWhenNoSpace(const InternalRequest& r) {
  switch (r.op_case()) {
    case InternalRequest::kPut:
    case InternalRequest::kLeaseGrant:
      return true;
    case InternalRequest::kTxn:
      return QuotaCost(r.txn()) > 0;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<internalpb::InternalResponse> Applier::Apply(const InternalRequest& req) {
  if (req.op_case() == InternalRequest::kAlarm) {
    auto r = ApplyAlarm(req.alarm());
    if (!r.ok()) return r.status();
    internalpb::InternalResponse out;
    *out.mutable_alarm() = std::move(*r);
    return out;
  }
  if (alarms_ == nullptr) return ApplyOp(req);
  if (alarms_->Has(etcdserverpb::CORRUPT) && RejectedWhenCorrupt(req)) return ErrCorrupt();
  if (alarms_->Has(etcdserverpb::NOSPACE) && RejectedWhenNoSpace(req)) return ErrNoSpace();
  const int64_t cost = quota_ != nullptr ? BackendQuota::CostOf(req) : -1;
  const bool fits = cost < 0 || quota_->Available(cost);
  auto r = ApplyOp(req);
  if (!fits && r.ok()) {
    // As etcd's quota applier: the change is made (every member applies it
    // alike) but the proposer learns the space is gone, and the alarm goes up.
    if (on_no_space_ && !alarms_->Has(etcdserverpb::NOSPACE)) on_no_space_();
    return ErrNoSpace();
  }
  return r;
}

absl::StatusOr<etcdserverpb::AlarmResponse> Applier::ApplyAlarm(
    const etcdserverpb::AlarmRequest& r) {
  if (alarms_ == nullptr) return absl::UnimplementedError("etcdserver: alarms are not enabled");
  etcdserverpb::AlarmResponse resp;
  switch (r.action()) {
    case etcdserverpb::AlarmRequest::GET:
      for (auto& m : alarms_->Get(r.alarm())) *resp.add_alarms() = std::move(m);
      break;
    case etcdserverpb::AlarmRequest::ACTIVATE: {
      const bool was_active = alarms_->Has(r.alarm());
      if (auto m = alarms_->Activate(r.memberid(), r.alarm(), store_->PendingBatch())) {
        *resp.add_alarms() = *m;
        if (!was_active) {
          spdlog::warn("alarm raised: {} by member {:x}", etcdserverpb::AlarmType_Name(r.alarm()),
                       r.memberid());
        }
      }
      break;
    }
    case etcdserverpb::AlarmRequest::DEACTIVATE:
      if (auto m = alarms_->Deactivate(r.memberid(), r.alarm(), store_->PendingBatch())) {
        *resp.add_alarms() = *m;
        if (!alarms_->Has(r.alarm())) {
          spdlog::warn("alarm disarmed: {} of member {:x}",
                       etcdserverpb::AlarmType_Name(r.alarm()), r.memberid());
        }
      }
      break;
    default:
      break;
  }
  return resp;  // no header: etcd 3.4 sends none
}

}  // namespace quorum::server
