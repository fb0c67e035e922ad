// member add/remove/update/list/promote, endpoint health/status/hashkv,
// defrag, move-leader: etcdctl 3.4's rules, messages and exit codes
// (etcdctl/ctlv3/command/{member,ep,defrag,move_leader}_command.go).
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/cluster.h"
#include "client/kv.h"
#include "client/maintenance.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"

namespace quorum::ctl {
namespace {

FlagSpec Help(const std::string& cmd) {
  return {"help", 'h', FlagKind::kBool, "false", "help for " + cmd};
}

uint64_t MemberIdArg(const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "member ID is not provided");
  uint64_t id;
  std::string err;
  if (!ParseGoUint(args[0], 16, &id, &err)) {
    ExitWithError(kExitBadArgs, "bad member ID arg (" + err + "), expecting ID in Hex");
  }
  return id;
}

void RunMemberAdd(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (args.empty()) ExitWithError(kExitBadArgs, "member name not provided");
  if (args.size() > 1) {
    // A URL among the arguments was probably meant for --peer-urls.
    std::string msg = "too many arguments";
    for (const std::string& a : args) {
      if (absl::StartsWith(absl::AsciiStrToLower(a), "http")) {
        msg += ", did you mean --peer-urls=" + a;
      }
    }
    ExitWithError(kExitBadArgs, msg);
  }
  const std::string name = args[0];
  const std::string peer_urls = f.String("peer-urls");
  if (peer_urls.empty()) ExitWithError(kExitBadArgs, "member peer urls not provided");
  std::vector<std::string> urls = absl::StrSplit(peer_urls, ',');
  client::ClusterClient cluster(ctx.Client());
  auto resp = cluster.MemberAdd(urls, f.Bool("learner"));
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->MemberAdd(*resp);
  if (ctx.printer->is_simple) {
    const uint64_t new_id = resp->member().id();
    std::vector<std::string> conf;
    for (const auto& m : resp->members()) {
      for (const auto& u : m.peerurls()) {
        conf.push_back((m.id() == new_id ? name : m.name()) + "=" + u);
      }
    }
    Out("\nETCD_NAME=" + GoQuote(name) + "\n");
    Out("ETCD_INITIAL_CLUSTER=" + GoQuote(absl::StrJoin(conf, ",")) + "\n");
    Out("ETCD_INITIAL_ADVERTISE_PEER_URLS=" +
        GoQuote(absl::StrJoin(resp->member().peerurls(), ",")) + "\n");
    Out("ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n");
  }
}

void RunMemberRemove(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  uint64_t id = MemberIdArg(args);
  client::ClusterClient cluster(ctx.Client());
  auto resp = cluster.MemberRemove(id);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->MemberRemove(id, *resp);
}

void RunMemberUpdate(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  uint64_t id = MemberIdArg(args);
  const std::string peer_urls = f.String("peer-urls");
  if (peer_urls.empty()) ExitWithError(kExitBadArgs, "member peer urls not provided");
  std::vector<std::string> urls = absl::StrSplit(peer_urls, ',');
  client::ClusterClient cluster(ctx.Client());
  auto resp = cluster.MemberUpdate(id, urls);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->MemberUpdate(id, *resp);
}

void RunMemberPromote(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  uint64_t id = MemberIdArg(args);
  client::ClusterClient cluster(ctx.Client());
  auto resp = cluster.MemberPromote(id);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->MemberPromote(id, *resp);
}

void RunMemberList(Context& ctx, const FlagValues&, const std::vector<std::string>&) {
  client::ClusterClient cluster(ctx.Client());
  auto resp = cluster.MemberList();
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->MemberList(*resp);
}

void RunEndpointHealth(Context& ctx, const FlagValues& f, const std::vector<std::string>&) {
  std::vector<EpHealth> list;
  bool unhealthy = false;
  for (const std::string& ep : ctx.EndpointsFromCluster(f)) {
    std::unique_ptr<client::Client> c = ctx.MustClient({ep});
    auto start = std::chrono::steady_clock::now();
    // Any answer to a linearizable read means the member can reach a quorum.
    auto got = client::KvClient(*c).Get("health");
    EpHealth h;
    h.ep = ep;
    h.took = GoDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count());
    if (got.ok() || got.status().message() == "etcdserver: permission denied") {
      h.health = true;
    } else {
      h.error = ErrorText(got.status());
    }
    if (h.health) {
      auto alarms = client::MaintenanceClient(*c).AlarmList();
      if (alarms.ok() && alarms->alarms_size() > 0) {
        h.health = false;
        h.error = "Active Alarm(s): ";
        for (const auto& a : alarms->alarms()) {
          h.error += a.alarm() == etcdserverpb::NOSPACE   ? "NOSPACE "
                     : a.alarm() == etcdserverpb::CORRUPT ? "CORRUPT "
                                                          : "UNKNOWN ";
        }
      } else if (!alarms.ok() && alarms.status().code() != absl::StatusCode::kUnimplemented) {
        // A server without the Alarm RPC has no alarms to report.
        h.health = false;
        h.error = "Unable to fetch the alarm list";
      }
    }
    unhealthy |= !h.health;
    list.push_back(h);
  }
  ctx.printer->EndpointHealth(list);
  if (unhealthy) ExitWithError(kExitError, "unhealthy cluster");
}

