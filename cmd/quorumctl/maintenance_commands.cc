// quorumctl snapshot (save, status) and alarm (list, disarm), with etcdctl
// 3.4's arguments, output formats and exit codes; snapshot restore and check
// datascale check their arguments, then say they are not supported. The
// printing lives here, not in printer.h: these are the only commands with
// these responses.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/maintenance.h"
#include "client/snapshot_file.h"
#include "cmd/quorumctl/check_perf.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/json.h"
#include "util/sha256.h"

namespace quorum::ctl {
namespace {

FlagSpec Help(const std::string& cmd) {
  return {"help", 'h', FlagKind::kBool, "false", "help for " + cmd};
}

std::string Format(const Context& ctx) { return ctx.global.String("write-out"); }

[[noreturn]] void Unsupported(const std::string& format) {
  ExitWithError(kExitBadFeature, format + " not supported as output format");
}

// ------------------------------------------------------------------ alarms

void PrintAlarms(const Context& ctx, const etcdserverpb::AlarmResponse& r) {
  const std::string f = Format(ctx);
  if (f == "simple") {
    // etcdctl prints each AlarmMember with Go's %+v: its compact text form.
    for (const auto& a : r.alarms()) {
      Out(absl::StrCat("memberID:", a.memberid(), " alarm:", etcdserverpb::AlarmType_Name(a.alarm()),
                       " \n"));
    }
  } else if (f == "json") {
    Out(GoJson(r) + "\n");
  } else if (f == "fields") {
    // etcd 3.4 sends no header (and etcdctl's fields printer crashes then).
    const auto& h = r.header();
    if (r.has_header()) Out(absl::StrCat("\"ClusterID\" : ", h.cluster_id(), "\n\"MemberID\" : ", h.member_id(),
                     "\n\"Revision\" : ", h.revision(), "\n\"RaftTerm\" : ", h.raft_term(), "\n"));
    for (const auto& a : r.alarms()) {
      Out(absl::StrCat("\"MemberID\" : ", a.memberid(), "\n\"AlarmType\" : ",
                       etcdserverpb::AlarmType_Name(a.alarm()), "\n"));
    }
  } else if (f == "protobuf") {
    Out(r.SerializeAsString());
  } else {
    Unsupported(f);
  }
}

void RunAlarmList(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "alarm list command accepts no arguments");
  auto r = client::MaintenanceClient(ctx.Client()).AlarmList();
  if (!r.ok()) ExitWithError(kExitError, ErrorText(r.status()));
  PrintAlarms(ctx, *r);
}

void RunAlarmDisarm(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "alarm disarm command accepts no arguments");
  auto r = client::MaintenanceClient(ctx.Client()).AlarmDisarm(etcdserverpb::AlarmMember());
  if (!r.ok()) ExitWithError(kExitError, ErrorText(r.status()));
  PrintAlarms(ctx, *r);
}

// ---------------------------------------------------------------- snapshot

// etcdctl 3.4 logs its snapshot steps as zap JSON lines on stderr; quorumctl
// writes the same lines (so scripts and the differential tests see the same
// stream), plus a live progress line when stderr is a terminal.
class SaveLog {
 public:
  SaveLog() : tty_(::isatty(2) == 1) {}
  void Info(const std::string& msg, const std::string& fields) {
    const double ts = std::chrono::duration<double>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    char t[32];
    std::snprintf(t, sizeof(t), "%.7f", ts);
    Err(absl::StrCat(progress_shown_ ? "\n" : "", "{\"level\":\"info\",\"ts\":", t,
                     ",\"caller\":\"quorumctl/snapshot\",\"msg\":\"", msg, "\"", fields, "}\n"));
    progress_shown_ = false;
  }
  void Progress(uint64_t received, uint64_t remaining) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (remaining != 0 && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const uint64_t total = received + remaining;
    Err(absl::StrCat("\rdownloading snapshot: ", HumanizeBytes(received), " / ",
                     HumanizeBytes(total), " (", total == 0 ? 100 : received * 100 / total, "%)   "));
    progress_shown_ = true;
  }
  static std::string Str(const std::string& k, const std::string& v) {
    return absl::StrCat(",\"", k, "\":", GoJsonString(v));
  }

 private:
  static void Err(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stderr); }
  bool tty_;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

absl::Status FsyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::InternalError("open " + path);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : absl::InternalError("fsync " + path);
}

