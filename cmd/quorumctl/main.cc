// quorumctl: etcdctl (v3 API, 3.4/3.5) compatible command line client.
// main() resolves the command path as cobra does (unique prefixes, etcdctl's
// command names, "Did you mean this?"), parses global + command flags
// (flags.h) and runs the command; the command's first client applies the
// ETCDCTL_* environment variables and builds the printer (Context::Configure).
#include <grpc/support/log.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cluster.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/password_prompt.h"

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

namespace {

FlagSpec HelpFlag(const std::string& name) {
  return {"help", 'h', FlagKind::kBool, "false", "help for " + name};
}

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

std::vector<FlagSpec> GroupFlags(const std::string& group);

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
  // The group's own flags: GroupFlags() without the global ones.
  const std::vector<FlagSpec> all = GroupFlags(group);
  std::vector<FlagSpec> local(all.begin() + static_cast<std::ptrdiff_t>(GlobalFlagSpecs().size()),
                              all.end());
  std::sort(local.begin(), local.end(),
            [](const FlagSpec& a, const FlagSpec& b) { return a.name < b.name; });
  out += "\nOPTIONS:\n" + FlagUsages(local) + "\nGLOBAL OPTIONS:\n" +
         FlagUsages(GlobalFlagSpecs()) + "\n";
  return out;
}

// help_flag: cobra lists -h only once the root parsed its own flags (not
// for `help <unknown topic>`).
std::string RootHelp(const std::vector<CommandSpec>& cmds, bool help_flag = true) {
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
  if (help_flag) flags.push_back(HelpFlag(kBinary));
  out += "\nOPTIONS:\n" + FlagUsages(flags) + "\n";
  return out;
}

// etcdctl 3.4's command tree: root names in the order etcdctl adds them, then
// cobra's own "help" and "completion". Prefix matching and "Did you mean
// this?" work on these names, so a word resolves exactly as in etcdctl, also
// to the commands quorumctl does not have (which then fail clearly).
struct EtcdctlCommand {
  const char* name;
  std::vector<const char*> subs;
};

const std::vector<EtcdctlCommand>& EtcdctlTree() {
  static const auto* t = new std::vector<EtcdctlCommand>{
      {"get", {}},
      {"put", {}},
      {"del", {}},
      {"txn", {}},
      {"compaction", {}},
      {"alarm", {"disarm", "list"}},
      {"defrag", {}},
      {"endpoint", {"health", "status", "hashkv"}},
      {"move-leader", {}},
      {"watch", {}},
      {"version", {}},
      {"lease", {"grant", "revoke", "timetolive", "list", "keep-alive"}},
      {"member", {"add", "remove", "update", "list", "promote"}},
      {"snapshot", {"save", "restore", "status"}},
      {"make-mirror", {}},
      {"migrate", {}},
      {"lock", {}},
      {"elect", {}},
      {"auth", {"enable", "disable"}},
      {"user", {"add", "delete", "get", "list", "passwd", "grant-role", "revoke-role"}},
      {"role", {"add", "delete", "get", "list", "grant-permission", "revoke-permission"}},
      {"check", {"perf", "datascale"}},
      {"help", {}},
      {"completion", {"bash", "zsh", "fish", "powershell"}},
  };
  return *t;
}

// cobra's findNext with EnablePrefixMatching: the exact name, else the only
// name that starts with `word`.
const char* FindName(const std::vector<const char*>& names, const std::string& word) {
  const char* match = nullptr;
  int prefixed = 0;
  for (const char* n : names) {
    if (word == n) return n;
    if (absl::StartsWith(n, word)) {
      ++prefixed;
      match = n;
    }
  }
  return prefixed == 1 ? match : nullptr;
}

bool IsBoolFlag(const std::vector<FlagSpec>& specs, const std::string& name, char shorthand) {
  for (const FlagSpec& s : specs) {
    if (shorthand ? s.shorthand == shorthand : s.name == name) return s.kind == FlagKind::kBool;
  }
  return false;
}

