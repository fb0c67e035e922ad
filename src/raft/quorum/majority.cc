#include "raft/quorum/majority.h"

#include <algorithm>
#include <array>
#include <vector>

#include "raft/storage.h"

namespace quorum::raft {

Index MajorityCommittedIndex(const std::set<NodeId>& voters,
                             const std::function<std::optional<Index>(NodeId)>& acked) {
  const size_t n = voters.size();
  if (n == 0) return kNoLimit;
  // Small clusters (the common case) sort on the stack.
  std::array<Index, 7> stack{};
  std::vector<Index> heap;
  Index* srt = stack.data();
  if (n > stack.size()) {
    heap.resize(n);
    srt = heap.data();
  }
  size_t i = 0;
  for (NodeId id : voters) {
    auto idx = acked(id);
    srt[i++] = idx ? *idx : 0;
  }
  // The (n/2+1)-th largest value is acknowledged by a majority.
  std::sort(srt, srt + n);
  return srt[n - (n / 2 + 1)];
}

VoteResult MajorityVoteResult(const std::set<NodeId>& voters,
                              const std::map<NodeId, bool>& votes) {
  if (voters.empty()) return VoteResult::kWon;
  size_t yes = 0, missing = 0;
  for (NodeId id : voters) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      ++missing;
    } else if (it->second) {
      ++yes;
    }
  }
  const size_t q = voters.size() / 2 + 1;
  if (yes >= q) return VoteResult::kWon;
  if (yes + missing >= q) return VoteResult::kPending;
  return VoteResult::kLost;
}

}  // namespace quorum::raft