// Writes the stream to FILE.part as it comes (etcdctl keeps the trailing
// digest in the file too), checks that the last message is the SHA-256 of
// everything before it, fsyncs, then renames to FILE. Works against etcd as
// well (the body is then etcd's bbolt file).
// Go's text for an errno ("no such file or directory").
std::string GoErrno(int err) {
  std::string m = std::strerror(err);
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

// Returns etcdctl's error text, or "" on success.
std::string SaveSnapshot(Context& ctx, const std::string& endpoint, const std::string& path) {
  const std::string part = path + ".part";
  struct RemovePart {
    std::string p;
    ~RemovePart() {
      std::error_code ec;
      std::filesystem::remove(p, ec);
    }
  } cleanup{part};
  SaveLog log;
  std::ofstream out(part, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::StrCat("could not open ", part, " (open ", part, ": ", GoErrno(errno), ")");
  }
  std::error_code perm_ec;  // best effort (etcdctl creates it 0600), never a throw
  std::filesystem::permissions(
      part, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, perm_ec);
  log.Info("created temporary db file", SaveLog::Str("path", part));
  // etcdctl puts no deadline on a snapshot unless --command-timeout is given.
  if (!ctx.global.Changed("command-timeout")) ctx.global.Set("command-timeout", "876000h");
  std::unique_ptr<client::Client> c = ctx.MustClient({endpoint});
  log.Info("fetching snapshot", SaveLog::Str("endpoint", endpoint));
  const auto start = std::chrono::steady_clock::now();
  util::Sha256 sha;
  std::string held;  // the latest message: the digest if the stream ends now
  bool have_held = false;
  uint64_t received = 0;
  absl::Status st = client::MaintenanceClient(*c).Snapshot(
      endpoint, [&](const etcdserverpb::SnapshotResponse& m) {
        if (have_held) sha.Update(held);
        out.write(m.blob().data(), static_cast<std::streamsize>(m.blob().size()));
        if (!out) return absl::InternalError(absl::StrCat("write ", part, ": ", GoErrno(errno)));
        held = m.blob();
        have_held = true;
        received += m.blob().size();
        log.Progress(received, m.remaining_bytes());
        return absl::OkStatus();
      });
  if (!st.ok()) return absl::IsInternal(st) ? std::string(st.message()) : ErrorText(st);
  out.close();
  if (!out) return absl::StrCat("write ", part, ": ", GoErrno(errno));
  if (!have_held || held.size() != util::Sha256::kSize || sha.Finish() != held) {
    return "snapshot stream does not end with a matching sha256 digest";
  }
  if (auto s = FsyncFile(part); !s.ok()) return std::string(s.message());
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char took_s[32];
  std::snprintf(took_s, sizeof(took_s), "%.9f", took);
  log.Info("fetched snapshot", SaveLog::Str("endpoint", endpoint) +
                                   SaveLog::Str("size", HumanizeBytes(received)) +
                                   ",\"took\":" + took_s);
  std::error_code ec;
  std::filesystem::rename(part, path, ec);
  if (ec) return absl::StrCat("could not rename ", part, " to ", path, " (", ec.message(), ")");
  log.Info("saved", SaveLog::Str("path", path));
  return "";
}

void RunSnapshotSave(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "snapshot save expects one argument");
  const std::vector<std::string> eps = ctx.Endpoints();
  if (eps.size() != 1) {
    ExitWithError(kExitInterrupted, absl::StrCat("snapshot must be requested to one selected node, not multiple [",
                                             absl::StrJoin(eps, " "), "]"));
  }
  if (std::string err = SaveSnapshot(ctx, eps[0], args[0]); !err.empty()) {
    ExitWithError(kExitInterrupted, err);
  }
  Out("Snapshot saved at " + args[0] + "\n");
}

void RunSnapshotStatus(Context& ctx, const FlagValues&, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "snapshot status requires exactly one argument");
  ctx.InitDisplay();  // -w is checked before the file is read
  auto st = client::ReadSnapshotStatus(args[0]);
  if (!st.ok()) ExitWithError(kExitError, std::string(st.status().message()));
  const std::string f = Format(ctx);
  const std::vector<std::string> row = {absl::StrCat(absl::Hex(st->hash)), absl::StrCat(st->revision),
                                        absl::StrCat(st->total_keys),
                                        HumanizeBytes(static_cast<uint64_t>(st->total_size))};
  if (f == "simple") {
    Out(absl::StrJoin(row, ", ") + "\n");
  } else if (f == "table") {
    Out(RenderTable({"hash", "revision", "total keys", "total size"}, {row}));
  } else if (f == "json") {
    Out(absl::StrCat("{\"hash\":", st->hash, ",\"revision\":", st->revision, ",\"totalKey\":",
                     st->total_keys, ",\"totalSize\":", st->total_size, "}\n"));
  } else if (f == "fields") {
    Out(absl::StrCat("\"Hash\" : ", st->hash, "\n\"Revision\" : ", st->revision, "\n\"Keys\" : ",
                     st->total_keys, "\n\"Size\" : ", st->total_size, "\n"));
  } else {
    Unsupported(f);
  }
}

