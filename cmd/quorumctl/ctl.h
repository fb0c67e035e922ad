// Shared state of one quorumctl invocation: global flags, the output printer,
// the client (created on first use, like etcdctl's mustClientFromCmd), and
// etcdctl's exit codes and error-line conventions.
#ifndef QUORUM_CMD_QUORUMCTL_CTL_H_
#define QUORUM_CMD_QUORUMCTL_CTL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/client.h"
#include "cmd/quorumctl/flags.h"
#include "cmd/quorumctl/printer.h"

namespace quorum::ctl {

// etcdctl's exit codes (etcdctl/ctlv3/command/error.go).
enum ExitCode {
  kExitSuccess = 0,
  kExitError = 1,
  kExitBadConnection = 2,
  kExitInvalidInput = 3,
  kExitBadFeature = 4,
  kExitInterrupted = 5,
  kExitIO = 6,
  kExitBadArgs = 128,
};

// Prints "Error: <msg>" to stderr (after flushing stdout) and exits.
[[noreturn]] void ExitWithError(int code, const std::string& msg);

// The text etcdctl prints for a failed call: etcd's own errors by their
// description ("etcdserver: key is not provided"), other gRPC failures as Go's
// "rpc error: code = Unimplemented desc = ...", client deadlines as
// "context deadline exceeded".
std::string ErrorText(const absl::Status& s);

class Context {
 public:
  // path: the command ("member list"); inherited: its global and group flags,
  // the ones ETCDCTL_* variables fill.
  Context(std::string path, std::vector<FlagSpec> inherited)
      : command_path_(std::move(path)), inherited_flags_(std::move(inherited)) {}

  FlagValues global;
  std::unique_ptr<Printer> printer;  // set by Configure / InitDisplay
  bool interactive_txn = false;
  // The command line as given (without the binary), for commands that look
  // at it raw as etcdctl does with os.Args (watch's "--").
  std::vector<std::string> raw_args;

  // etcdctl applies ETCDCTL_* variables, --debug, the TLS/auth flag checks
  // and -w when a command first needs a client, i.e. after the command's own
  // argument checks (`-w bogus version` works). Once; the calls below do it.
  void Configure();
  // Only the output format (etcdctl's initDisplayFromCmd; exit 4 if unknown).
  void InitDisplay();

  // The client for --endpoints (exits with ExitBadConnection on bad options).
  client::Client& Client();
  // A client for other endpoints (endpoint/defrag/move-leader per member).
  std::unique_ptr<client::Client> MustClient(const std::vector<std::string>& endpoints);
  std::vector<std::string> Endpoints();
  // Endpoints, or every member's client URLs with --cluster.
  std::vector<std::string> EndpointsFromCluster(const FlagValues& flags);

 private:
  const std::string command_path_;
  const std::vector<FlagSpec> inherited_flags_;
  bool configured_ = false;
  std::string username_, password_;
  std::unique_ptr<client::Client> client_;
};

std::vector<FlagSpec> GlobalFlagSpecs();
std::vector<CommandSpec> KvCommands();
std::vector<CommandSpec> ClusterCommands();
std::vector<CommandSpec> MaintenanceCommands();
std::vector<CommandSpec> WatchCommands();       // watch_command.cc
std::vector<CommandSpec> LeaseCommands();       // lease_commands.cc
std::vector<CommandSpec> LockElectCommands();   // lock_elect_commands.cc

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_CTL_H_
