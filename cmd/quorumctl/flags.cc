#include "cmd/quorumctl/flags.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "cmd/quorumctl/gofmt.h"

namespace quorum::ctl {
namespace {

const FlagSpec* FindLong(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const FlagSpec* FindShort(const std::vector<FlagSpec>& specs, char c) {
  for (const FlagSpec& s : specs) {
    if (s.shorthand == c) return &s;
  }
  return nullptr;
}

}  // namespace

void FlagValues::SetDefaults(const std::vector<FlagSpec>& specs) {
  for (const FlagSpec& s : specs) defaults_[s.name] = s.def;
}

void FlagValues::Set(const std::string& name, const std::string& value) {
  set_[name].push_back(value);
}

std::string FlagValues::String(const std::string& name) const {
  auto it = set_.find(name);
  if (it != set_.end() && !it->second.empty()) return it->second.back();
  auto d = defaults_.find(name);
  return d == defaults_.end() ? "" : d->second;
}

bool FlagValues::Bool(const std::string& name) const {
  std::string v = String(name);
  return v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True";
}

int64_t FlagValues::Int(const std::string& name) const {
  int64_t v = 0;
  ParseGoInt(String(name), 0, &v, nullptr);
  return v;
}

uint64_t FlagValues::Uint(const std::string& name) const {
  uint64_t v = 0;
  ParseGoUint(String(name), 0, &v, nullptr);
  return v;
}

int64_t FlagValues::DurationNanos(const std::string& name) const {
  return ParseGoDuration(String(name)).value_or(0);
}

std::vector<std::string> FlagValues::Slice(const std::string& name) const {
  std::vector<std::string> out;
  auto it = set_.find(name);
  if (it == set_.end()) {
    auto d = defaults_.find(name);
    if (d != defaults_.end() && !d->second.empty()) out = absl::StrSplit(d->second, ',');
    return out;
  }
  // pflag's StringSlice: each occurrence is CSV; occurrences append.
  for (const std::string& v : it->second) {
    if (v.empty()) continue;
    for (absl::string_view p : absl::StrSplit(v, ',')) out.emplace_back(p);
  }
  return out;
}

bool CheckFlagValue(const FlagSpec& spec, const std::string& value, std::string* error) {
  std::string why;
  bool ok = true;
  switch (spec.kind) {
    case FlagKind::kBool:
      ok = value == "true" || value == "false" || value == "1" || value == "0" || value == "t" ||
           value == "f" || value == "T" || value == "F" || value == "TRUE" || value == "FALSE" ||
           value == "True" || value == "False";
      if (!ok) why = "strconv.ParseBool: parsing " + GoQuote(value) + ": invalid syntax";
      break;
    case FlagKind::kInt: {
      int64_t v;
      ok = ParseGoInt(value, 0, &v, &why);  // pflag: base 0 (0x10, 010, 1_000)
      break;
    }
    case FlagKind::kUint: {
      uint64_t v;
      ok = ParseGoUint(value, 0, &v, &why);
      break;
    }
    case FlagKind::kDuration:
      ok = ParseGoDuration(value, &why).has_value();
      break;
    default:
      break;
  }
  if (!ok) {
    *error = "invalid argument " + GoQuote(value) + " for \"" +
             (spec.shorthand ? std::string("-") + spec.shorthand + ", --" : std::string("--")) +
             spec.name + "\" flag: " + why;
  }
  return ok;
}

bool ParseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                FlagValues* values, std::vector<std::string>* positionals, std::string* error) {
  // pflag's tokenisation.
  FlagValues parsed;
  std::vector<std::string> pos;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      pos.insert(pos.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      pos.push_back(a);
      continue;
    }
    const FlagSpec* spec;
    std::string value;
    bool has_value = false;
    if (a[1] == '-') {
      std::string name = a.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
        has_value = true;
      }
      spec = FindLong(specs, name);
      if (spec == nullptr) {
        *error = "unknown flag: --" + name;
        return false;
      }
      if (!has_value && spec->kind != FlagKind::kBool) {
        if (i + 1 >= args.size()) {
          *error = "flag needs an argument: --" + name;
          return false;
        }
        value = args[++i];
        has_value = true;
      }
    } else {
      // Shorthand cluster: -w json, -wjson, -w=json, -i.
      spec = FindShort(specs, a[1]);
      if (spec == nullptr) {
        *error = std::string("unknown shorthand flag: '") + a[1] + "' in " + a;
        return false;
      }
      std::string rest = a.substr(2);
      if (!rest.empty() && rest[0] == '=') {
        value = rest.substr(1);
        has_value = true;
      } else if (spec->kind == FlagKind::kBool) {
        if (!rest.empty()) {
          *error = std::string("unknown shorthand flag: '") + rest[0] + "' in " + a;
          return false;
        }
      } else if (!rest.empty()) {
        value = rest;
        has_value = true;
      } else {
        if (i + 1 >= args.size()) {
          *error = std::string("flag needs an argument: '") + a[1] + "' in " + a;
          return false;
        }
        value = args[++i];
        has_value = true;
      }
    }
    if (!has_value) value = "true";
    if (!CheckFlagValue(*spec, value, error)) return false;
    // Stored as given, even "" (`--order=`, `--order ""`): pflag keeps empty
    // values, and Changed() must see them (`--cacert=` is an error later).
    parsed.Set(spec->name, value);
  }
  parsed.SetDefaults(specs);
  *values = std::move(parsed);
  *positionals = std::move(pos);
  return true;
}

std::string FlagUsages(std::vector<FlagSpec> specs) {
  std::sort(specs.begin(), specs.end(),
            [](const FlagSpec& a, const FlagSpec& b) { return a.name < b.name; });
  std::vector<std::pair<std::string, std::string>> rows;
  size_t width = 0;
  for (const FlagSpec& s : specs) {
    std::string cell =
        s.shorthand ? std::string("  -") + s.shorthand + ", --" + s.name : "      --" + s.name;
    switch (s.kind) {
      case FlagKind::kBool:
        cell += "[=" + (s.def.empty() ? std::string("false") : s.def) + "]";
        break;
      case FlagKind::kString:
        cell += "=\"" + s.def + "\"";
        break;
      case FlagKind::kStringSlice:
        cell += "=[" + s.def + "]";
        break;
      default:
        cell += "=" + s.def;
    }
    width = std::max(width, cell.size());
    rows.emplace_back(cell, s.usage);
  }
  // text/tabwriter(minwidth 1, tabwidth 8, padding 1, padchar '\t').
  size_t col = ((width + 1 + 7) / 8) * 8;
  std::string out;
  for (const auto& [cell, usage] : rows) {
    out += cell;
    size_t tabs = (col - cell.size() + 7) / 8;
    out.append(tabs, '\t');
    out += usage + "\n";
  }
  return out;
}

}  // namespace quorum::ctl