// cobra's stripFlags: indexes of the arguments that are command words. A
// flag without "=" that is unknown or not a bool takes the next argument as
// its value; when that value would be the last argument, the scan stops.
std::vector<size_t> CommandWords(const std::vector<std::string>& args,
                                 const std::vector<FlagSpec>& flags) {
  std::vector<size_t> words;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s == "--") break;
    const bool has_eq = s.find('=') != std::string::npos;
    const bool takes_value =
        !has_eq && ((absl::StartsWith(s, "--") && !IsBoolFlag(flags, s.substr(2), 0)) ||
                    (s.size() == 2 && s[0] == '-' && !IsBoolFlag(flags, "", s[1])));
    if (takes_value) {
      if (args.size() - i - 1 <= 1) break;
      ++i;
    } else if (!s.empty() && s[0] != '-') {
      words.push_back(i);
    }
  }
  return words;
}

// Global flags plus what a command inherits from its group (endpoint's
// persistent --cluster): cobra's InheritedFlags, which etcdctl fills from
// ETCDCTL_* variables and dumps with --debug.
std::vector<FlagSpec> InheritedFlags(const std::string& path,
                                     const std::vector<FlagSpec>& cmd_flags) {
  std::vector<FlagSpec> out = GlobalFlagSpecs();
  for (const FlagSpec& f : cmd_flags) {
    if (f.name == "cluster" && absl::StartsWith(path, "endpoint ")) out.push_back(f);
  }
  return out;
}

// Flags a group command (member, endpoint, ...) itself accepts.
std::vector<FlagSpec> GroupFlags(const std::string& group) {
  std::vector<FlagSpec> out = GlobalFlagSpecs();
  out.push_back(HelpFlag(group));
  if (group == "endpoint") {
    out.push_back(
        {"cluster", 0, FlagKind::kBool, "false", "use all endpoints from the cluster member list"});
  }
  return out;
}

// Where cobra's Find lands: the command path ("" = root, "member",
// "member list"), the arguments without its words, or a root-level word
// naming no command.
struct Resolved {
  std::string path;
  std::vector<std::string> rest;
  std::string unknown;
};

// Removes and returns the first command word of `args` if it names one of
// `names`; `word` is that word ("" if there is none).
const char* TakeCommand(std::vector<std::string>* args, const std::vector<FlagSpec>& flags,
                        const std::vector<const char*>& names, std::string* word) {
  const std::vector<size_t> words = CommandWords(*args, flags);
  *word = words.empty() ? "" : (*args)[words[0]];
  const char* name = words.empty() ? nullptr : FindName(names, *word);
  if (name != nullptr) args->erase(args->begin() + static_cast<long>(words[0]));
  return name;
}

Resolved Resolve(std::vector<std::string> args) {
  Resolved r;
  std::vector<FlagSpec> root_flags = GlobalFlagSpecs();
  root_flags.push_back(HelpFlag(kBinary));
  std::vector<const char*> names;
  for (const auto& c : EtcdctlTree()) names.push_back(c.name);
  std::string word;
  if (const char* name = TakeCommand(&args, root_flags, names, &word)) {
    r.path = name;
    for (const auto& c : EtcdctlTree()) {
      if (r.path != c.name || c.subs.empty()) continue;
      if (const char* sub = TakeCommand(&args, GroupFlags(r.path), c.subs, &word)) {
        r.path += std::string(" ") + sub;
      }
    }
  } else {
    r.unknown = word;
  }
  r.rest = std::move(args);
  return r;
}

