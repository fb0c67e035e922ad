// Keys of the `meta` column family. DO NOT CHANGE: on-disk format.
//   consistent_index        be64  raft index of the last applied entry
//   consistent_term         be64  its term
//   scheduled_compact_rev   be64  compaction accepted by the apply loop
//   finished_compact_rev    be64  compaction whose deletes are committed
#ifndef QUORUM_MVCC_META_KEYS_H_
#define QUORUM_MVCC_META_KEYS_H_

namespace quorum::mvcc::meta {

inline constexpr char kConsistentIndex[] = "consistent_index";
inline constexpr char kConsistentTerm[] = "consistent_term";
inline constexpr char kScheduledCompactRev[] = "scheduled_compact_rev";
inline constexpr char kFinishedCompactRev[] = "finished_compact_rev";

}  // namespace quorum::mvcc::meta

#endif  // QUORUM_MVCC_META_KEYS_H_
