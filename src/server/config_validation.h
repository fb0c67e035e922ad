// etcd's checks of a member's configuration (its embed.Config.Validate),
// run before anything is opened. Texts are etcd's: the daemon prints them
// as "error verifying flags, <text>. See 'quorum --help'." and exits 1.
#ifndef QUORUM_SERVER_CONFIG_VALIDATION_H_
#define QUORUM_SERVER_CONFIG_VALIDATION_H_

#include "absl/status/status.h"
#include "server/config.h"

namespace quorum::server {

// The message etcd gives when --listen-client-urls was set explicitly but
// --advertise-client-urls was not (the daemon then clears the advertised
// list, as etcd does).
inline constexpr char kErrUnsetAdvertiseClientUrls[] =
    "--advertise-client-urls is required when --listen-client-urls is set explicitly";

// In etcd's order: listen URLs must bind an IP (or localhost), advertised
// URLs need a host, heartbeat/election bounds, the advertise rule above,
// and the auto-compaction mode.
absl::Status ValidateConfig(const ServerConfig& cfg);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_CONFIG_VALIDATION_H_