// cobra's Levenshtein distance, case-insensitive.
size_t Distance(std::string a, std::string b) {
  a = absl::AsciiStrToLower(a);
  b = absl::AsciiStrToLower(b);
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// cobra's "Did you mean this?" block: names within distance 2 or starting
// with the word (the help command is never suggested).
std::string Suggestions(const std::string& word) {
  std::string out;
  for (const auto& c : EtcdctlTree()) {
    const std::string name = c.name;
    if (name == "help") continue;
    if (Distance(word, name) <= 2 || absl::StartsWith(name, absl::AsciiStrToLower(word))) {
      out += "\t" + name + "\n";
    }
  }
  return out.empty() ? "" : "\n\nDid you mean this?\n" + out;
}

[[noreturn]] void UnknownCommand(const std::string& word) {
  const std::string msg =
      "unknown command " + GoQuote(word) + " for \"" + kBinary + "\"" + Suggestions(word);
  std::fprintf(stderr, "Error: %s\nRun '%s --help' for usage.\n", msg.c_str(), kBinary);
  ExitWithError(kExitError, msg);
}

// A flag error: cobra prints the usage on stdout, then the error twice.
[[noreturn]] void FlagError(const std::string& usage, const std::string& err) {
  Out(usage);
  std::fflush(stdout);
  std::fprintf(stderr, "Error: %s\n\n", err.c_str());
  ExitWithError(kExitError, err);
}

[[noreturn]] void NotSupported(const std::string& path) {
  ExitWithError(kExitBadFeature, "\"" + path + "\" is not supported by quorumctl");
}

const CommandSpec* FindCommand(const std::vector<CommandSpec>& cmds, const std::string& path) {
  for (const auto& c : cmds) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

// The root or a group given no (known) subcommand: its flags are checked,
// then its help is printed (cobra: not runnable -> help, exit 0).
int ShowHelp(const std::string& help, const std::vector<FlagSpec>& flags,
             const std::vector<std::string>& args) {
  FlagValues values;
  std::vector<std::string> positionals;
  std::string err;
  if (!ParseFlags(args, flags, &values, &positionals, &err)) FlagError(help, err);
  Out(help);
  return 0;
}

std::string HelpFor(const std::string& path, const std::vector<CommandSpec>& cmds) {
  if (path.empty() || path == "help") return RootHelp(cmds);
  if (const CommandSpec* c = FindCommand(cmds, path)) return CommandHelp(*c);
  if (Groups().count(path)) return GroupHelp(path, cmds);
  NotSupported(path);
}

// `help [command...]`: cobra's help command; a first word naming no command is
// an "Unknown help topic" (on stderr, with the root help, exit 0).
int RunHelp(const std::vector<std::string>& args, const std::vector<CommandSpec>& cmds) {
  std::vector<FlagSpec> flags = GlobalFlagSpecs();
  flags.push_back(HelpFlag("help"));
  FlagValues values;
  std::vector<std::string> topic;
  std::string err;
  if (!ParseFlags(args, flags, &values, &topic, &err)) FlagError(RootHelp(cmds), err);
  Resolved r = Resolve(topic);
  if (!r.unknown.empty()) {
    std::vector<std::string> quoted;
    for (const std::string& t : topic) quoted.push_back(GoQuoteSharp(t));
    std::fprintf(stderr, "Unknown help topic [%s]\n", absl::StrJoin(quoted, " ").c_str());
    std::fflush(stderr);
    Out(RootHelp(cmds, /*help_flag=*/false));
    return 0;
  }
  Out(HelpFor(r.path, cmds));
  return 0;
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

void LogLine(const std::string& line) { std::fwrite(line.data(), 1, line.size(), stderr); }

// etcd's flags.SetPflagsFromEnv: a non-empty ETCDCTL_<FLAG> fills a flag not
// given on the command line (a value the flag rejects is dropped silently:
// etcdctl ignores that error); then every ETCDCTL_* variable not used is
// fatal if its flag was given, else warned about (so is an empty one).
void ApplyEnv(FlagValues* flags, const std::vector<FlagSpec>& specs, const std::string& cmd) {
  std::set<std::string> used, given;
  for (const FlagSpec& s : specs) {
    const std::string env = EnvName(s.name);
    if (flags->Changed(s.name)) {
      given.insert(env);
      continue;
    }
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || *v == '\0') continue;
    used.insert(env);
    std::string err;
    if (CheckFlagValue(s, v, &err)) flags->Set(s.name, v);
  }
  // etcdctl unsets ETCDCTL_API before parsing; watch reads its own two.
  std::set<std::string> quiet = {"ETCDCTL_API"};
  if (cmd == "watch") quiet.insert({"ETCDCTL_WATCH_KEY", "ETCDCTL_WATCH_RANGE_END"});
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string k = kv.substr(0, kv.find('='));
    if (used.count(k) || quiet.count(k)) continue;
    if (given.count(k)) {
      LogLine(LogPrefix('C') + "conflicting environment variable \"" + k +
              "\" is shadowed by corresponding command-line flag (either unset "
              "environment variable or disable flag)\n");
      std::exit(kExitError);
    }
    if (absl::StartsWith(kv, "ETCDCTL_")) {
      LogLine(LogPrefix('W') + "unrecognized environment variable " + kv + "\n");
    }
  }
}

// --debug: every inherited flag as ETCDCTL_<NAME>=<value>, sorted by name.
void DumpFlags(const FlagValues& flags, std::vector<FlagSpec> specs) {
  std::sort(specs.begin(), specs.end(),
            [](const FlagSpec& a, const FlagSpec& b) { return a.name < b.name; });
  for (const FlagSpec& s : specs) {
    std::string v = s.kind == FlagKind::kStringSlice
                        ? "[" + absl::StrJoin(flags.Slice(s.name), ",") + "]"
                        : flags.String(s.name);
    std::fprintf(stderr, "%s=%s\n", EnvName(s.name).c_str(), v.c_str());
  }
}

// etcdctl's keyAndCertFromCmd: a TLS file flag given as "" is an error.
void CheckTlsFlags(const FlagValues& flags) {
  for (const char* name : {"cert", "key", "cacert"}) {
    if (flags.Changed(name) && flags.String(name).empty()) {
      ExitWithError(kExitBadArgs, std::string("empty string is passed to --") + name + " option");
    }
  }
}

}  // namespace

