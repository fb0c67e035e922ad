// Go's time.ParseDuration, which etcd's duration flags go through
// ("500ms", "1h30m", "-1.5s", "0"), with Go's exact error texts so a bad
// value is reported as etcd reports it. Never throws.
#ifndef QUORUM_SERVER_DURATION_H_
#define QUORUM_SERVER_DURATION_H_

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace quorum::server {

// Units: ns, us, µs, μs, ms, s, m, h. Errors: `time: invalid duration "x"`,
// `time: missing unit in duration "1.5"`, `time: unknown unit "d" in
// duration "1d"` (InvalidArgument).
absl::StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view s);

// Go's Duration.String(), for log lines that quote etcd's: "1h0m0s",
// "5m0s", "1.5s", "100ms", "0s".
std::string FormatGoDuration(std::chrono::nanoseconds d);

}  // namespace quorum::server

#endif  // QUORUM_SERVER_DURATION_H_
