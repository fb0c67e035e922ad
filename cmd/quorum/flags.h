// Command-line and environment parsing for the quorum daemon: etcd's flag
// names and defaults; every flag can also come from ETCD_<FLAG_NAME> (upper
// case, dashes as underscores), as etcd allows.
#ifndef QUORUM_CMD_QUORUM_FLAGS_H_
#define QUORUM_CMD_QUORUM_FLAGS_H_

#include "server/config.h"

namespace quorum::cmd {

// Parses argv into `cfg`. Returns -1 to continue, otherwise an exit code
// (0 after --help/--version, 2 on bad flags).
int ParseFlags(int argc, char** argv, server::ServerConfig* cfg);

}  // namespace quorum::cmd

#endif  // QUORUM_CMD_QUORUM_FLAGS_H_
