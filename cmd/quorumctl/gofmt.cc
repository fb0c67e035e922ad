#include "cmd/quorumctl/gofmt.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace quorum::ctl {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char32_t kBadRune = 0xFFFD;

// utf8.DecodeRuneInString: (rune, size); invalid -> (U+FFFD, 1).
std::pair<char32_t, size_t> DecodeRune(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return {c, 1};
  size_t need;
  char32_t r, min;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1, r = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2, r = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3, r = c & 0x07, min = 0x10000;
  } else {
    return {kBadRune, 1};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size() || (b(i + k) & 0xC0) != 0x80) return {kBadRune, 1};
    r = (r << 6) | (b(i + k) & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {kBadRune, 1};
  return {r, need + 1};
}

void AppendUtf8(std::string* out, char32_t r) {
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

// unicode.IsPrint, approximated: everything graphic except the ranges Go
// classifies as control, format, separator (other than ' '), private use or
// noncharacter that commonly show up.
bool IsPrint(char32_t r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r < 0x7F) return true;
  if (r <= 0xA0 || r == 0xAD) return false;
  if (r == 0x034F) return true;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
      (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0x1680 || r == 0xFEFF) {
    return false;
  }
  if (r >= 0xE000 && r <= 0xF8FF) return false;
  if (r >= 0xFFF0 && r <= 0xFFFB) return false;
  if ((r & 0xFFFE) == 0xFFFE) return false;
  if (r >= 0xF0000) return false;
  return true;
}

void AppendHex(std::string* out, uint32_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) out->push_back(kHexDigits[(v >> (4 * i)) & 0xF]);
}

}  // namespace

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto [r, n] = DecodeRune(s, i);
    if (r == kBadRune && n == 1) {
      out += "\\x";
      AppendHex(&out, static_cast<unsigned char>(s[i]), 2);
      i += n;
      continue;
    }
    i += n;
    if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (IsPrint(r)) {
      AppendUtf8(&out, r);
    } else {
      switch (r) {
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (r < ' ' || r == 0x7F) {
            out += "\\x";
            AppendHex(&out, r, 2);
          } else if (r < 0x10000) {
            out += "\\u";
            AppendHex(&out, r, 4);
          } else {
            out += "\\U";
            AppendHex(&out, r, 8);
          }
      }
    }
  }
  out.push_back('"');
  return out;
}

std::string GoJsonString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        out += "\\u00";
        AppendHex(&out, c, 2);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    auto [r, n] = DecodeRune(s, i);
    if (r == kBadRune && n == 1) {
      out += "\\ufffd";
    } else if (r == 0x2028 || r == 0x2029) {
      out += "\\u";
      AppendHex(&out, r, 4);
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out.push_back('"');
  return out;
}

