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
  absl::MutexLock l(&state_->mu);
  state_->client = std::shared_ptr<client::Client>(std::move(*c));
  return absl::OkStatus();
}

absl::Status RecipeRuntime::Run(grpc::CallbackServerContext* ctx, Call fn) {
  std::shared_ptr<client::Client> c;
  {
    absl::MutexLock l(&state_->mu);
    if (state_->stopping) return absl::UnavailableError("etcdserver: server stopped");
    if (!state_->client) return absl::UnavailableError("etcdserver: server not ready");
    if (state_->running >= kMaxCalls) {
      return absl::ResourceExhaustedError("too many lock/election calls");
    }
    ++state_->running;
    c = state_->client;
  }
  std::thread([state = state_, ctx, c, fn = std::move(fn)]() mutable {
    client::concurrency::Wait wait;
    wait.cancelled = [state, ctx] {
      {
        absl::MutexLock l(&state->mu);
        if (state->stopping) return true;
      }
      return ctx->IsCancelled();
    };
    std::move(fn)(*c, wait);
    absl::MutexLock l(&state->mu);
    --state->running;
  }).detach();
  return absl::OkStatus();
}

void RecipeRuntime::Stop() {
  absl::MutexLock l(&state_->mu);
  state_->stopping = true;
  State* st = state_.get();
  auto idle = [st]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(st->mu) { return st->running == 0; };
  state_->mu.AwaitWithTimeout(absl::Condition(&idle), kStopTimeout);
}

}  // namespace quorum::server
