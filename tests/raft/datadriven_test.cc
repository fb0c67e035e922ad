// Runs every tests/raft/testdata/*.txt scenario file through InteractionEnv.
// Regenerate expectations with QUORUM_DATADRIVEN_REWRITE=1 and review the diff.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "datadriven.h"
#include "interaction_env.h"

namespace quorum::raft::testing {
namespace {

class DataDrivenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DataDrivenTest, Scenario) {
  InteractionEnv env;
  const std::string path = std::string(QUORUM_RAFT_TESTDATA) + "/" + GetParam();
  for (const std::string& failure : datadriven::RunFile(
           path, [&env](const datadriven::TestData& d) { return env.Handle(d); })) {
    ADD_FAILURE() << failure;
  }
}

std::vector<std::string> Files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(QUORUM_RAFT_TESTDATA)) {
    if (e.path().extension() == ".txt") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Raft, DataDrivenTest, ::testing::ValuesIn(Files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.size() - 4);
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace quorum::raft::testing
