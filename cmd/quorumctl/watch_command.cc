// watch: etcdctl 3.4's watch_command.go -- a key, a range `key range_end` or
// `--prefix`, from `--rev`, with `--prev-kv` (and 3.5's `--progress-notify`);
// `watch ... -- cmd args` runs cmd per event with ETCD_WATCH_{REVISION,
// EVENT_TYPE,KEY,VALUE}; ETCDCTL_WATCH_KEY / ETCDCTL_WATCH_RANGE_END supply
// the key; `-i` reads `watch ...` / `progress` lines from stdin.
//
// Like etcdctl, Ctrl-C is not caught: SIGINT ends the process (every response
// is flushed as printed, so nothing is lost). A watch the server cancels
// (compaction, ...) prints "watch was canceled (<err>)" on stderr, the final
// response, then "Error: watch is canceled by the server" with exit code 5.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/watch.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/exec_command.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/kv_ops.h"
#include "cmd/quorumctl/stream_printer.h"

namespace quorum::ctl {
namespace {

constexpr char kBadArgsNum[] = "bad number of arguments";
constexpr char kBadArgsNumConflictEnv[] = "bad number of arguments (found conflicting environment key)";
constexpr char kBadArgsNumSeparator[] = "bad number of arguments (found separator --, but no commands)";

std::vector<FlagSpec> WatchFlags() {
  return {
      {"interactive", 'i', FlagKind::kBool, "false", "Interactive mode"},
      {"prefix", 0, FlagKind::kBool, "false", "Watch on a prefix if prefix is set"},
      {"rev", 0, FlagKind::kInt, "0", "Revision to start watching"},
      {"prev-kv", 0, FlagKind::kBool, "false",
       "get the previous key-value pair before the event happens"},
      {"progress-notify", 0, FlagKind::kBool, "false",
       "get periodic watch progress notification from server"},
      {"help", 'h', FlagKind::kBool, "false", "help for watch"},
  };
}

struct WatchFlagValues {
  bool prefix = false, prev_kv = false, progress_notify = false;
  int64_t rev = 0;
};

struct ParsedWatch {
  std::vector<std::string> watch_args;  // key [range_end]
  std::vector<std::string> exec_args;   // after "--"
};

int Find(const std::vector<std::string>& v, const std::string& what) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == what) return static_cast<int>(i);
  }
  return -1;
}

// Prepends the env key/range and drops the exec args cobra left among the
// positional arguments (the tail of parseWatchArgs).
void Finish(ParsedWatch* p, const std::vector<std::string>& args_with_sep, int sep,
            const std::string& env_key, const std::string& env_range) {
  if (!env_key.empty()) {
    std::vector<std::string> ranges = {env_key};
    if (!env_range.empty()) ranges.push_back(env_range);
    p->watch_args.insert(p->watch_args.begin(), ranges.begin(), ranges.end());
  }
  if (sep < 0) return;
  int end = static_cast<int>(p->watch_args.size()) - 1;
  for (; end >= 0; --end) {
    if (p->watch_args[end] == args_with_sep[sep + 1]) break;
  }
  p->watch_args.resize(std::max(end, 0));
}

// parseWatchArgs for the command line: raw = the arguments after "watch"
// (to find "--"), positionals = what the flag parser left.
bool ParseCommandLine(const std::vector<std::string>& raw, const std::vector<std::string>& positionals,
                      const std::string& env_key, const std::string& env_range, ParsedWatch* p,
                      std::string* err) {
  p->watch_args = positionals;
  const int exec_idx = Find(raw, "--");
  const bool exec_exist = exec_idx >= 0;
  if (exec_exist && exec_idx == static_cast<int>(raw.size()) - 1) {
    *err = kBadArgsNumSeparator;
    return false;
  }
  if (!exec_exist && raw.empty() && env_key.empty()) {
    *err = kBadArgsNum;
    return false;
  }
  if (exec_exist && !env_key.empty()) {
    int ridx = static_cast<int>(raw.size()) - 1;
    for (int widx = static_cast<int>(p->watch_args.size()) - 1; widx >= 0; --widx) {
      if (ridx >= 0 && p->watch_args[widx] == raw[ridx]) {
        --ridx;
        continue;
      }
      if (ridx == exec_idx) {
        *err = kBadArgsNumConflictEnv;
        return false;
      }
    }
  }
  if (!exec_exist && !p->watch_args.empty() && !env_key.empty()) {
    *err = kBadArgsNumConflictEnv;
    return false;
  }
  if (exec_exist) p->exec_args.assign(raw.begin() + exec_idx + 1, raw.end());
  Finish(p, raw, exec_idx, env_key, env_range);
  return true;
}

