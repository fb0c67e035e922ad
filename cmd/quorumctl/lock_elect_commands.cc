// lock and elect: etcdctl 3.4's lock_command.go / elect_command.go behaviour
// (arguments, output, ETCD_LOCK_KEY/ETCD_LOCK_REV, Ctrl-C releases the lock
// or resigns and exits 0), carried out through the server's v3lockpb.Lock and
// v3electionpb.Election services with a session lease this process keeps
// alive (concurrency::Session). etcdctl runs the same recipe client-side;
// the keys ("<name>/<lease hex>") and their order are the same, so holders
// from both tools (and C++ Mutex users) exclude each other.
//
// What is printed matches etcdctl: after acquiring, the lock / leader key as
// `get` prints it (every -w format); `elect -l` prints each leader as a get
// response holding that one key-value.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/concurrency/session.h"
#include "client/errors.h"
#include "client/kv.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/exec_command.h"
#include "cmd/quorumctl/interrupt.h"
#include "v3electionpb/v3election.grpc.pb.h"
#include "v3lockpb/v3lock.grpc.pb.h"

namespace quorum::ctl {
namespace {

using client::concurrency::Session;
using client::concurrency::SessionOptions;

// A channel to the endpoint the Client would use now, for calls that block
// without a deadline (Lock, Campaign, Observe) and must be cancellable.
std::shared_ptr<grpc::Channel> PickChannel(client::Client& c) {
  std::shared_ptr<grpc::Channel> channel;
  absl::Status s = c.Invoke<etcdserverpb::ResponseHeader>(
                        client::Idempotency::kIdempotent,
                        [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext*,
                            etcdserverpb::ResponseHeader*) {
                          channel = ch;
                          return grpc::Status::OK;
                        })
                       .status();
  if (!s.ok()) ExitWithError(kExitError, ErrorText(s));
  return channel;
}

// How many times `lock` asks again under a new session when its session was
// lost while it waited.
constexpr int kMaxLostLockSessions = 3;

// concurrency.WithTTL ignores ttl <= 0.
int64_t SessionTtl(int64_t ttl) { return ttl > 0 ? ttl : 60; }

std::unique_ptr<Session> MustSession(Context& ctx, int64_t ttl) {
  SessionOptions o;
  o.ttl_s = SessionTtl(ttl);
  auto s = Session::Create(ctx.Client(), o);
  if (!s.ok()) ExitWithError(kExitError, ErrorText(s.status()));
  return *std::move(s);
}

// Prints the key as `get <key>` would (etcdctl's display.Get after c.Get).
void PrintKey(Context& ctx, const std::string& key) {
  auto resp = client::KvClient(ctx.Client()).Get(key, {});
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  if (resp->kvs_size() == 0) ExitWithError(kExitError, "lock lost on init");
  ctx.printer->Get(*resp);
  std::fflush(stdout);
}

// The failure of a blocking call: "context canceled" after Ctrl-C.
[[noreturn]] void ExitCall(const Interrupt& intr, const grpc::Status& s) {
  if (intr.Fired()) ExitWithError(kExitError, "context canceled");
  ExitWithError(kExitError, ErrorText(client::FromGrpcStatus(s)));
}

// Runs a blocking Lock/Campaign call under `session`'s lease, cancellable by
// Ctrl-C. A call that failed with UNAVAILABLE (its member died, or the
// connection to it broke) is sent again, to whichever endpoint PickChannel
// finds, under a NEW session. Why not the same lease: the server keys the
// wait by it ("<name>/<lease hex>"), and if the first attempt's member is
// still alive, its recipe deletes that key once it notices the call is gone
// (etcd's recipes release the key of a failed wait). A repeat under the same
// lease would find and adopt that key, and could lose it while holding the
// lock. The old session is revoked (best effort; otherwise its lease
// expires). Ends when all endpoints stay unreachable for a command timeout
// (PickChannel, or the new session, exits), when the lease is gone
// (NotFound), or on Ctrl-C (then `session` may be null).
grpc::Status CallRetryingUnavailable(
    Context& ctx, Interrupt& intr, std::unique_ptr<Session>& session, int64_t ttl,
    const std::function<grpc::Status(grpc::ClientContext*, int64_t lease)>& rpc) {
  bool relogged = false;
  for (;;) {
    grpc::ClientContext call;
    ctx.Client().AttachToken(&call);
    intr.CancelOnInterrupt(&call);
    grpc::Status s = rpc(&call, session->Lease());
    intr.CancelOnInterrupt(nullptr);
    // A stale token (it expired while we waited, e.g. behind a long-held
    // lock): the server refused the call before it ran, so log in again and
    // ask again under the same session, once.
    if (!s.ok() && !relogged && !intr.Fired() &&
        client::Client::IsStaleTokenMessage(s.error_message()) && ctx.Client().RefreshToken().ok()) {
      relogged = true;
      continue;
    }
    if (s.ok() || s.error_code() != grpc::StatusCode::UNAVAILABLE || intr.Fired()) return s;
    (void)session->Close();
    session.reset();
    const absl::Time give_up = absl::Now() + ctx.Client().options().command_timeout;
    while (session == nullptr) {
      absl::SleepFor(absl::Milliseconds(200));
      if (intr.Fired()) return s;
      auto fresh = Session::Create(ctx.Client(), SessionOptions{.ttl_s = ttl});
      if (fresh.ok()) {
        session = *std::move(fresh);
      } else if ((!absl::IsUnavailable(fresh.status()) && !absl::IsDeadlineExceeded(fresh.status())) ||
                 absl::Now() >= give_up) {
        ExitWithError(kExitError, ErrorText(fresh.status()));
      }
    }
  }
}

// Waits for Ctrl-C (true) or the end of the session (false).
bool WaitInterruptOrSessionEnd(const Interrupt& intr, const Session& session) {
  for (;;) {
    if (intr.WaitFor(absl::Milliseconds(100))) return true;
    if (session.Done()) return false;
  }
}

void Unlock(Context& ctx, const std::string& key) {
  v3lockpb::UnlockRequest req;
  req.set_key(key);
  auto r = ctx.Client().Invoke<v3lockpb::UnlockResponse>(
      client::Idempotency::kNonIdempotent,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* c,
          v3lockpb::UnlockResponse* resp) { return v3lockpb::Lock::NewStub(ch)->Unlock(c, req, resp); });
  if (!r.ok()) ExitWithError(kExitError, ErrorText(r.status()));
}

void RunLock(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (args.empty()) {
    ExitWithError(kExitBadArgs,
                  "lock takes a lock name argument and an optional command to execute");
  }
  ctx.Configure();  // a password prompt first, while Ctrl-C still ends the process
  Interrupt intr;   // before the client starts any thread
  const int64_t ttl = SessionTtl(f.Int("ttl"));
  std::unique_ptr<Session> session = MustSession(ctx, ttl);
  v3lockpb::LockRequest req;
  req.set_name(args[0]);
  v3lockpb::LockResponse resp;
  grpc::Status s;
  // The session may be lost while the server waits for the lock (no renewal
  // answered before its TTL ran out, e.g. across a leader kill): the lock is
  // then not safely ours -- etcd 3.4's Lock answers anyway once our key is
  // gone, next to the waiter after us -- so it is asked for again under a
  // new session (a few times), before any command runs.
  for (int lost = 0;; ++lost) {
    s = CallRetryingUnavailable(
        ctx, intr, session, ttl, [&](grpc::ClientContext* call, int64_t lease) {
          req.set_lease(lease);
          return v3lockpb::Lock::NewStub(PickChannel(ctx.Client()))->Lock(call, req, &resp);
        });
    if (session == nullptr || !session->Done() || intr.Fired()) break;
    if (s.ok()) (void)client::KvClient(ctx.Client()).Delete(resp.key());
    if (lost == kMaxLostLockSessions) {
      if (s.ok()) ExitWithError(kExitError, "session expired");
      break;
    }
    session = MustSession(ctx, ttl);
  }
  if (!s.ok()) {
    if (session != nullptr) (void)session->Close();  // drop our waiting key with the lease
    ExitCall(intr, s);
  }
  if (args.size() > 1) {
    std::vector<std::string> cmd(args.begin() + 1, args.end());
    std::string err = RunCommand(
        cmd, {"ETCD_LOCK_KEY=" + resp.key(), absl::StrCat("ETCD_LOCK_REV=", resp.header().revision())},
        /*extra_wins=*/false);
    Unlock(ctx, resp.key());
    if (!err.empty()) ExitWithError(kExitError, err);
    return;
  }
  PrintKey(ctx, resp.key());
  if (!WaitInterruptOrSessionEnd(intr, *session)) ExitWithError(kExitError, "session expired");
  Unlock(ctx, resp.key());
}

void Campaign(Context& ctx, const std::string& name, const std::string& proposal) {
  ctx.Configure();  // a password prompt first, while Ctrl-C still ends the process
  Interrupt intr;
  std::unique_ptr<Session> session = MustSession(ctx, 60);
  v3electionpb::CampaignRequest req;
  req.set_name(name);
  req.set_value(proposal);
  v3electionpb::CampaignResponse resp;
  grpc::Status s = CallRetryingUnavailable(
      ctx, intr, session, 60, [&](grpc::ClientContext* call, int64_t lease) {
        req.set_lease(lease);
        return v3electionpb::Election::NewStub(PickChannel(ctx.Client()))->Campaign(call, req, &resp);
      });
  if (!s.ok()) {
    if (session != nullptr) (void)session->Close();
    ExitCall(intr, s);
  }
  PrintKey(ctx, resp.leader().key());
  if (!WaitInterruptOrSessionEnd(intr, *session)) {
    ExitWithError(kExitError, "elect: session expired");
  }
  v3electionpb::ResignRequest rr;
  *rr.mutable_leader() = resp.leader();
  auto r = ctx.Client().Invoke<v3electionpb::ResignResponse>(
      client::Idempotency::kNonIdempotent,
      [&](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* c,
          v3electionpb::ResignResponse* out) {
        return v3electionpb::Election::NewStub(ch)->Resign(c, rr, out);
      });
  if (!r.ok()) ExitWithError(kExitError, ErrorText(r.status()));
}

void Observe(Context& ctx, const std::string& name) {
  ctx.Configure();  // a password prompt first, while Ctrl-C still ends the process
  Interrupt intr;
  // etcdctl opens a session for observers too.
  std::unique_ptr<Session> session = MustSession(ctx, 60);
  v3electionpb::LeaderRequest req;
  req.set_name(name);
  // A stream refused at once for a stale token is opened again after a
  // fresh login (once); one that ends after printing leaders is lost.
  for (bool relogged = false;; relogged = true) {
    grpc::ClientContext call;
    ctx.Client().AttachToken(&call);
    intr.CancelOnInterrupt(&call);
    auto stream = v3electionpb::Election::NewStub(PickChannel(ctx.Client()))->Observe(&call, req);
    v3electionpb::LeaderResponse lr;
    bool read_any = false;
    while (stream->Read(&lr)) {
      read_any = true;
      etcdserverpb::RangeResponse rr;
      *rr.mutable_header() = lr.header();
      *rr.add_kvs() = lr.kv();
      ctx.printer->Get(rr);
      std::fflush(stdout);
    }
    const grpc::Status s = stream->Finish();
    intr.CancelOnInterrupt(nullptr);
    if (read_any || relogged || intr.Fired() ||
        !client::Client::IsStaleTokenMessage(s.error_message()) ||
        !ctx.Client().RefreshToken().ok()) {
      break;
    }
  }
  if (!intr.Fired()) ExitWithError(kExitError, "elect: observer lost");
}

void RunElect(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (args.size() != 1 && args.size() != 2) {
    ExitWithError(kExitBadArgs,
                  "elect takes one election name argument and an optional proposal argument");
  }
  if (f.Bool("listen")) {
    if (args.size() == 2) ExitWithError(kExitBadArgs, "proposal given but -l is set");
    return Observe(ctx, args[0]);
  }
  if (args.size() != 2) ExitWithError(kExitBadArgs, "no proposal argument but -l not set");
  Campaign(ctx, args[0], args[1]);
}

}  // namespace

std::vector<CommandSpec> LockElectCommands() {
  return {
      {"lock",
       "Acquires a named lock",
       "lock <lockname> [exec-command arg1 arg2 ...]",
       "",
       {{"help", 'h', FlagKind::kBool, "false", "help for lock"},
        {"ttl", 0, FlagKind::kInt, "10", "timeout for session"}},
       RunLock},
      {"elect",
       "Observes and participates in leader election",
       "elect <election-name> [proposal]",
       "",
       {{"help", 'h', FlagKind::kBool, "false", "help for elect"},
        {"listen", 'l', FlagKind::kBool, "false", "observation mode"}},
       RunElect},
  };
}

}  // namespace quorum::ctl
