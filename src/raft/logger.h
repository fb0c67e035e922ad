// raft::Logger — where the raft core reports notable events (elections,
// role changes, rejected messages). Passed in Config; raft never uses a
// global logger. Implementations must be cheap when the level is disabled.
#ifndef QUORUM_RAFT_LOGGER_H_
#define QUORUM_RAFT_LOGGER_H_

#include <cstdio>
#include <string_view>

namespace quorum::raft {

class Logger {
 public:
  enum class Level { kDebug, kInfo, kWarning, kError };
  virtual ~Logger() = default;
  virtual bool Enabled(Level level) const = 0;
  virtual void Log(Level level, std::string_view msg) = 0;
};

// Discards everything (explicitly chosen, e.g. by benchmarks and simulation).
class DiscardLogger final : public Logger {
 public:
  bool Enabled(Level) const override { return false; }
  void Log(Level, std::string_view) override {}
};

// Writes to stderr at or above a minimum level.
class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(Level min = Level::kInfo) : min_(min) {}
  bool Enabled(Level level) const override { return level >= min_; }
  void Log(Level level, std::string_view msg) override {
    static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    std::fprintf(stderr, "raft %s %.*s\n", kNames[static_cast<int>(level)],
                 static_cast<int>(msg.size()), msg.data());
  }

 private:
  Level min_;
};

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_LOGGER_H_