void RunEndpointStatus(Context& ctx, const FlagValues& f, const std::vector<std::string>&) {
  std::vector<EpStatus> list;
  bool failed = false;
  for (const std::string& ep : ctx.EndpointsFromCluster(f)) {
    std::unique_ptr<client::Client> c = ctx.MustClient({ep});
    auto resp = client::MaintenanceClient(*c).Status(ep);
    if (!resp.ok()) {
      failed = true;
      std::fflush(stdout);
      std::fprintf(stderr, "Failed to get the status of endpoint %s (%s)\n", ep.c_str(),
                   ErrorText(resp.status()).c_str());
      continue;
    }
    list.push_back({ep, *resp});
  }
  ctx.printer->EndpointStatus(list);
  if (failed) {
    std::fflush(stdout);
    std::exit(kExitError);
  }
}

void RunEndpointHashKV(Context& ctx, const FlagValues& f, const std::vector<std::string>&) {
  std::vector<EpHashKV> list;
  std::string last_error;
  for (const std::string& ep : ctx.EndpointsFromCluster(f)) {
    std::unique_ptr<client::Client> c = ctx.MustClient({ep});
    auto resp = client::MaintenanceClient(*c).HashKV(ep, f.Int("rev"));
    if (!resp.ok()) {
      last_error = ErrorText(resp.status());
      std::fflush(stdout);
      std::fprintf(stderr, "Failed to get the hash of endpoint %s (%s)\n", ep.c_str(),
                   last_error.c_str());
      continue;
    }
    list.push_back({ep, *resp});
  }
  ctx.printer->EndpointHashKV(list);
  // Unlike endpoint status, etcdctl ends with the last failure's text.
  if (!last_error.empty()) ExitWithError(kExitError, last_error);
}

void RunDefrag(Context& ctx, const FlagValues& f, const std::vector<std::string>&) {
  int failures = 0;
  for (const std::string& ep : ctx.EndpointsFromCluster(f)) {
    std::unique_ptr<client::Client> c = ctx.MustClient({ep});
    auto resp = client::MaintenanceClient(*c).Defragment(ep);
    if (!resp.ok()) {
      std::fflush(stdout);
      std::fprintf(stderr, "Failed to defragment etcd member[%s] (%s)\n", ep.c_str(),
                   ErrorText(resp.status()).c_str());
      ++failures;
    } else {
      Out("Finished defragmenting etcd member[" + ep + "]\n");
    }
  }
  if (failures != 0) {
    std::fflush(stdout);
    std::exit(kExitError);
  }
}

