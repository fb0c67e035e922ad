#include "server/http/health_check.h"

#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace quorum::server::http {

HealthVerdict CheckHealth(const ServiceDeps& deps, absl::Duration read_timeout) {
  for (const auto& a : deps.alarms->Get(etcdserverpb::NONE)) {
    return {false, "/health error due to an alarm memberID:" + std::to_string(a.memberid()) +
                       " alarm:" + etcdserverpb::AlarmType_Name(a.alarm())};
  }
  if (deps.proposer->LeaderId() == 0) return {false, "/health error; no leader (status code 503)"};
  // The barrier may answer after we gave up: its state outlives this call.
  struct Wait {
    absl::Notification done;
    absl::Mutex mu;
    absl::Status status ABSL_GUARDED_BY(mu);
  };
  auto wait = std::make_shared<Wait>();
  deps.proposer->ReadBarrier([wait](absl::Status s) {
    {
      absl::MutexLock l(&wait->mu);
      wait->status = std::move(s);
    }
    wait->done.Notify();
  });
  if (!wait->done.WaitForNotificationWithTimeout(read_timeout)) {
    return {false, "/health error; QGET failed context deadline exceeded (status code 503)"};
  }
  absl::MutexLock l(&wait->mu);
  if (!wait->status.ok()) {
    return {false, "/health error; QGET failed " + std::string(wait->status.message()) +
                       " (status code 503)"};
  }
  return {};
}

}  // namespace quorum::server::http
