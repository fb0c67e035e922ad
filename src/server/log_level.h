// etcd's --log-level values mapped onto spdlog's levels.
#ifndef QUORUM_SERVER_LOG_LEVEL_H_
#define QUORUM_SERVER_LOG_LEVEL_H_

#include <spdlog/common.h>

#include <string>

#include "absl/status/statusor.h"

namespace quorum::server {

// debug, info, warn, error as such; panic and fatal (etcd logs and then
// panics/exits at those) as critical. Anything else, case included, fails
// with etcd's text `unknown level "x"` (spdlog would silently turn logging
// off).
absl::StatusOr<spdlog::level::level_enum> LogLevelFromFlag(const std::string& s);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_LOG_LEVEL_H_
