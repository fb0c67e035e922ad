// Running a user command the way etcdctl's Go code does with os/exec:
// `watch ... -- cmd args` runs one per event, `lock NAME cmd args` runs one
// while holding the lock. stdin/stdout/stderr are inherited (stdout is
// flushed first); the result is Go's error text: "" on success, "exit status
// 3", "signal: killed", `exec: "x": executable file not found in $PATH`.
#ifndef QUORUM_CMD_QUORUMCTL_EXEC_COMMAND_H_
#define QUORUM_CMD_QUORUMCTL_EXEC_COMMAND_H_

#include <string>
#include <vector>

namespace quorum::ctl {

// Runs argv (argv[0] looked up in $PATH unless it has a '/') with the
// process environment plus `extra` ("K=V"). extra_wins: a name present in
// both gets the extra value (Go's exec keeps the last duplicate, and etcdctl
// appends its variables after os.Environ() for watch, before it for lock).
std::string RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& extra,
                       bool extra_wins);

// fmt's %q of a []string: ["a" "b c"].
std::string GoQuoteSlice(const std::vector<std::string>& v);

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_EXEC_COMMAND_H_
