// quorumctl: etcdctl (v3 API, 3.4/3.5) compatible command line client.
// main() resolves the command path (cobra style), parses global + command
// flags (flags.h), applies ETCDCTL_* environment variables to global flags
// not given on the command line, builds the printer and runs the command.
#include <grpc/support/log.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cluster.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"

namespace quorum::ctl {

namespace {
constexpr char kBinary[] = "quorumctl";
constexpr char kVersion[] = "0.1.0";
constexpr char kApiVersion[] = "3.4";

const char* GoCodeName(absl::StatusCode c) {
  switch (c) {
    case absl::StatusCode::kOk:
      return "OK";
    case absl::StatusCode::kCancelled:
      return "Canceled";
    case absl::StatusCode::kUnknown:
      return "Unknown";
    case absl::StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case absl::StatusCode::kDeadlineExceeded:
      return "DeadlineExceeded";
    case absl::StatusCode::kNotFound:
      return "NotFound";
    case absl::StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case absl::StatusCode::kPermissionDenied:
      return "PermissionDenied";
    case absl::StatusCode::kResourceExhausted:
      return "ResourceExhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "FailedPrecondition";
    case absl::StatusCode::kAborted:
      return "Aborted";
    case absl::StatusCode::kOutOfRange:
      return "OutOfRange";
    case absl::StatusCode::kUnimplemented:
      return "Unimplemented";
    case absl::StatusCode::kInternal:
      return "Internal";
    case absl::StatusCode::kUnavailable:
      return "Unavailable";
    case absl::StatusCode::kDataLoss:
      return "DataLoss";
    case absl::StatusCode::kUnauthenticated:
      return "Unauthenticated";
    default:
      return "Unknown";
  }
}
}  // namespace

void ExitWithError(int code, const std::string& msg) {
  std::fflush(stdout);
  std::string line = "Error: " + msg + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::exit(code);
}

std::string ErrorText(const absl::Status& s) {
  std::string msg(s.message());
  if (s.code() == absl::StatusCode::kDeadlineExceeded && msg == "context deadline exceeded") {
    return msg;
  }
  // clientv3 turns etcd's own errors into their description; anything else
  // stays a gRPC status error.
  if (absl::StartsWith(msg, "etcdserver: ")) return msg;
  // grpc-go's wording for the client-side send limit.
  if (s.code() == absl::StatusCode::kResourceExhausted &&
      absl::StartsWith(msg, "Sent message larger than max")) {
    msg = "trying to send message larger than max" + msg.substr(28);
  }
  if (s.code() == absl::StatusCode::kInvalidArgument && msg.empty()) return "invalid argument";
  return std::string("rpc error: code = ") + GoCodeName(s.code()) + " desc = " + msg;
}

std::vector<FlagSpec> GlobalFlagSpecs() {
  return {
      {"endpoints", 0, FlagKind::kStringSlice, "127.0.0.1:2379", "gRPC endpoints"},
      {"debug", 0, FlagKind::kBool, "false", "enable client-side debug logging"},
      {"write-out", 'w', FlagKind::kString, "simple",
       "set the output format (fields, json, protobuf, simple, table)"},
      {"hex", 0, FlagKind::kBool, "false", "print byte strings as hex encoded strings"},
      {"dial-timeout", 0, FlagKind::kDuration, "2s", "dial timeout for client connections"},
      {"command-timeout", 0, FlagKind::kDuration, "5s",
       "timeout for short running command (excluding dial timeout)"},
      {"keepalive-time", 0, FlagKind::kDuration, "2s", "keepalive time for client connections"},
      {"keepalive-timeout", 0, FlagKind::kDuration, "6s",
       "keepalive timeout for client connections"},
      {"insecure-transport", 0, FlagKind::kBool, "true",
       "disable transport security for client connections"},
      {"insecure-skip-tls-verify", 0, FlagKind::kBool, "false",
       "skip server certificate verification (CAUTION: this option should be enabled only for "
       "testing purposes)"},
      {"cert", 0, FlagKind::kString, "", "identify secure client using this TLS certificate file"},
      {"key", 0, FlagKind::kString, "", "identify secure client using this TLS key file"},
      {"cacert", 0, FlagKind::kString, "",
       "verify certificates of TLS-enabled secure servers using this CA bundle"},
      {"user", 0, FlagKind::kString, "",
       "username[:password] for authentication (prompt if password is not supplied)"},
      {"discovery-srv", 'd', FlagKind::kString, "",
       "domain name to query for SRV records describing cluster endpoints"},
      {"discovery-srv-name", 0, FlagKind::kString, "",
       "service name to query when using DNS discovery"},
      {"insecure-discovery", 0, FlagKind::kBool, "true",
       "accept insecure SRV records describing cluster endpoints"},
      {"password", 0, FlagKind::kString, "",
       "password for authentication (if this option is used, --user option shouldn't include "
       "password)"},
  };
}

std::unique_ptr<client::Client> Context::MustClient(const std::vector<std::string>& endpoints) {
  if (!global.String("discovery-srv").empty()) {
    // TODO(quorumctl): DNS SRV discovery; listed for etcdctl flag compatibility.
    ExitWithError(kExitBadFeature,
                  "--discovery-srv is not supported by quorumctl; use --endpoints");
  }
  client::ClientOptions o;
  o.endpoints = endpoints;
  o.dial_timeout = absl::Nanoseconds(global.DurationNanos("dial-timeout"));
  o.command_timeout = absl::Nanoseconds(global.DurationNanos("command-timeout"));
  o.keepalive_time = absl::Nanoseconds(global.DurationNanos("keepalive-time"));
  o.keepalive_timeout = absl::Nanoseconds(global.DurationNanos("keepalive-timeout"));
  o.insecure_transport = global.Bool("insecure-transport");
  o.tls.ca_file = global.String("cacert");
  o.tls.cert_file = global.String("cert");
  o.tls.key_file = global.String("key");
  o.tls.insecure_skip_verify = global.Bool("insecure-skip-tls-verify");
  std::string user = global.String("user");
  if (!user.empty()) {
    std::string password = global.String("password");
    if (password.empty()) {
      size_t colon = user.find(':');
      if (colon == std::string::npos) {
        ExitWithError(kExitBadArgs, "password prompt is not supported; use --password");
      }
      password = user.substr(colon + 1);
      user.resize(colon);
    } else if (user.find(':') != std::string::npos) {
      ExitWithError(kExitBadArgs, "username contains ':' when --password is given");
    }
    o.username = user;
    o.password = password;
  }
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    ExitWithError(kExitBadArgs, "KeyFile and CertFile must both be present[key: " + o.tls.key_file +
                                    ", cert: " + o.tls.cert_file + "]");
  }
  auto c = client::Client::Create(o);
  if (!c.ok()) {
    // Option errors (unreadable TLS files) are bad arguments, printed as is
    // (etcdctl: exit 128); a failed authentication is a connection error.
    if (c.status().code() == absl::StatusCode::kInvalidArgument) {
      ExitWithError(kExitBadArgs, std::string(c.status().message()));
    }
    ExitWithError(kExitBadConnection, ErrorText(c.status()));
  }
  return *std::move(c);
}