void Context::InitDisplay() {
  if (printer) return;
  printer = NewPrinter(global.String("write-out"), global.Bool("hex"));
  if (!printer) ExitWithError(kExitBadFeature, "unsupported output format");
}

// etcdctl's clientConfigFromCmd, which runs when a command first needs the
// cluster (after its own argument checks): environment, --debug, TLS and
// auth flags, then the output format.
void Context::Configure() {
  if (configured_) return;
  configured_ = true;
  ApplyEnv(&global, inherited_flags_, command_path_);
  if (global.Bool("debug")) {
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
    DumpFlags(global, inherited_flags_);
  } else {
    // gRPC core logs (e.g. a TLS handshake cancelled at exit) are not part
    // of the command's output; --debug keeps them.
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  if (!global.String("discovery-srv").empty()) {
    // TODO(quorumctl): DNS SRV discovery; listed for etcdctl flag compatibility.
    ExitWithError(kExitBadFeature,
                  "--discovery-srv is not supported by quorumctl; use --endpoints");
  }
  CheckTlsFlags(global);
  username_ = global.String("user");
  password_ = global.String("password");
  if (!username_.empty() && password_.empty()) {
    // user:password; with --password the user name is taken literally.
    size_t colon = username_.find(':');
    if (colon == std::string::npos) {
      password_ = AskPassword();  // as etcdctl: "Password: ", the next stdin line
    } else {
      password_ = username_.substr(colon + 1);
      username_.resize(colon);
    }
  }
  // clientv3 logs in only with both a user and a password.
  if (password_.empty()) username_.clear();
  InitDisplay();
}

std::unique_ptr<client::Client> Context::MustClient(const std::vector<std::string>& endpoints) {
  Configure();
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
  // etcdctl sets InsecureSkipVerify only on a TLS config it already has (TLS
  // files or --insecure-transport=false): alone, or with just an https://
  // endpoint, the flag changes nothing.
  const bool tls_config = !o.tls.ca_file.empty() || !o.tls.cert_file.empty() ||
                          !o.tls.key_file.empty() || !o.insecure_transport;
  o.tls.insecure_skip_verify = tls_config && global.Bool("insecure-skip-tls-verify");
  o.username = username_;
  o.password = password_;
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    ExitWithError(kExitBadArgs, "KeyFile and CertFile must both be present[key: " + o.tls.key_file +
                                    ", cert: " + o.tls.cert_file + "]");
  }
  if (endpoints.empty()) ExitWithError(kExitBadConnection, "etcdclient: no available endpoints");
  auto c = client::Client::Create(o);
  if (!c.ok() && !o.username.empty() &&
      c.status().message() == "etcdserver: authentication is not enabled") {
    // clientv3 ignores this answer and carries on without a token.
    o.username.clear();
    o.password.clear();
    c = client::Client::Create(o);
  }
  if (!c.ok()) {
    // Option errors (unreadable TLS files) are bad arguments, printed as is
    // (etcdctl: exit 128); a failed authentication (the server's
    // InvalidArgument "etcdserver: authentication failed, ...") is a
    // connection error (exit 2).
    if (c.status().code() == absl::StatusCode::kInvalidArgument &&
        !absl::StartsWith(c.status().message(), "etcdserver: ")) {
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

std::vector<std::string> Context::Endpoints() {
  Configure();
  return global.Slice("endpoints");
}

std::vector<std::string> Context::EndpointsFromCluster(const FlagValues& flags) {
  std::vector<std::string> eps = Endpoints();  // applies ETCDCTL_CLUSTER first
  if (!flags.Bool("cluster")) return eps;
  auto resp = client::ClusterClient(Client()).MemberList();
  if (!resp.ok()) {
    ExitWithError(kExitError, "failed to fetch endpoints from etcd cluster member list: " +
                                  ErrorText(resp.status()));
  }
  eps.clear();
  for (const auto& m : resp->members()) {
    for (const auto& u : m.clienturls()) eps.push_back(u);
  }
  return eps;
}

namespace {

int Main(int argc, char** argv) {
  // Debian's absl checks lock order on every Mutex operation under one
  // global lock; `check perf` and `watch` feel it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::vector<CommandSpec> cmds = Commands();
  Resolved r = Resolve(args);
  if (!r.unknown.empty()) UnknownCommand(r.unknown);
  if (r.path == "help") return RunHelp(r.rest, cmds);
  if (r.path.empty()) {
    std::vector<FlagSpec> flags = GlobalFlagSpecs();
    flags.push_back(HelpFlag(kBinary));
    return ShowHelp(RootHelp(cmds), flags, r.rest);
  }
  const CommandSpec* cmd = FindCommand(cmds, r.path);
  if (cmd == nullptr && Groups().count(r.path)) {
    return ShowHelp(GroupHelp(r.path, cmds), GroupFlags(r.path), r.rest);
  }
  if (cmd == nullptr) NotSupported(r.path);

  std::vector<FlagSpec> specs = cmd->flags;
  const std::vector<FlagSpec> globals = GlobalFlagSpecs();
  specs.insert(specs.end(), globals.begin(), globals.end());
  Context ctx(cmd->path, InheritedFlags(cmd->path, cmd->flags));
  std::vector<std::string> positionals;
  std::string err;
  if (!ParseFlags(r.rest, specs, &ctx.global, &positionals, &err)) {
    FlagError(CommandHelp(*cmd), err);
  }
  if (ctx.global.Bool("help")) {
    Out(CommandHelp(*cmd));
    return 0;
  }
  ctx.raw_args = args;
  cmd->run(ctx, ctx.global, positionals);
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace quorum::ctl

int main(int argc, char** argv) { return quorum::ctl::Main(argc, argv); }