// snapshot restore builds an etcd data directory; quorum restores its own
// snapshots when a member starts. etcdctl's argument check comes first.
void RunSnapshotRestore(Context&, const FlagValues&, const std::vector<std::string>& args) {
  if (args.size() != 1) {
    ExitWithError(kExitBadArgs, "snapshot restore requires exactly one argument");
  }
  ExitWithError(kExitBadFeature,
                absl::StrCat("snapshot restore is not supported by quorumctl; start a new member "
                             "from the file with `quorum --restore-snapshot ",
                             args[0], "` instead"));
}

void RunCheckDatascale(Context&, const FlagValues&, const std::vector<std::string>&) {
  ExitWithError(kExitBadFeature, "check datascale is not supported by quorumctl");
}

// etcdctl's flags for the two commands above, so that their arguments and
// --help are read as etcdctl reads them.
CommandSpec SnapshotRestoreCommand() {
  return {"snapshot restore",
          "Restores an etcd member snapshot to an etcd directory",
          "snapshot restore <filename> [options]",
          "Not supported by quorumctl: start a member with\n"
          "`quorum --restore-snapshot <filename>` instead.",
          {{"data-dir", 0, FlagKind::kString, "", "Path to the data directory"},
           {"wal-dir", 0, FlagKind::kString, "",
            "Path to the WAL directory (use --data-dir if none given)"},
           {"initial-cluster", 0, FlagKind::kString, "default=http://localhost:2380",
            "Initial cluster configuration for restore bootstrap"},
           {"initial-cluster-token", 0, FlagKind::kString, "etcd-cluster",
            "Initial cluster token for the etcd cluster during restore bootstrap"},
           {"initial-advertise-peer-urls", 0, FlagKind::kString, "http://localhost:2380",
            "List of this member's peer URLs to advertise to the rest of the cluster"},
           {"name", 0, FlagKind::kString, "default", "Human-readable name for this member"},
           {"skip-hash-check", 0, FlagKind::kBool, "false",
            "Ignore snapshot integrity hash value (required if copied from data directory)"},
           Help("restore")},
          RunSnapshotRestore};
}

CommandSpec CheckDatascaleCommand() {
  return {"check datascale",
          "Check the memory usage of holding data for different workloads on a given server "
          "endpoint.",
          "check datascale [options]",
          "Not supported by quorumctl.",
          {{"load", 0, FlagKind::kString, "s",
            "The datascale check's workload model. Accepted workloads: s(small), m(medium), "
            "l(large), xl(xLarge)"},
           {"prefix", 0, FlagKind::kString, "/etcdctl-check-datascale/",
            "The prefix for writing the datascale check's keys."},
           {"auto-compact", 0, FlagKind::kBool, "false",
            "Compact storage with last revision after test is finished."},
           {"auto-defrag", 0, FlagKind::kBool, "false",
            "Defragment storage after test is finished."},
           Help("datascale")},
          RunCheckDatascale};
}

}  // namespace

std::vector<CommandSpec> MaintenanceCommands() {
  return {
      {"snapshot save",
       "Stores an etcd node backend snapshot to a given file",
       "snapshot save <filename>",
       "",
       {Help("save")},
       RunSnapshotSave},
      {"snapshot status",
       "Gets backend snapshot status of a given file",
       "snapshot status <filename>",
       // etcdctl's text word for word (the ctl suite compares help); quorumctl reads
       // both Quorum's snapshot format and etcd's bbolt db.
       "\nWhen --write-out is set to simple, this command prints out comma-separated status lists "
       "for each endpoint.\nThe items in the lists are hash, revision, total keys, total size.\n",
       {Help("status")},
       RunSnapshotStatus},
      {"alarm list", "Lists all alarms", "alarm list", "", {Help("list")}, RunAlarmList},
      {"alarm disarm", "Disarms all alarms", "alarm disarm", "", {Help("disarm")}, RunAlarmDisarm},
      SnapshotRestoreCommand(),
      CheckPerfCommand(),
      CheckDatascaleCommand(),
  };
}

}  // namespace quorum::ctl