client::Client& Context::Client() {
  if (!client_) client_ = MustClient(Endpoints());
  return *client_;
}

std::vector<std::string> Context::EndpointsFromCluster(const FlagValues& flags) {
  if (!flags.Bool("cluster")) return Endpoints();
  auto resp = client::ClusterClient(Client()).MemberList();
  if (!resp.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "failed to fetch endpoints from etcd cluster member list: %s\n",
                 ErrorText(resp.status()).c_str());
    std::exit(kExitError);
  }
  std::vector<std::string> eps;
  for (const auto& m : resp->members()) {
    for (const auto& u : m.clienturls()) eps.push_back(u);
  }
  return eps;
}

namespace {

std::vector<CommandSpec> Commands() {
  std::vector<CommandSpec> all = KvCommands();
  for (auto& c : ClusterCommands()) all.push_back(std::move(c));
  for (auto& c : MaintenanceCommands()) all.push_back(std::move(c));
  for (auto* more : {WatchCommands, LeaseCommands, LockElectCommands}) {
    for (auto& c : more()) all.push_back(std::move(c));
  }
  all.push_back({"version",
                 "Prints the version of quorumctl",
                 "version",
                 "",
                 {{"help", 'h', FlagKind::kBool, "false", "help for version"}},
                 [](Context&, const FlagValues&, const std::vector<std::string>&) {
                   Out(std::string(kBinary) + " version: " + kVersion +
                       "\nAPI version: " + kApiVersion + "\n");
                 }});
  return all;
}

const std::map<std::string, std::string>& Groups() {
  static const auto* g = new std::map<std::string, std::string>{
      {"member", "Membership related commands"},
      {"endpoint", "Endpoint related commands"},
      {"snapshot", "Manages etcd node snapshots"},
      {"alarm", "Alarm related commands"},
      {"check", "commands for checking properties of the etcd cluster"},
      {"lease", "Lease related commands"},
  };
  return *g;
}

std::string Indent(const std::string& text) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    out += "\t" + std::string(line) + "\n";
  }
  return out;
}

