// EventGroup: the changes of one committed write group (or of one replay
// scan) as watchers receive them. Built once by the WatchableStore and shared,
// immutable, by every watcher it is delivered to: a thousand watchers on one
// key hold a thousand references to one group, not a thousand copies.
//
// The wire form of each change (an mvccpb::Event, with or without prev_kv) is
// also built once, on first use by whichever delivery thread needs it first,
// and then shared by every response that carries the event.
//
// Thread-safety: immutable after construction except for the lazily built
// encodings, which are guarded by per-event once flags (any thread).
#ifndef QUORUM_MVCC_EVENT_GROUP_H_
#define QUORUM_MVCC_EVENT_GROUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/container/inlined_vector.h"
#include "mvcc/kv_store.h"

namespace quorum::mvcc {

class EventGroup {
 public:
  // `rev` is the store revision the changes were read at (>= every change's
  // mod_revision). `store` answers prev_kv lookups; it must outlive the group.
  EventGroup(std::vector<Change> changes, int64_t rev, const KvStore* store);
  EventGroup(const EventGroup&) = delete;
  EventGroup& operator=(const EventGroup&) = delete;

  const std::vector<Change>& changes() const { return changes_; }
  const Change& change(size_t i) const { return changes_[i]; }
  size_t size() const { return changes_.size(); }
  int64_t rev() const { return rev_; }

  // The serialized mvccpb::Event of change i. With `with_prev_kv`, the event
  // carries the key's previous value (read at mod_revision - 1, as etcd's
  // watch server does; none for a create or when compacted away).
  const std::string& Encoded(size_t i, bool with_prev_kv) const;

  // Rough payload size of change i on the wire (for queue bounds; no encoding).
  size_t ApproxBytes(size_t i, bool with_prev_kv) const;
  // Rough memory the whole group holds (every change, without prev_kv).
  size_t ApproxTotalBytes() const { return total_bytes_; }

 private:
  struct Encoding {
    absl::once_flag once;
    std::string bytes;
  };
  std::string Encode(size_t i, bool with_prev_kv) const;

  const std::vector<Change> changes_;
  const int64_t rev_;
  const KvStore* store_;
  size_t total_bytes_ = 0;
  std::unique_ptr<Encoding[]> plain_;
  std::unique_ptr<Encoding[]> with_prev_;
};

// The events of one watcher taken from one group: indexes into
// group->changes(), ascending (so in revision order).
struct EventRef {
  std::shared_ptr<const EventGroup> group;
  absl::InlinedVector<uint32_t, 2> events;
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_EVENT_GROUP_H_
