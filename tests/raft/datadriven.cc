#include "datadriven.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace quorum::datadriven {
namespace {

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

TestData ParseCommand(const std::string& line) {
  TestData d;
  d.input = line;
  std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (parts.empty()) return d;
  d.cmd = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos) {
      d.args.push_back(parts[i]);
    } else {
      d.kwargs[parts[i].substr(0, eq)] = parts[i].substr(eq + 1);
    }
  }
  return d;
}

}  // namespace

std::vector<std::string> RunFile(const std::string& path,
                                 const std::function<std::string(const TestData&)>& handler) {
  const bool rewrite = std::getenv("QUORUM_DATADRIVEN_REWRITE") != nullptr;
  std::vector<std::string> lines = ReadLines(path);
  std::vector<std::string> failures;
  std::string rewritten;
  if (lines.empty()) failures.push_back(absl::StrCat(path, ": empty or missing test file"));
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#') {
      absl::StrAppend(&rewritten, line, "\n");
      ++i;
      continue;
    }
    TestData d = ParseCommand(line);
    d.pos = absl::StrCat(path, ":", i + 1);
    ++i;
    if (i >= lines.size() || lines[i] != "----") {
      failures.push_back(absl::StrCat(d.pos, ": expected ---- after the command"));
      break;
    }
    ++i;
    std::string expected;
    while (i < lines.size() && !lines[i].empty()) absl::StrAppend(&expected, lines[i++], "\n");
    d.expected = expected;
    std::string actual = handler(d);
    if (!actual.empty() && actual.back() != '\n') actual += "\n";
    if (actual.empty()) actual = "ok\n";
    absl::StrAppend(&rewritten, d.input, "\n----\n", actual);
    if (i < lines.size()) {
      absl::StrAppend(&rewritten, "\n");
      ++i;  // the blank line ending the case
    }
    if (!rewrite && actual != expected) {
      failures.push_back(absl::StrCat(d.pos, ": ", d.input, "\n--- expected:\n", expected,
                                      "--- actual:\n", actual));
    }
  }
  if (rewrite) {
    std::ofstream out(path, std::ios::trunc);
    out << rewritten;
  }
  return failures;
}

}  // namespace quorum::datadriven
