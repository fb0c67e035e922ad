// quorumctl: the password prompt of `--user NAME` without a password, as
// etcdctl (speakeasy) shows it.
#ifndef QUORUM_CMD_QUORUMCTL_PASSWORD_PROMPT_H_
#define QUORUM_CMD_QUORUMCTL_PASSWORD_PROMPT_H_

#include <string>

namespace quorum::ctl {

// Prints "Password: " on stdout, reads one line from stdin (echo off when
// stdin is a terminal; a signal meanwhile restores the echo and exits 255),
// then prints a newline. The line is returned trimmed of white space; EOF
// ends it too.
std::string AskPassword();

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_PASSWORD_PROMPT_H_
