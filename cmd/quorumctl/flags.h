// Command and flag model of quorumctl: etcdctl's cobra/pflag command line
// (same flag names, `--flag value` / `--flag=value` / `-w json` / `-wjson`,
// bool flags with optional `=true|false`, flags anywhere among arguments,
// `--` ends flags, repeated slice flags append, empty values kept, ints in
// Go's base-0 syntax), and etcdctl's help layout (NAME / USAGE / OPTIONS /
// GLOBAL OPTIONS, tab-aligned like Go's text/tabwriter).
#ifndef QUORUM_CMD_QUORUMCTL_FLAGS_H_
#define QUORUM_CMD_QUORUMCTL_FLAGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace quorum::ctl {

enum class FlagKind { kBool, kString, kInt, kUint, kDuration, kStringSlice };

struct FlagSpec {
  std::string name;
  char shorthand = 0;
  FlagKind kind = FlagKind::kString;
  std::string def;  // default, in flag syntax ("5s", "0", "l", "127.0.0.1:2379")
  std::string usage;
};

// Parsed values of one command line. Getters fall back to the default.
class FlagValues {
 public:
  bool Changed(const std::string& name) const { return set_.count(name) > 0; }
  std::string String(const std::string& name) const;
  bool Bool(const std::string& name) const;
  int64_t Int(const std::string& name) const;
  uint64_t Uint(const std::string& name) const;
  int64_t DurationNanos(const std::string& name) const;
  std::vector<std::string> Slice(const std::string& name) const;

  // Sets a value as if given on the command line (env vars, tests).
  void Set(const std::string& name, const std::string& value);
  void SetDefaults(const std::vector<FlagSpec>& specs);

 private:
  std::map<std::string, std::string> defaults_;
  std::map<std::string, std::vector<std::string>> set_;
};

class Context;

struct CommandSpec {
  std::string path;        // "get", "member add"
  std::string short_desc;  // one line
  std::string usage;       // after the binary name: "get [options] <key> [range_end]"
  std::string long_desc;   // optional DESCRIPTION section
  std::vector<FlagSpec> flags;
  std::function<void(Context&, const FlagValues&, const std::vector<std::string>&)> run;
};

// Parses `args` (command path already removed) against `specs`.
// On a pflag-style error returns false with `error` set to pflag's message
// ("unknown flag: --x", "flag needs an argument: --x", "invalid argument ...").
bool ParseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                FlagValues* values, std::vector<std::string>* positionals, std::string* error);

// Validates a value for a flag kind; on failure sets pflag's message.
bool CheckFlagValue(const FlagSpec& spec, const std::string& value, std::string* error);

// etcdctl-style flag table ("      --limit=0\t\t\t\tMaximum number of results").
std::string FlagUsages(std::vector<FlagSpec> specs);

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_FLAGS_H_
