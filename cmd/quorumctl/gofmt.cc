#include "cmd/quorumctl/gofmt.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
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

std::string GoQuoteSharp(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto [r, n] = DecodeRune(s, i);
    i += n;
    if ((r == kBadRune && n == 1) || r == 0xFEFF || (r < ' ' && r != '\t') || r == '`' ||
        r == 0x7F) {
      return GoQuote(s);
    }
  }
  return "`" + std::string(s) + "`";
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

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The time package's own quoting in its errors: bytes outside printable
// ASCII as \xNN, '"' and '\' escaped.
std::string TimeQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < ' ' || c >= 0x80) {
      out += "\\x";
      AppendHex(&out, c, 2);
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out + "\"";
}

int64_t DurationUnit(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") return 1000;
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000;
  if (u == "m") return 60 * int64_t{1000000000};
  if (u == "h") return 3600 * int64_t{1000000000};
  return 0;
}

}  // namespace

// time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with its overflow
// limits and error texts.
std::optional<int64_t> ParseGoDuration(std::string_view s, std::string* err) {
  const std::string_view orig = s;
  auto fail = [&](const std::string& why) -> std::optional<int64_t> {
    if (err) *err = "time: " + why;
    return std::nullopt;
  };
  auto invalid = [&] { return fail("invalid duration " + TimeQuote(orig)); };
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return invalid();
  uint64_t total = 0;
  while (!s.empty()) {
    if (s[0] != '.' && !IsDigit(s[0])) return invalid();
    uint64_t whole = 0;
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (whole > kLimit / 10) return invalid();
      whole = whole * 10 + (s[i] - '0');
      if (whole > kLimit) return invalid();
    }
    bool digits = i > 0;
    // Fraction digits beyond what fits are ignored, as Go does.
    uint64_t frac = 0;
    double scale = 1;
    if (i < s.size() && s[i] == '.') {
      size_t j = ++i;
      bool full = false;
      for (; i < s.size() && IsDigit(s[i]); ++i) {
        if (full || frac > (kLimit - 1) / 10 || frac * 10 + (s[i] - '0') > kLimit) {
          full = true;
          continue;
        }
        frac = frac * 10 + (s[i] - '0');
        scale *= 10;
      }
      digits |= i > j;
    }
    if (!digits) return invalid();
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !IsDigit(s[u])) ++u;
    if (u == i) return fail("missing unit in duration " + TimeQuote(orig));
    const std::string_view unit_name = s.substr(i, u - i);
    const int64_t unit = DurationUnit(unit_name);
    if (unit == 0) {
      return fail("unknown unit " + TimeQuote(unit_name) + " in duration " + TimeQuote(orig));
    }
    s.remove_prefix(u);
    if (whole > kLimit / unit) return invalid();
    uint64_t v = whole * unit;
    if (frac > 0) {
      v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (v > kLimit) return invalid();
    }
    total += v;
    if (total > kLimit) return invalid();
  }
  if (neg) return static_cast<int64_t>(0 - total);
  if (total > kLimit - 1) return invalid();
  return static_cast<int64_t>(total);
}

namespace {

// strconv's underscoreOK: '_' only between digits, or after a base prefix.
bool UnderscoresOk(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  char saw = '^';  // ^ start, 0 digit or prefix, _ underscore, ! other
  size_t i = 0;
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' && std::strchr("bBoOxX", s[1]) != nullptr) {
    i = 2;
    saw = '0';
    hex = s[1] == 'x' || s[1] == 'X';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (IsDigit(c) || (hex && std::isxdigit(static_cast<unsigned char>(c)))) {
      saw = '0';
    } else if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
    } else {
      if (saw == '_') return false;
      saw = '!';
    }
  }
  return saw != '_';
}

// Digit value of c in bases up to 36; 36 for anything else.
int DigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l >= 'a' && l <= 'z') return l - 'a' + 10;
  return 36;
}

}  // namespace

bool ParseGoUint(std::string_view s, int base, uint64_t* out, std::string* err) {
  const std::string_view orig = s;
  auto fail = [&](const char* why) {
    if (err) *err = "strconv.ParseUint: parsing " + GoQuote(orig) + ": " + why;
    return false;
  };
  if (s.empty()) return fail("invalid syntax");
  const bool base0 = base == 0;
  if (base0) {
    base = 10;
    if (s[0] == '0') {
      const char p = s.size() >= 3 ? static_cast<char>(std::tolower(s[1])) : 0;
      base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 8;
      s.remove_prefix(base == 8 && p != 'o' ? 1 : 2);
    }
  }
  uint64_t v = 0;
  bool underscores = false;
  for (char c : s) {
    if (c == '_' && base0) {
      underscores = true;
      continue;
    }
    const int d = DigitValue(c);
    if (d >= base) return fail("invalid syntax");
    // Go stops at the first overflow, before looking at later digits.
    if (v > (std::numeric_limits<uint64_t>::max() - d) / base) return fail("value out of range");
    v = v * base + d;
  }
  if (underscores && !UnderscoresOk(orig)) return fail("invalid syntax");
  *out = v;
  return true;
}

