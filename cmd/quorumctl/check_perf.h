// quorumctl check perf: etcdctl 3.4's write-load check (check_perf_command.cc).
#ifndef QUORUM_CMD_QUORUMCTL_CHECK_PERF_H_
#define QUORUM_CMD_QUORUMCTL_CHECK_PERF_H_

#include "cmd/quorumctl/flags.h"

namespace quorum::ctl {

CommandSpec CheckPerfCommand();

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_CHECK_PERF_H_
