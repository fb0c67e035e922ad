#include "raft/quorum/majority.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "raft/storage.h"
#include "util/rng.h"

namespace quorum::raft {
namespace {

// Naive reference: the largest index i such that a majority has match >= i.
Index NaiveCommitted(const std::set<NodeId>& voters, const std::map<NodeId, Index>& match) {
  if (voters.empty()) return kNoLimit;
  Index best = 0;
  for (const auto& [id, candidate] : match) {
    size_t n = 0;
    for (NodeId v : voters) {
      auto it = match.find(v);
      if (it != match.end() && it->second >= candidate) ++n;
    }
    if (n > voters.size() / 2) best = std::max(best, candidate);
  }
  return best;
}

TEST(MajorityTest, Examples) {
  auto acked = [](std::map<NodeId, Index> m) {
    return [m](NodeId id) -> std::optional<Index> {
      auto it = m.find(id);
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
  };
  EXPECT_EQ(MajorityCommittedIndex({1, 2, 3}, acked({{1, 5}, {2, 3}, {3, 1}})), 3u);
  EXPECT_EQ(MajorityCommittedIndex({1, 2, 3}, acked({{1, 5}})), 0u);
  EXPECT_EQ(MajorityCommittedIndex({1}, acked({{1, 7}})), 7u);
  EXPECT_EQ(MajorityCommittedIndex({1, 2, 3, 4}, acked({{1, 9}, {2, 8}, {3, 7}, {4, 6}})), 7u);
  EXPECT_EQ(MajorityCommittedIndex({}, acked({})), kNoLimit);
}

TEST(MajorityTest, CommittedIndexMatchesNaiveReference) {
  util::Rng rng(99);
  for (int iter = 0; iter < 5000; ++iter) {
    const size_t n = rng.Range(1, 9);
    std::set<NodeId> voters;
    std::map<NodeId, Index> match;
    for (NodeId id = 1; id <= n; ++id) {
      voters.insert(id);
      if (rng.Chance(0.85)) match[id] = rng.Range(0, 20);
    }
    auto got = MajorityCommittedIndex(voters, [&](NodeId id) -> std::optional<Index> {
      auto it = match.find(id);
      if (it == match.end()) return std::nullopt;
      return it->second;
    });
    ASSERT_EQ(got, NaiveCommitted(voters, match)) << "iteration " << iter;
  }
}

TEST(MajorityTest, VoteResult) {
  EXPECT_EQ(MajorityVoteResult({1, 2, 3}, {{1, true}}), VoteResult::kPending);
  EXPECT_EQ(MajorityVoteResult({1, 2, 3}, {{1, true}, {2, true}}), VoteResult::kWon);
  EXPECT_EQ(MajorityVoteResult({1, 2, 3}, {{1, true}, {2, false}, {3, false}}), VoteResult::kLost);
  EXPECT_EQ(MajorityVoteResult({1, 2, 3, 4}, {{1, true}, {2, true}, {3, false}}),
            VoteResult::kPending);
  EXPECT_EQ(MajorityVoteResult({1, 2, 3, 4}, {{1, true}, {2, false}, {3, false}}),
            VoteResult::kLost);
  EXPECT_EQ(MajorityVoteResult({}, {}), VoteResult::kWon);
}

}  // namespace
}  // namespace quorum::raft