// parseWatchArgs for one `watch ...` line of -i (line = its words, "watch"
// first); the line's own flags replace prefix/rev/prev-kv.
bool ParseInteractive(const std::vector<std::string>& line, const std::string& env_key,
                      const std::string& env_range, WatchFlagValues* flags, ParsedWatch* p,
                      std::string* err) {
  std::vector<std::string> args(line.begin() + 1, line.end());
  const int exec_idx = Find(args, "--");
  if (exec_idx >= 0 && exec_idx == static_cast<int>(args.size()) - 1) {
    *err = kBadArgsNumSeparator;
    return false;
  }
  FlagValues values;
  std::vector<std::string> positionals;
  if (!ParseFlags(args, WatchFlags(), &values, &positionals, err)) return false;
  if (exec_idx < 0 && env_key.empty() && positionals.empty()) {
    *err = kBadArgsNum;
    return false;
  }
  if (exec_idx < 0 && !positionals.empty() && !env_key.empty()) {
    *err = kBadArgsNumConflictEnv;
    return false;
  }
  if (exec_idx >= 0) p->exec_args.assign(args.begin() + exec_idx + 1, args.end());
  p->watch_args = positionals;
  flags->prefix = values.Bool("prefix");
  flags->rev = values.Int("rev");
  flags->prev_kv = values.Bool("prev-kv");
  Finish(p, args, exec_idx, env_key, env_range);
  return true;
}

// getWatchChan.
std::unique_ptr<client::Watcher> OpenWatch(Context& ctx, const std::vector<std::string>& args,
                                           const WatchFlagValues& f, std::string* err) {
  if (args.empty()) {
    *err = kBadArgsNum;
    return nullptr;
  }
  client::WatchOptions o;
  if (args.size() == 2) {
    if (f.prefix) {
      *err = "`range_end` and `--prefix` are mutually exclusive";
      return nullptr;
    }
    o.range_end = args[1];
  }
  o.prefix = f.prefix;
  o.start_revision = f.rev;
  o.prev_kv = f.prev_kv;
  o.progress_notify = f.progress_notify;
  return client::Watcher::Open(ctx.Client(), args[0], o);
}

bool IsProgressNotify(const etcdserverpb::WatchResponse& r) {
  return r.events_size() == 0 && !r.canceled() && !r.created() && r.compact_revision() == 0 &&
         r.header().revision() != 0;
}

// clientv3.WatchResponse.Err() of a final response, as etcdctl prints it.
std::string CancelText(const etcdserverpb::WatchResponse& r) {
  if (r.compact_revision() != 0) return "etcdserver: mvcc: required revision has been compacted";
  if (r.cancel_reason().empty()) return "etcdserver: mvcc: required revision is a future revision";
  if (absl::StartsWith(r.cancel_reason(), "etcdserver: ")) return r.cancel_reason();
  return "rpc error: code = FailedPrecondition desc = " + r.cancel_reason();
}

void Err(const std::string& s) {
  std::fflush(stdout);
  std::fwrite(s.data(), 1, s.size(), stderr);
}

// printWatchCh: prints every response until the watch ends; returns
// normally only when the server ended it.
void PrintWatch(client::Watcher& w, const StreamPrinter& printer,
                const std::vector<std::string>& exec_args) {
  for (;;) {
    auto next = w.Next(absl::Hours(24));
    if (!next.ok()) {
      std::optional<etcdserverpb::WatchResponse> end = w.EndResponse();
      if (end) {
        Err("watch was canceled (" + CancelText(*end) + ")\n");
        printer.Watch(*end);
      }
      return;
    }
    if (!next->has_value()) continue;
    const etcdserverpb::WatchResponse& r = **next;
    if (IsProgressNotify(r)) {
      Out(absl::StrCat("progress notify: ", r.header().revision(), "\n"));
      std::fflush(stdout);
    }
    printer.Watch(r);
    if (exec_args.empty()) continue;
    for (const auto& ev : r.events()) {
      std::vector<std::string> env = {
          absl::StrCat("ETCD_WATCH_REVISION=", r.header().revision()),
          std::string("ETCD_WATCH_EVENT_TYPE=") +
              (ev.type() == mvccpb::Event::DELETE ? "\"DELETE\"" : "\"PUT\""),
          "ETCD_WATCH_KEY=" + GoQuote(ev.kv().key()),
          "ETCD_WATCH_VALUE=" + GoQuote(ev.kv().value()),
      };
      std::string err = RunCommand(exec_args, env, /*extra_wins=*/true);
      if (!err.empty()) {
        Err("command " + GoQuoteSlice(exec_args) + " error (" + err + ")\n");
        std::exit(kExitError);
      }
    }
  }
}

