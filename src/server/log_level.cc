#include "server/log_level.h"

#include "server/url.h"

namespace quorum::server {

absl::StatusOr<spdlog::level::level_enum> LogLevelFromFlag(const std::string& s) {
  if (s == "debug") return spdlog::level::debug;
  if (s == "info") return spdlog::level::info;
  if (s == "warn") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  if (s == "dpanic" || s == "panic" || s == "fatal") return spdlog::level::critical;
  return absl::InvalidArgumentError("unknown level " + GoQuote(s));
}

}  // namespace quorum::server
