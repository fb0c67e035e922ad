// A small data-driven test runner in the cockroachdb/datadriven format
// (tests only). A test file is a sequence of cases:
//
//   # comment lines and blank lines between cases are ignored
//   command arg1 key=value key2=(v1,v2)
//   ----
//   expected output (no blank lines)
//   <blank line>
//
// The runner hands each parsed command to a handler and compares its
// output with the expected text. With QUORUM_DATADRIVEN_REWRITE=1 the file is
// rewritten with the actual outputs instead (review the diff before
// committing it).
#ifndef QUORUM_TESTS_RAFT_DATADRIVEN_H_
#define QUORUM_TESTS_RAFT_DATADRIVEN_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace quorum::datadriven {

struct TestData {
  std::string pos;  // "file:line" of the command
  std::string cmd;
  std::vector<std::string> args;              // positional arguments
  std::map<std::string, std::string> kwargs;  // key=value arguments
  std::string input;                          // the full command line
  std::string expected;

  bool Has(const std::string& key) const { return kwargs.count(key) > 0; }
  std::string Get(const std::string& key, const std::string& def = "") const {
    auto it = kwargs.find(key);
    return it == kwargs.end() ? def : it->second;
  }
};

// Runs every case of `path` through handler (which returns the output).
// Returns mismatch descriptions (empty on success).
std::vector<std::string> RunFile(const std::string& path,
                                 const std::function<std::string(const TestData&)>& handler);

}  // namespace quorum::datadriven

#endif  // QUORUM_TESTS_RAFT_DATADRIVEN_H_