// "\t<name>\t<desc>" rows aligned like Go's text/tabwriter with tab padding.
std::string TabAlign(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  const size_t col = ((width + 1 + 7) / 8) * 8;
  std::string out;
  for (const auto& [name, desc] : rows) {
    out += "\t" + name + std::string((col - name.size() + 7) / 8, '\t') + desc + "\n";
  }
  return out;
}

std::string CommandHelp(const CommandSpec& c) {
  std::string out = "NAME:\n\t" + c.path + " - " + c.short_desc + "\n\nUSAGE:\n\t" + kBinary + " " +
                    c.usage + " [flags]\n\n";
  if (!c.long_desc.empty()) {
    std::string d = c.long_desc;
    if (d.front() == '\n') d.erase(0, 1);
    if (!d.empty() && d.back() == '\n') d.pop_back();
    out += "DESCRIPTION:\n" + Indent(d) + "\n";
  }
  // Flags of a command group (endpoint --cluster) are inherited: cobra lists
  // them with the global options.
  std::vector<FlagSpec> local, inherited = GlobalFlagSpecs();
  for (const FlagSpec& f : c.flags)
    (f.name == "cluster" && absl::StartsWith(c.path, "endpoint ") ? inherited : local).push_back(f);
  out += "OPTIONS:\n" + FlagUsages(local) + "\nGLOBAL OPTIONS:\n" + FlagUsages(inherited) + "\n";
  return out;
}

std::string GroupHelp(const std::string& group, const std::vector<CommandSpec>& cmds) {
  std::string out = "NAME:\n\t" + group + " - " + Groups().at(group) + "\n\nUSAGE:\n\t" + kBinary +
                    " " + group + " <subcommand> [flags]\n\nAPI VERSION:\n\t" + kApiVersion +
                    "\n\n\nCOMMANDS:\n";
  std::vector<std::pair<std::string, std::string>> subs;
  for (const auto& c : cmds) {
    if (absl::StartsWith(c.path, group + " ")) {
      subs.emplace_back(c.path.substr(group.size() + 1), c.short_desc);
    }
  }
  std::sort(subs.begin(), subs.end());
  out += TabAlign(subs);
  out += "\nOPTIONS:\n" +
         FlagUsages({{"help", 'h', FlagKind::kBool, "false", "help for " + group}}) +
         "\nGLOBAL OPTIONS:\n" + FlagUsages(GlobalFlagSpecs()) + "\n";
  return out;
}