std::string Base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kTable[v >> 18]);
    out.push_back(kTable[(v >> 12) & 63]);
    out.push_back(kTable[(v >> 6) & 63]);
    out.push_back(kTable[v & 63]);
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kTable[v >> 18]);
    out.push_back(kTable[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kTable[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string GoPrintfNoArgs(std::string_view f) {
  std::string out;
  const size_t end = f.size();
  size_t i = 0;
  while (i < end) {
    size_t lasti = i;
    while (i < end && f[i] != '%') ++i;
    out.append(f.substr(lasti, i - lasti));
    if (i >= end) break;
    ++i;  // skip %
    while (i < end && (f[i] == '#' || f[i] == '0' || f[i] == '+' || f[i] == '-' || f[i] == ' '))
      ++i;
    // width
    if (i < end && f[i] == '*') {
      ++i;
      out += "%!(BADWIDTH)";
    } else {
      while (i < end && f[i] >= '0' && f[i] <= '9') ++i;
    }
    // precision
    if (i + 1 <= end && i < end && f[i] == '.') {
      ++i;
      if (i < end && f[i] == '*') {
        ++i;
        out += "%!(BADPREC)";
      } else {
        while (i < end && f[i] >= '0' && f[i] <= '9') ++i;
      }
    }
    if (i >= end) {
      out += "%!(NOVERB)";
      break;
    }
    auto [verb, size] = DecodeRune(f, i);
    i += size;
    if (verb == '%') {
      out.push_back('%');
    } else {
      out += "%!";
      AppendUtf8(&out, verb);
      out += "(MISSING)";
    }
  }
  return out;
}

std::string HumanizeBytes(uint64_t s) {
  static const char* kSizes[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  char buf[64];
  if (s < 10) {
    std::snprintf(buf, sizeof(buf), "%d B", static_cast<int>(s));
    return buf;
  }
  double e = std::floor(std::log(static_cast<double>(s)) / std::log(1000.0));
  const char* suffix = kSizes[static_cast<int>(e)];
  double val = std::floor(static_cast<double>(s) / std::pow(1000.0, e) * 10 + 0.5) / 10;
  std::snprintf(buf, sizeof(buf), val < 10 ? "%.1f %s" : "%.0f %s", val, suffix);
  return buf;
}

std::string GoDuration(int64_t d) {
  // Port of time.Duration.String's algorithm.
  char buf[32];
  int w = sizeof(buf);
  uint64_t u = static_cast<uint64_t>(d);
  bool neg = d < 0;
  if (neg) u = -u;
  auto fmt_frac = [&](uint64_t v, int prec) {
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      int digit = static_cast<int>(v % 10);
      print = print || digit != 0;
      if (print) buf[--w] = static_cast<char>(digit + '0');
      v /= 10;
    }
    if (print) buf[--w] = '.';
    return v;
  };
  auto fmt_int = [&](uint64_t v) {
    if (v == 0) {
      buf[--w] = '0';
    } else {
      while (v > 0) {
        buf[--w] = static_cast<char>(v % 10 + '0');
        v /= 10;
      }
    }
  };
  if (u < 1000000000ULL) {
    int prec = 0;
    buf[--w] = 's';
    --w;
    if (u == 0) return "0s";
    if (u < 1000ULL) {
      prec = 0;
      buf[w] = 'n';
    } else if (u < 1000000ULL) {
      prec = 3;
      // "µ" is two bytes: shift left one more.
      --w;
      buf[w] = '\xc2';
      buf[w + 1] = '\xb5';
    } else {
      prec = 6;
      buf[w] = 'm';
    }
    u = fmt_frac(u, prec);
    fmt_int(u);
  } else {
    buf[--w] = 's';
    u = fmt_frac(u, 9);
    fmt_int(u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      fmt_int(u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        fmt_int(u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof(buf) - w);
}

std::optional<int64_t> ParseGoDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    std::string num(s.substr(0, i));
    if (num == ".") return std::nullopt;
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1e6;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "h")
      mult = 3600e9;
    else
      return std::nullopt;
    total += std::stod(num) * mult;
  }
  return static_cast<int64_t>(neg ? -total : total);
}

bool ParseGoUint(std::string_view s, int base, uint64_t* out, std::string* err) {
  auto fail = [&](const char* why) {
    if (err) *err = "strconv.ParseUint: parsing " + GoQuote(s) + ": " + why;
    return false;
  };
  if (s.empty()) return fail("invalid syntax");
  uint64_t v = 0;
  bool overflow = false;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return fail("invalid syntax");
    if (v > (std::numeric_limits<uint64_t>::max() - d) / base) overflow = true;
    v = v * base + d;
  }
  if (overflow) return fail("value out of range");
  *out = v;
  return true;
}

bool ParseGoInt(std::string_view s, int base, int64_t* out, std::string* err) {
  std::string_view orig = s;
  auto fail = [&](const char* why) {
    if (err) *err = "strconv.ParseInt: parsing " + GoQuote(orig) + ": " + why;
    return false;
  };
  if (s.empty()) return fail("invalid syntax");
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  uint64_t u;
  std::string uerr;
  if (!ParseGoUint(s, base, &u, &uerr)) {
    return fail(uerr.find("out of range") != std::string::npos ? "value out of range"
                                                               : "invalid syntax");
  }
  const uint64_t cutoff = uint64_t{1} << 63;
  if (!neg && u >= cutoff) return fail("value out of range");
  if (neg && u > cutoff) return fail("value out of range");
  *out = neg ? static_cast<int64_t>(-u) : static_cast<int64_t>(u);
  return true;
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Hex16(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%16llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace quorum::ctl
