#include "server/api/recipe_runtime.h"

#include <atomic>
#include <thread>
#include <utility>

#include "client/lease.h"

namespace quorum::server {

absl::StatusOr<int64_t> RecipeLease(client::Client& c, int64_t requested) {
  if (requested != 0) return requested;
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> g =
      client::LeaseClient(c).Grant(kRecipeSessionTtlSeconds);
  if (!g.ok()) return g.status();
  if (!g->error().empty()) return absl::UnknownError(g->error());
  return g->id();
}

RecipeRuntime::~RecipeRuntime() { Stop(); }

absl::Status RecipeRuntime::Connect(client::ClientOptions options) {
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Create(std::move(options));
  if (!c.ok()) return c.status();
  absl::MutexLock l(&mu_);
  client_ = std::shared_ptr<client::Client>(std::move(*c));
  return absl::OkStatus();
}

absl::Status RecipeRuntime::Run(grpc::CallbackServerContext* ctx, Call fn) {
  std::shared_ptr<client::Client> c;
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return absl::UnavailableError("etcdserver: server stopped");
    if (!client_) return absl::UnavailableError("etcdserver: server not ready");
    if (running_ >= kMaxCalls) return absl::ResourceExhaustedError("too many lock/election calls");
    ++running_;
    c = client_;
  }
  std::thread([this, ctx, c, fn = std::move(fn)]() mutable {
    client::concurrency::Wait wait;
    wait.cancelled = [this, ctx] {
      {
        absl::MutexLock l(&mu_);
        if (stopping_) return true;
      }
      return ctx->IsCancelled();
    };
    std::move(fn)(*c, wait);
    absl::MutexLock l(&mu_);
    --running_;
  }).detach();
  return absl::OkStatus();
}

void RecipeRuntime::Stop() {
  absl::MutexLock l(&mu_);
  stopping_ = true;
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; };
  mu_.AwaitWithTimeout(absl::Condition(&idle), kStopTimeout);
}

}  // namespace quorum::server