std::string RootHelp(const std::vector<CommandSpec>& cmds) {
  std::string out = std::string("NAME:\n\t") + kBinary +
                    " - A simple command line client for Quorum (etcd v3 API).\n\nUSAGE:\n\t" +
                    kBinary + " [flags]\n\nVERSION:\n\t" + kVersion + "\n\nAPI VERSION:\n\t" +
                    kApiVersion + "\n\n\nCOMMANDS:\n";
  std::vector<std::string> paths;
  for (const auto& c : cmds) paths.push_back(c.path);
  std::sort(paths.begin(), paths.end());
  std::vector<std::pair<std::string, std::string>> rows;
  for (const std::string& p : paths) {
    for (const auto& c : cmds) {
      if (c.path == p) rows.emplace_back(p, c.short_desc);
    }
  }
  out += TabAlign(rows);
  std::vector<FlagSpec> flags = GlobalFlagSpecs();
  flags.push_back({"help", 'h', FlagKind::kBool, "false", std::string("help for ") + kBinary});
  out += "\nOPTIONS:\n" + FlagUsages(flags) + "\n";
  return out;
}

// capnslog's line prefix etcdctl 3.4's pkg/flags logs with.
std::string LogPrefix(char level) {
  absl::Time now = absl::Now();
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S ", now, absl::LocalTimeZone()) + level +
         " | pkg/flags: ";
}

std::string EnvName(const std::string& flag) {
  return "ETCDCTL_" + absl::AsciiStrToUpper(absl::StrReplaceAll(flag, {{"-", "_"}}));
}

