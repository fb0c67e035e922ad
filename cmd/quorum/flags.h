// Command-line and environment parsing for the quorum daemon: etcd's flag
// names, defaults, checks and error texts; every flag can also come from
// ETCD_<FLAG_NAME> (upper case, dashes as underscores), as etcd allows.
#ifndef QUORUM_CMD_QUORUM_FLAGS_H_
#define QUORUM_CMD_QUORUM_FLAGS_H_

#include <spdlog/common.h>

#include <string>
#include <vector>

#include "server/config.h"

namespace quorum::cmd {

// What the flags ask of the process rather than of the member.
struct ProcessSettings {
  spdlog::level::level_enum log_level = spdlog::level::info;
  // Warnings to log once logging is set up (unrecognized ETCD_* variables,
  // adjusted values), as etcd logs them.
  std::vector<std::string> warnings;
  // --cipher-suites in OpenSSL's names; empty: gRPC's defaults.
  std::string openssl_ciphers;
};

// Parses argv and the environment into `cfg` and `proc`. Returns -1 to
// continue, otherwise an exit code as etcd's: 0 after --help/--version,
// 2 for a malformed flag, 1 for a configuration etcd refuses.
int ParseFlags(int argc, char** argv, server::ServerConfig* cfg, ProcessSettings* proc);

}  // namespace quorum::cmd

#endif  // QUORUM_CMD_QUORUM_FLAGS_H_
