// Go formatting rules etcdctl's output depends on, reimplemented so quorumctl
// prints the same bytes: %q quoting, encoding/json string escaping and base64,
// fmt.Printf with a non-constant format and no arguments (etcdctl's protobuf
// printer), go-humanize's SI byte sizes, time.Duration strings, Go's
// duration / integer flag syntax and quoted-string scanning. Pure functions,
// thread-safe.
#ifndef QUORUM_CMD_QUORUMCTL_GOFMT_H_
#define QUORUM_CMD_QUORUMCTL_GOFMT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quorum::ctl {

// strconv.Quote / fmt's %q for a string (bytes, decoded as UTF-8).
std::string GoQuote(std::string_view s);
// fmt's %#q: `s` when strconv.CanBackquote(s), else GoQuote(s).
std::string GoQuoteSharp(std::string_view s);
// encoding/json's encoding of a Go string (HTML-safe, invalid UTF-8 -> U+FFFD),
// including the surrounding quotes.
std::string GoJsonString(std::string_view s);
// fmt's %#q: `s` when strconv.CanBackquote(s), else GoQuote(s).
std::string GoQuoteSharp(std::string_view s);
// encoding/json's encoding of []byte: standard base64 with padding.
std::string Base64(std::string_view bytes);
// What fmt.Printf(s) writes when s is used as the format with no arguments
// (etcdctl 3.3's protobuf printer; 3.4 writes the bytes verbatim).
std::string GoPrintfNoArgs(std::string_view s);
// humanize.Bytes: "20 kB", "1.2 MB", "9 B".
std::string HumanizeBytes(uint64_t n);
// time.Duration.String() of a nanosecond count: "1.969087ms", "2s", "1m30s".
std::string GoDuration(int64_t nanos);
// time.ParseDuration; nullopt on a bad value, with Go's error text in `err`
// ("time: missing unit in duration \"5\"").
std::optional<int64_t> ParseGoDuration(std::string_view s, std::string* err = nullptr);
// strconv.ParseInt / ParseUint: base 2..36, or 0 for Go literal syntax as
// pflag's int flags use it (0x1f, 0o17, 017, 0b101, 1_000); the error text is
// Go's ("strconv.ParseInt: parsing \"x\": invalid syntax").
bool ParseGoInt(std::string_view s, int base, int64_t* out, std::string* err);
bool ParseGoUint(std::string_view s, int base, uint64_t* out, std::string* err);
// strconv.Unquote of a double-quoted Go string literal ("a\tb", \x41,
// \u00e9, \U0001F600, \101); false on invalid syntax.
bool GoUnquote(std::string_view quoted, std::string* out);
// fmt.Sscanf's %q at s[*pos]: optional spaces, then a "double-quoted" (Go
// escapes) or `raw` string; on success *pos moves past it. On failure `out`
// is left as it was (Go assigns nothing).
bool GoScanQuoted(std::string_view s, size_t* pos, std::string* out);
// fmt's %x of an unsigned value and %16x (space padded to 16).
std::string Hex(uint64_t v);
std::string Hex16(uint64_t v);

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_GOFMT_H_