// watchInteractiveFunc: one watcher (and printing thread) per `watch` line.
[[noreturn]] void RunInteractive(Context& ctx, const WatchFlagValues& cmdline,
                                 const std::string& env_key, const std::string& env_range) {
  ctx.Client();
  const StreamPrinter printer(ctx.global.String("write-out"), ctx.global.Bool("hex"));
  absl::Mutex mu;
  std::vector<std::unique_ptr<client::Watcher>> watchers;  // guarded by mu, never shrinks
  for (;;) {
    std::string l;
    int c;
    while ((c = std::getchar()) != EOF && c != '\n') l.push_back(static_cast<char>(c));
    if (c == EOF) ExitWithError(kExitInvalidInput, "Error reading watch request line: EOF");
    std::vector<std::string> args = Argify(l);
    if (args.empty()) {
      Err("Invalid command: " + l + " (watch and progress supported)\n");
      continue;
    }
    if (args[0] == "watch") {
      if (args.size() < 2 && env_key.empty()) {
        Err("Invalid command " + l + " (command type or key is not provided)\n");
        continue;
      }
      WatchFlagValues flags = cmdline;
      ParsedWatch p;
      std::string err;
      if (!ParseInteractive(args, env_key, env_range, &flags, &p, &err)) {
        ExitWithError(kExitBadArgs, err);
      }
      std::unique_ptr<client::Watcher> w = OpenWatch(ctx, p.watch_args, flags, &err);
      if (!w) {
        Err("Invalid command " + l + " (" + err + ")\n");
        continue;
      }
      client::Watcher* raw = w.get();
      {
        absl::MutexLock lock(&mu);
        watchers.push_back(std::move(w));
      }
      std::thread([raw, &printer, exec = p.exec_args] { PrintWatch(*raw, printer, exec); })
          .detach();
    } else if (args[0] == "progress") {
      absl::MutexLock lock(&mu);
      for (const auto& w : watchers) (void)w->RequestProgress();  // queued if not up yet
    } else {
      Err("Invalid command " + l + " (only support watch)\n");
    }
  }
}

void RunWatch(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  const char* k = std::getenv("ETCDCTL_WATCH_KEY");
  const char* r = std::getenv("ETCDCTL_WATCH_RANGE_END");
  const std::string env_key = k ? k : "", env_range = r ? r : "";
  if (env_key.empty() && !env_range.empty()) {
    ExitWithError(kExitBadArgs,
                  "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=" + GoQuote(env_range));
  }
  WatchFlagValues flags;
  flags.prefix = f.Bool("prefix");
  flags.prev_kv = f.Bool("prev-kv");
  flags.progress_notify = f.Bool("progress-notify");
  flags.rev = f.Int("rev");
  if (f.Bool("interactive")) RunInteractive(ctx, flags, env_key, env_range);

  // os.Args after the first "watch".
  std::vector<std::string> raw = ctx.raw_args;
  int w = Find(raw, "watch");
  if (w >= 0) raw.erase(raw.begin(), raw.begin() + w + 1);
  ParsedWatch p;
  std::string err;
  if (!ParseCommandLine(raw, args, env_key, env_range, &p, &err)) ExitWithError(kExitBadArgs, err);
  std::unique_ptr<client::Watcher> watcher = OpenWatch(ctx, p.watch_args, flags, &err);
  if (!watcher) ExitWithError(kExitBadArgs, err);
  PrintWatch(*watcher, StreamPrinter(ctx.global.String("write-out"), ctx.global.Bool("hex")),
             p.exec_args);
  ExitWithError(kExitInterrupted, "watch is canceled by the server");
}

}  // namespace

std::vector<CommandSpec> WatchCommands() {
  return {{"watch", "Watches events stream on keys or prefixes",
           "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]", "",
           WatchFlags(), RunWatch}};
}

}  // namespace quorum::ctl