// etcd's flags.SetPflagsFromEnv: an env var fills a global flag not given on
// the command line; one that a flag shadows is fatal; unknown ones warn.
void ApplyEnv(FlagValues* global, const std::vector<FlagSpec>& specs, const std::string& cmd) {
  std::vector<std::string> known = {"ETCDCTL_API"};
  // watch reads these itself.
  if (cmd == "watch") known.insert(known.end(), {"ETCDCTL_WATCH_KEY", "ETCDCTL_WATCH_RANGE_END"});
  for (const FlagSpec& s : specs) known.push_back(EnvName(s.name));
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (!absl::StartsWith(kv, "ETCDCTL_")) continue;
    std::string k = kv.substr(0, kv.find('='));
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string line = LogPrefix('W') + "unrecognized environment variable " + kv + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  }
  for (const FlagSpec& s : specs) {
    std::string env = EnvName(s.name);
    const char* v = std::getenv(env.c_str());
    if (v == nullptr) continue;
    if (global->Changed(s.name)) {
      std::string line = LogPrefix('C') + "conflicting environment variable \"" + env +
                         "\" is shadowed by corresponding command-line flag (either unset "
                         "environment variable or disable flag)\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
      std::exit(kExitError);
    }
    std::string err;
    if (!CheckFlagValue(s, v, &err)) {
      ExitWithError(kExitError, "invalid value " + GoQuote(v) + " for " + env + ": " + err);
    }
    global->Set(s.name, v);
  }
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::vector<CommandSpec> cmds = Commands();
  const std::vector<FlagSpec> globals = GlobalFlagSpecs();

  // Command path: the leading words that are not flags (or global flag values).
  std::vector<size_t> word_idx;
  for (size_t i = 0; i < args.size() && word_idx.size() < 2; ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-') {
      if (a.find('=') == std::string::npos) {
        std::string name = a[1] == '-' ? a.substr(2) : "";
        for (const FlagSpec& s : globals) {
          bool match = a[1] == '-' ? s.name == name : (a.size() == 2 && s.shorthand == a[1]);
          if (match && s.kind != FlagKind::kBool) ++i;
        }
      }
      continue;
    }
    if (word_idx.size() == 1 && !Groups().count(args[word_idx[0]]) && args[word_idx[0]] != "help") {
      break;
    }
    word_idx.push_back(i);
  }
  std::string path;
  if (!word_idx.empty()) path = args[word_idx[0]];
  if (path == "help") {
    std::string topic = word_idx.size() > 1 ? args[word_idx[1]] : "";
    for (const auto& c : cmds) {
      if (c.path == topic || absl::StartsWith(c.path, topic + " ")) {
        if (c.path == topic) return Out(CommandHelp(c)), 0;
      }
    }
    if (Groups().count(topic)) return Out(GroupHelp(topic, cmds)), 0;
    Out(RootHelp(cmds));
    return 0;
  }
  if (path.empty()) {
    bool version = false;
    for (const std::string& a : args) version |= a == "--version";
    Out(RootHelp(cmds));
    (void)version;
    return 0;
  }
  const CommandSpec* cmd = nullptr;
  size_t consumed = 1;
  if (Groups().count(path)) {
    if (word_idx.size() > 1) {
      std::string full = path + " " + args[word_idx[1]];
      for (const auto& c : cmds) {
        if (c.path == full) cmd = &c;
      }
      consumed = 2;
    }
    if (cmd == nullptr) {
      Out(GroupHelp(path, cmds));
      return 0;
    }
  } else {
    for (const auto& c : cmds) {
      if (c.path == path) cmd = &c;
    }
    if (cmd == nullptr) {
      std::string msg = "unknown command " + GoQuote(path) + " for \"" + kBinary + "\"";
      std::fprintf(stderr, "Error: %s\nRun '%s --help' for usage.\n", msg.c_str(), kBinary);
      ExitWithError(kExitError, msg);
    }
  }
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    bool is_word = false;
    for (size_t k = 0; k < consumed; ++k) is_word |= word_idx[k] == i;
    if (!is_word) rest.push_back(args[i]);
  }

  std::vector<FlagSpec> specs = cmd->flags;
  specs.insert(specs.end(), globals.begin(), globals.end());
  Context ctx;
  std::vector<std::string> positionals;
  std::string err;
  if (!ParseFlags(rest, specs, &ctx.global, &positionals, &err)) {
    Out(CommandHelp(*cmd));
    std::fflush(stdout);
    std::fprintf(stderr, "Error: %s\n\n", err.c_str());
    ExitWithError(kExitError, err);
  }
  if (ctx.global.Bool("help")) {
    Out(CommandHelp(*cmd));
    return 0;
  }
  ApplyEnv(&ctx.global, globals, cmd->path);
  ctx.raw_args = args;
  if (!ctx.global.Bool("debug")) {
    // gRPC core logs (e.g. a TLS handshake cancelled at exit) are not part of
    // the command's output; --debug keeps them.
    gpr_set_log_function([](gpr_log_func_args*) {});
  } else {
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  }
  if (ctx.global.Bool("debug")) {
    // pflag's VisitAll order: sorted by flag name.
    std::vector<FlagSpec> sorted = globals;
    std::sort(sorted.begin(), sorted.end(),
              [](const FlagSpec& a, const FlagSpec& b) { return a.name < b.name; });
    for (const FlagSpec& s : sorted) {
      std::string env =
          "ETCDCTL_" + absl::AsciiStrToUpper(absl::StrReplaceAll(s.name, {{"-", "_"}}));
      std::string v = s.kind == FlagKind::kStringSlice
                          ? "[" + absl::StrJoin(ctx.global.Slice(s.name), ",") + "]"
                          : ctx.global.String(s.name);
      std::fprintf(stderr, "%s=%s\n", env.c_str(), v.c_str());
    }
  }
  ctx.printer = NewPrinter(ctx.global.String("write-out"), ctx.global.Bool("hex"));
  if (!ctx.printer) ExitWithError(kExitBadFeature, "unsupported output format");
  cmd->run(ctx, ctx.global, positionals);
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace quorum::ctl

int main(int argc, char** argv) { return quorum::ctl::Main(argc, argv); }
