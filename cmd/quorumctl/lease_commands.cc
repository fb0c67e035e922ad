// lease grant|revoke|timetolive|list|keep-alive: etcdctl 3.4's argument
// rules, messages and exit codes (etcdctl/ctlv3/command/lease_command.go);
// output through StreamPrinter (clientv3's lease structs).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/lease.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/stream_printer.h"

namespace quorum::ctl {
namespace {

StreamPrinter Printer(const Context& ctx) {
  return StreamPrinter(ctx.global.String("write-out"), ctx.global.Bool("hex"));
}

// leaseFromArgs: a hexadecimal lease id.
int64_t LeaseFromArg(const std::string& arg) {
  int64_t id;
  std::string err;
  if (!ParseGoInt(arg, 16, &id, &err)) {
    ExitWithError(kExitBadArgs, "bad lease ID arg (" + err + "), expecting ID in Hex");
  }
  return id;
}

void RunGrant(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "lease grant command needs TTL argument");
  int64_t ttl;
  std::string err;
  if (!ParseGoInt(args[0], 10, &ttl, &err)) ExitWithError(kExitBadArgs, "bad TTL (" + err + ")");
  auto resp = client::LeaseClient(ctx.Client()).Grant(ttl);
  if (!resp.ok()) {
    ExitWithError(kExitError, "failed to grant lease (" + ErrorText(resp.status()) + ")");
  }
  Printer(ctx).LeaseGrant(*resp);
}

void RunRevoke(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "lease revoke command needs 1 argument");
  const int64_t id = LeaseFromArg(args[0]);
  auto resp = client::LeaseClient(ctx.Client()).Revoke(id);
  if (!resp.ok()) {
    ExitWithError(kExitError, "failed to revoke lease (" + ErrorText(resp.status()) + ")");
  }
  Printer(ctx).LeaseRevoke(id, *resp);
}

void RunTimeToLive(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (args.size() != 1) {
    ExitWithError(kExitBadArgs, "lease timetolive command needs lease ID as argument");
  }
  const int64_t id = LeaseFromArg(args[0]);
  const bool keys = f.Bool("keys");
  auto resp = client::LeaseClient(ctx.Client()).TimeToLive(id, keys);
  if (!resp.ok()) ExitWithError(kExitBadConnection, ErrorText(resp.status()));
  Printer(ctx).LeaseTimeToLive(*resp, keys);
}

void RunList(Context& ctx, const FlagValues&, const std::vector<std::string>&) {
  auto resp = client::LeaseClient(ctx.Client()).Leases();
  if (!resp.ok()) ExitWithError(kExitBadConnection, ErrorText(resp.status()));
  Printer(ctx).LeaseList(*resp);
}

// clientv3's KeepAlive: renew at once, then every TTL/3; a renewal answered
// TTL <= 0 (or "lease not found") ends the stream; other failures are retried.
// Runs until then or until a signal ends the process (as etcdctl, which does
// not catch Ctrl-C here).
void RunKeepAlive(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (args.size() != 1) {
    ExitWithError(kExitBadArgs, "lease keep-alive command needs lease ID as argument");
  }
  const int64_t id = LeaseFromArg(args[0]);
  client::LeaseClient leases(ctx.Client());
  const StreamPrinter printer = Printer(ctx);
  if (f.Bool("once")) {
    auto resp = leases.KeepAliveOnce(id);
    if (!resp.ok()) ExitWithError(kExitBadConnection, ErrorText(resp.status()));
    if (resp->ttl() <= 0) ExitWithError(kExitBadConnection, client::kLeaseNotFoundMessage);
    printer.LeaseKeepAlive(*resp);
    return;
  }
  for (;;) {
    auto resp = leases.KeepAliveOnce(id);
    if (resp.ok() && resp->ttl() > 0) {
      printer.LeaseKeepAlive(*resp);
      absl::SleepFor(std::max(absl::Milliseconds(500), absl::Seconds(resp->ttl()) / 3));
      continue;
    }
    if (resp.ok() || resp.status().code() == absl::StatusCode::kNotFound) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  if (printer.IsSimple()) Out("lease " + LeaseHex(id) + " expired or revoked.\n");
}

FlagSpec Help(const std::string& name) {
  return {"help", 'h', FlagKind::kBool, "false", "help for " + name};
}

}  // namespace

std::vector<CommandSpec> LeaseCommands() {
  return {
      {"lease grant", "Creates leases", "lease grant <ttl>", "", {Help("grant")}, RunGrant},
      {"lease revoke", "Revokes leases", "lease revoke <leaseID>", "", {Help("revoke")}, RunRevoke},
      {"lease timetolive",
       "Get lease information",
       "lease timetolive <leaseID> [options]",
       "",
       {Help("timetolive"),
        {"keys", 0, FlagKind::kBool, "false", "Get keys attached to this lease"}},
       RunTimeToLive},
      {"lease list", "List all active leases", "lease list", "", {Help("list")}, RunList},
      {"lease keep-alive",
       "Keeps leases alive (renew)",
       "lease keep-alive [options] <leaseID>",
       "",
       {Help("keep-alive"),
        {"once", 0, FlagKind::kBool, "false",
         "Resets the keep-alive time to its original value and exits immediately"}},
       RunKeepAlive},
  };
}

}  // namespace quorum::ctl
