// quorumctl: the password prompt of `--user NAME` without a password, as
// etcdctl (speakeasy) shows it.
#ifndef QUORUM_CMD_QUORUMCTL_PASSWORD_PROMPT_H_
#define QUORUM_CMD_QUORUMCTL_PASSWORD_PROMPT_H_

#include <string>

namespace quorum::ctl {

// Prints "Password: " on stdout, reads one line from stdin (echo off when
// stdin is a terminal), then prints a newline. The line is returned without
// its end; EOF ends it too.
std::string AskPassword();

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_PASSWORD_PROMPT_H_