void RunMoveLeader(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "move-leader command needs 1 argument");
  uint64_t target;
  std::string err;
  if (!ParseGoUint(args[0], 16, &target, &err)) ExitWithError(kExitBadArgs, err);
  std::vector<std::string> eps = ctx.Endpoints();
  std::unique_ptr<client::Client> leader;
  uint64_t leader_id = 0;
  for (const std::string& ep : eps) {
    std::unique_ptr<client::Client> c = ctx.MustClient({ep});
    auto st = client::MaintenanceClient(*c).Status(ep);
    if (!st.ok()) ExitWithError(kExitError, ErrorText(st.status()));
    if (st->has_header() && st->header().member_id() == st->leader()) {
      leader = std::move(c);
      leader_id = st->leader();
      break;
    }
  }
  if (!leader) {
    ExitWithError(kExitBadArgs, "no leader endpoint given at [" + absl::StrJoin(eps, " ") + "]");
  }
  auto resp = client::MaintenanceClient(*leader).MoveLeader(target);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->MoveLeader(leader_id, target, *resp);
}

}  // namespace

std::vector<CommandSpec> ClusterCommands() {
  const FlagSpec peer_urls{"peer-urls", 0, FlagKind::kString, "",
                           "comma separated peer URLs for the new member."};
  const FlagSpec cluster{"cluster", 0, FlagKind::kBool, "false",
                         "use all endpoints from the cluster member list"};
  return {
      {"member add",
       "Adds a member into the cluster",
       "member add <memberName> [options]",
       "",
       {peer_urls,
        {"learner", 0, FlagKind::kBool, "false", "indicates if the new member is raft learner"},
        Help("add")},
       RunMemberAdd},
      {"member remove",
       "Removes a member from the cluster",
       "member remove <memberID>",
       "",
       {Help("remove")},
       RunMemberRemove},
      {"member update",
       "Updates a member in the cluster",
       "member update <memberID> [options]",
       "",
       {{"peer-urls", 0, FlagKind::kString, "",
         "comma separated peer URLs for the updated member."},
        Help("update")},
       RunMemberUpdate},
      {"member list",
       "Lists all members in the cluster",
       "member list",
       "\nWhen --write-out is set to simple, this command prints out comma-separated member lists "
       "for "
       "each endpoint.\nThe items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is "
       "Learner.\n",
       {Help("list")},
       RunMemberList},
      {"member promote",
       "Promotes a non-voting member in the cluster",
       "member promote <memberID>",
       "\nPromotes a non-voting learner member to a voting one in the cluster.\n",
       {Help("promote")},
       RunMemberPromote},
      {"endpoint health",
       "Checks the healthiness of endpoints specified in `--endpoints` flag",
       "endpoint health",
       "",
       {cluster, Help("health")},
       RunEndpointHealth},
      {"endpoint status",
       "Prints out the status of endpoints specified in `--endpoints` flag",
       "endpoint status",
       "\nWhen --write-out is set to simple, this command prints out comma-separated status lists "
       "for "
       "each endpoint.\nThe items in the lists are endpoint, ID, version, db size, is leader, is "
       "learner, "
       "raft term, raft index, raft applied index, errors.\n",
       {cluster, Help("status")},
       RunEndpointStatus},
      {"endpoint hashkv",
       "Prints the KV history hash for each endpoint in --endpoints",
       "endpoint hashkv",
       "",
       {cluster,
        {"rev", 0, FlagKind::kInt, "0", "maximum revision to hash (default: all revisions)"},
        Help("hashkv")},
       RunEndpointHashKV},
      {"defrag",
       "Defragments the storage of the etcd members with given endpoints",
       "defrag",
       "",
       {cluster, Help("defrag")},
       RunDefrag},
      {"move-leader",
       "Transfers leadership to another etcd cluster member.",
       "move-leader <transferee-member-id>",
       "",
       {Help("move-leader")},
       RunMoveLeader},
  };
}

}  // namespace quorum::ctl
