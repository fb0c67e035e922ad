#include "raft/bootstrap.h"

namespace quorum::raft {

EntryVec BootstrapEntries(const std::vector<NodeId>& voters) {
  EntryVec ents;
  ents.reserve(voters.size());
  for (size_t i = 0; i < voters.size(); ++i) {
    ConfChange cc;
    cc.set_type(pb::ConfChangeAddNode);
    cc.set_node_id(voters[i]);
    Entry e;
    e.set_type(pb::EntryConfChange);
    e.set_term(1);
    e.set_index(i + 1);
    e.set_data(cc.SerializeAsString());
    ents.push_back(std::move(e));
  }
  return ents;
}

HardState BootstrapHardState(const std::vector<NodeId>& voters) {
  HardState hs;
  hs.set_term(1);
  hs.set_commit(voters.size());
  return hs;
}

absl::Status Bootstrap(MemoryStorage& storage, const std::vector<NodeId>& voters) {
  if (voters.empty()) return absl::InvalidArgumentError("must provide at least one voter");
  if (storage.LastIndex() != 0 || storage.FirstIndex() != 1) {
    return absl::FailedPreconditionError("can't bootstrap a nonempty storage");
  }
  if (absl::Status s = storage.Append(BootstrapEntries(voters)); !s.ok()) return s;
  storage.SetHardState(BootstrapHardState(voters));
  return absl::OkStatus();
}

}  // namespace quorum::raft
