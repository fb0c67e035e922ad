#include "server/duration.h"

#include <cstdint>
#include <string>

namespace quorum::server {
namespace {

// Go's time.quote (unlike strconv.Quote it escapes non-ASCII bytes):
// printable ASCII as is (with \" and \\ escaped), every other byte as \xNN.
std::string TimeQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x80 || c < ' ') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<char>(c);
  }
  return out + "\"";
}

uint64_t UnitNanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") return 1000;  // µs (U+00B5), μs (U+03BC)
  if (u == "ms") return 1000 * 1000;
  if (u == "s") return 1000 * 1000 * 1000;
  if (u == "m") return 60ULL * 1000 * 1000 * 1000;
  if (u == "h") return 3600ULL * 1000 * 1000 * 1000;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

absl::StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view orig) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError("time: invalid duration " + TimeQuote(orig));
  };
  constexpr uint64_t kLimit = uint64_t{1} << 63;  // |min int64|
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  uint64_t total = 0;
  while (!s.empty()) {
    if (s[0] != '.' && !IsDigit(s[0])) return invalid();
    // Integer part; overflow is an error, as in Go.
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (v > (kLimit - 1) / 10) return invalid();
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kLimit) return invalid();
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction: digits past what fits are dropped, as Go's leadingFraction does.
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && IsDigit(s[j]); ++j) {
        if (overflow) continue;
        if (f > (kLimit - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t next = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (next > kLimit) {
          overflow = true;
          continue;
        }
        f = next;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return invalid();  // no digits at all, e.g. ".s"
    size_t k = 0;
    while (k < s.size() && s[k] != '.' && !IsDigit(s[k])) ++k;
    if (k == 0) {
      return absl::InvalidArgumentError("time: missing unit in duration " + TimeQuote(orig));
    }
    const std::string_view unit_name = s.substr(0, k);
    s.remove_prefix(k);
    const uint64_t unit = UnitNanos(unit_name);
    if (unit == 0) {
      return absl::InvalidArgumentError("time: unknown unit " + TimeQuote(unit_name) +
                                        " in duration " + TimeQuote(orig));
    }
    if (v > kLimit / unit) return invalid();
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kLimit) return invalid();
    }
    total += v;
    if (total > kLimit) return invalid();
  }
  if (neg) return std::chrono::nanoseconds(static_cast<int64_t>(0 - total));
  if (total > kLimit - 1) return invalid();
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

namespace {

// whole.frac with the fraction's trailing zeros dropped; `unit` is 10^digits.
std::string Decimal(uint64_t v, uint64_t unit, int digits) {
  std::string out = std::to_string(v / unit);
  uint64_t frac = v % unit;
  if (frac == 0) return out;
  std::string f = std::to_string(frac);
  f.insert(0, static_cast<size_t>(digits) - f.size(), '0');
  while (!f.empty() && f.back() == '0') f.pop_back();
  return out + "." + f;
}

}  // namespace

std::string FormatGoDuration(std::chrono::nanoseconds d) {
  if (d.count() == 0) return "0s";
  const bool neg = d.count() < 0;
  const uint64_t u = neg ? 0 - static_cast<uint64_t>(d.count()) : static_cast<uint64_t>(d.count());
  std::string out;
  constexpr uint64_t kSecond = 1000000000;
  if (u < 1000) {
    out = std::to_string(u) + "ns";
  } else if (u < 1000000) {
    out = Decimal(u, 1000, 3) + "\xc2\xb5s";  // µs
  } else if (u < kSecond) {
    out = Decimal(u, 1000000, 6) + "ms";
  } else {
    const uint64_t hours = u / (3600 * kSecond);
    const uint64_t minutes = u / (60 * kSecond) % 60;
    out = Decimal(u % (60 * kSecond), kSecond, 9) + "s";
    if (hours > 0 || minutes > 0) out = std::to_string(minutes) + "m" + out;
    if (hours > 0) out = std::to_string(hours) + "h" + out;
  }
  return neg ? "-" + out : out;
}

}  // namespace quorum::server