bool ParseGoInt(std::string_view s, int base, int64_t* out, std::string* err) {
  const std::string_view orig = s;
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
  *out = neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
  return true;
}

namespace {

int HexValue(char c) {
  const int d = DigitValue(c);
  return d < 16 ? d : -1;
}

// Reads n hex digits at s[*i]; false if there are not n of them.
bool ReadHex(std::string_view s, size_t* i, int n, uint32_t* v) {
  if (*i + n > s.size()) return false;
  *v = 0;
  for (int k = 0; k < n; ++k) {
    const int d = HexValue(s[*i + k]);
    if (d < 0) return false;
    *v = *v * 16 + d;
  }
  *i += n;
  return true;
}

bool ValidRune(uint32_t r) { return r <= 0x10FFFF && !(r >= 0xD800 && r <= 0xDFFF); }

// One backslash escape of a double-quoted string (strconv.UnquoteChar);
// s[*i] is the character after the backslash.
bool UnquoteEscape(std::string_view s, size_t* i, std::string* out) {
  if (*i >= s.size()) return false;
  const char c = s[(*i)++];
  static constexpr std::string_view kLetters = "abfnrtv\\\"";
  static constexpr std::string_view kBytes = "\a\b\f\n\r\t\v\\\"";
  if (size_t k = kLetters.find(c); k != std::string_view::npos) {
    out->push_back(kBytes[k]);
    return true;
  }
  uint32_t v;
  if (c == 'x') {  // one byte, not necessarily UTF-8
    if (!ReadHex(s, i, 2, &v)) return false;
    out->push_back(static_cast<char>(v));
    return true;
  }
  if (c == 'u' || c == 'U') {
    if (!ReadHex(s, i, c == 'u' ? 4 : 8, &v) || !ValidRune(v)) return false;
    AppendUtf8(out, v);
    return true;
  }
  if (c < '0' || c > '7' || *i + 2 > s.size()) return false;  // \ooo: exactly 3 digits
  v = c - '0';
  for (int k = 0; k < 2; ++k) {
    const char d = s[(*i)++];
    if (d < '0' || d > '7') return false;
    v = v * 8 + (d - '0');
  }
  if (v > 255) return false;
  out->push_back(static_cast<char>(v));
  return true;
}

bool IsScanSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

bool GoUnquote(std::string_view in, std::string* out) {
  if (in.size() < 2 || in.front() != '"' || in.back() != '"') return false;
  const std::string_view body = in.substr(1, in.size() - 2);
  std::string r;
  for (size_t i = 0; i < body.size();) {
    const char c = body[i++];
    if (c == '"' || c == '\n') return false;
    if (c != '\\') {
      r.push_back(c);
    } else if (!UnquoteEscape(body, &i, &r)) {
      return false;
    }
  }
  *out = std::move(r);
  return true;
}

bool GoScanQuoted(std::string_view s, size_t* pos, std::string* out) {
  size_t i = *pos;
  while (i < s.size() && IsScanSpace(s[i])) ++i;
  if (i >= s.size() || (s[i] != '"' && s[i] != '`')) return false;
  const char quote = s[i++];
  // fmt reads runes: an invalid UTF-8 byte arrives as U+FFFD.
  std::string token(1, quote);
  auto take = [&](char* first) {
    if (i >= s.size()) return false;
    *first = s[i];
    auto [r, n] = DecodeRune(s, i);
    if (r == kBadRune && n == 1) {
      AppendUtf8(&token, r);
    } else {
      token.append(s.substr(i, n));
    }
    i += n;
    return true;
  };
  for (char c;;) {
    if (!take(&c)) return false;  // EOF before the closing quote
    if (c == quote) break;
    // Only the rune after a backslash is protected; strconv checks the rest.
    if (quote == '"' && c == '\\' && !take(&c)) return false;
  }
  std::string value;
  if (quote == '`') {
    value = token.substr(1, token.size() - 2);  // raw: as read, no unquoting
  } else if (!GoUnquote(token, &value)) {
    return false;
  }
  *out = std::move(value);
  *pos = i;
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
