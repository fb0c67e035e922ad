// Bootstrapping a brand-new cluster (as etcd raft's Bootstrap): the founding
// membership is written into the log itself as committed ConfChangeAddNode
// entries 1..n at term 1, so that members added later — which start with an
// empty log — learn the initial configuration by replicating the log like
// any other entry (or from a snapshot). Each founder calls this on its empty
// storage before RawNode::Create; the entries are handed out for apply in
// the first Ready and the application applies them with ApplyConfChange.
#ifndef QUORUM_RAFT_BOOTSTRAP_H_
#define QUORUM_RAFT_BOOTSTRAP_H_

#include <vector>

#include "absl/status/status.h"
#include "raft/memory_storage.h"

namespace quorum::raft {

// The entries and hard state a founder persists.
EntryVec BootstrapEntries(const std::vector<NodeId>& voters);
HardState BootstrapHardState(const std::vector<NodeId>& voters);

// Convenience for MemoryStorage; fails unless the storage is empty.
absl::Status Bootstrap(MemoryStorage& storage, const std::vector<NodeId>& voters);

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_BOOTSTRAP_H_
