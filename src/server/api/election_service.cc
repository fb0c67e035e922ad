#include "server/api/election_service.h"

#include <deque>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/concurrency/election.h"

namespace quorum::server {
namespace {

using client::concurrency::Election;
using client::concurrency::LeaderEvent;
using client::concurrency::Wait;

// etcd's ErrMissingLeaderKey, checked before anything else (a plain Go
// error: code Unknown).
const grpc::Status kMissingLeaderKey(grpc::StatusCode::UNKNOWN, "\"leader\" field must be provided");

// Server-stream reactor fed by a worker thread. The worker Push()es
// responses and ends with Close(); gRPC's reactions (OnWriteDone, OnCancel,
// OnDone) run on gRPC threads. gRPC calls are never made under mu_ (a
// reaction may run inline). Lifetime: deleted in OnDone, which gRPC runs only
// after Finish -- and Finish is issued by Close(), the worker's last use.
class ObserveReactor final : public grpc::ServerWriteReactor<v3electionpb::LeaderResponse> {
 public:
  // False when the stream cannot take more (write failed, too far behind).
  bool Push(v3electionpb::LeaderResponse r) ABSL_LOCKS_EXCLUDED(mu_) {
    bool start = false;
    {
      absl::MutexLock l(&mu_);
      if (failed_ || queue_.size() >= ElectionService::kMaxQueued) return false;
      queue_.push_back(std::move(r));
      if (!in_flight_) {
        in_flight_ = true;
        current_ = std::move(queue_.front());
        queue_.pop_front();
        start = true;
      }
    }
    if (start) StartWrite(&current_);
    return true;
  }

  void Close(grpc::Status s) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock l(&mu_);
      final_ = std::move(s);
      if (in_flight_) {
        finish_pending_ = true;
        return;
      }
    }
    Finish(final_);
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    bool write = false, finish = false;
    {
      absl::MutexLock l(&mu_);
      if (!ok) {
        failed_ = true;
        queue_.clear();
      }
      if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        write = true;
      } else {
        in_flight_ = false;
        finish = finish_pending_;
      }
    }
    if (write) StartWrite(&current_);
    if (finish) Finish(final_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Mutex mu_;
  std::deque<v3electionpb::LeaderResponse> queue_ ABSL_GUARDED_BY(mu_);
  v3electionpb::LeaderResponse current_;  // the write in flight
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_;
};

}  // namespace

grpc::ServerUnaryReactor* ElectionService::Campaign(grpc::CallbackServerContext* ctx,
                                                    const v3electionpb::CampaignRequest* req,
                                                    v3electionpb::CampaignResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status st = runtime_->Run(ctx, [reactor, req, resp](client::Client& c, const Wait& wait) {
    absl::StatusOr<int64_t> lease = RecipeLease(c, req->lease());
    if (!lease.ok()) {
      reactor->Finish(RecipeStatus(lease.status()));
      return;
    }
    Election e(c, *lease, req->name());
    absl::Status s = e.Campaign(req->value(), wait);
    if (s.ok()) {
      *resp->mutable_header() = e.Header();
      v3electionpb::LeaderKey* l = resp->mutable_leader();
      l->set_name(req->name());
      l->set_key(e.Key());
      l->set_rev(e.Rev());
      l->set_lease(e.Lease());
    }
    reactor->Finish(RecipeStatus(s));
  });
  if (!st.ok()) reactor->Finish(RecipeStatus(st));
  return reactor;
}

grpc::ServerUnaryReactor* ElectionService::Proclaim(grpc::CallbackServerContext* ctx,
                                                    const v3electionpb::ProclaimRequest* req,
                                                    v3electionpb::ProclaimResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!req->has_leader()) {
    reactor->Finish(kMissingLeaderKey);
    return reactor;
  }
  absl::Status st = runtime_->Run(ctx, [reactor, req, resp](client::Client& c, const Wait&) {
    const v3electionpb::LeaderKey& l = req->leader();
    Election e = Election::Resume(c, l.lease(), l.name(), l.key(), l.rev());
    absl::Status s = e.Proclaim(req->value());
    if (s.ok()) *resp->mutable_header() = e.Header();
    reactor->Finish(RecipeStatus(s));
  });
  if (!st.ok()) reactor->Finish(RecipeStatus(st));
  return reactor;
}

grpc::ServerUnaryReactor* ElectionService::Leader(grpc::CallbackServerContext* ctx,
                                                  const v3electionpb::LeaderRequest* req,
                                                  v3electionpb::LeaderResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status st = runtime_->Run(ctx, [reactor, req, resp](client::Client& c, const Wait&) {
    Election e(c, 0, req->name());
    absl::StatusOr<LeaderEvent> l = e.Leader();
    if (l.ok()) {
      *resp->mutable_header() = l->header;
      *resp->mutable_kv() = l->kv;
    }
    reactor->Finish(RecipeStatus(l.status()));
  });
  if (!st.ok()) reactor->Finish(RecipeStatus(st));
  return reactor;
}

grpc::ServerWriteReactor<v3electionpb::LeaderResponse>* ElectionService::Observe(
    grpc::CallbackServerContext* ctx, const v3electionpb::LeaderRequest* req) {
  auto* reactor = new ObserveReactor();
  absl::Status st = runtime_->Run(ctx, [reactor, req](client::Client& c, const Wait& wait) {
    Election e(c, 0, req->name());
    std::unique_ptr<client::concurrency::LeaderObserver> obs = e.Observe();
    absl::Status end;
    for (;;) {
      absl::StatusOr<LeaderEvent> ev = obs->Next(wait);
      if (!ev.ok()) {
        // Compacted: the observer has ended. etcd's Observe then returns nil
        // (clientv3's observe channel closed), ending the stream with OK.
        end = ev.status().code() == absl::StatusCode::kOutOfRange ? absl::OkStatus() : ev.status();
        break;
      }
      v3electionpb::LeaderResponse r;
      *r.mutable_header() = std::move(ev->header);
      *r.mutable_kv() = std::move(ev->kv);
      if (!reactor->Push(std::move(r))) {
        end = absl::ResourceExhaustedError("election: observer too slow");
        break;
      }
    }
    reactor->Close(RecipeStatus(end));
  });
  if (!st.ok()) reactor->Close(RecipeStatus(st));
  return reactor;
}

grpc::ServerUnaryReactor* ElectionService::Resign(grpc::CallbackServerContext* ctx,
                                                  const v3electionpb::ResignRequest* req,
                                                  v3electionpb::ResignResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!req->has_leader()) {
    reactor->Finish(kMissingLeaderKey);
    return reactor;
  }
  absl::Status st = runtime_->Run(ctx, [reactor, req, resp](client::Client& c, const Wait&) {
    const v3electionpb::LeaderKey& l = req->leader();
    Election e = Election::Resume(c, l.lease(), l.name(), l.key(), l.rev());
    absl::Status s = e.Resign();
    if (s.ok()) *resp->mutable_header() = e.Header();
    reactor->Finish(RecipeStatus(s));
  });
  if (!st.ok()) reactor->Finish(RecipeStatus(st));
  return reactor;
}

}  // namespace quorum::server
