// Backend: the member's one RocksDB database, split into column families with
// fixed names (DO NOT CHANGE them: they are the on-disk format):
//   kv          rev_key -> mvccpb.KeyValue            (mvcc history)
//   meta        name    -> value (consistent_index, compaction revisions, ...)
//   lease       lease id -> lease record              (issue #5)
//   auth        users/roles                           (auth issue)
//   members     member id -> member record            (issue #4)
//   raft_log    index:be64 -> raft entry              (issue #4)
//   raft_state  hard state, conf state                (issue #4)
// Writes go through WriteBatch; Commit(sync=true) returns after fsync.
// Thread-safety: every method may be called from any thread (RocksDB is).
#ifndef QUORUM_MVCC_BACKEND_BACKEND_H_
#define QUORUM_MVCC_BACKEND_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class Cache;
class DB;
class ColumnFamilyHandle;
class WriteBatch;
class Snapshot;
}  // namespace rocksdb

namespace quorum::mvcc {

enum class Cf : int { kKv = 0, kMeta, kLease, kAuth, kMembers, kRaftLog, kRaftState, kCount };

// Name of a column family on disk.
const char* CfName(Cf cf);

struct BackendOptions {
  // Block cache for reads; values are read by exact revision key, so a
  // moderate cache plus bloom filters serve point lookups well.
  size_t block_cache_bytes = 64 << 20;
  // Memtable size per column family; writes are small and sequential in
  // revision order, so a few MiB keep flushes cheap and memory low.
  size_t write_buffer_bytes = 8 << 20;
  // Cap on the live WAL files. Every put is written twice (raft_log entry,
  // then kv at apply) and the small column families (meta, raft_state) never
  // fill a memtable, so they pin the oldest WAL file until this cap forces
  // their flush: the WAL on disk sits near this figure in steady state.
  // 16 MiB flushes kv and raft_log at about 8 MiB each (= write_buffer_bytes).
  size_t max_total_wal_bytes = 16 << 20;
  // Test-only: never fsync (etcd's --unsafe-no-fsync).
  bool unsafe_no_fsync = false;
};

class Backend;

// Values looked up by Backend::MultiGetValues or GetSortedValues, copied
// once out of RocksDB into blocks this object owns (so no block-cache entry
// stays pinned while a response is encoded). Movable; views stay valid for
// as long as the object lives.
class ValueList {
 public:
  size_t size() const { return views_.size(); }
  std::string_view operator[](size_t i) const { return views_[i]; }
  // Keeps only the first n values.
  void Truncate(size_t n) {
    if (n < views_.size()) views_.resize(n);
  }
  // Reorders: value i moves to position order[i] (order is a permutation).
  void Permute(const std::vector<uint32_t>& order) {
    std::vector<std::string_view> out(views_.size());
    for (size_t i = 0; i < views_.size(); ++i) out[order[i]] = views_[i];
    views_ = std::move(out);
  }

 private:
  friend class Backend;
  // Appends a copy of `v`, in blocks of kBlock bytes: blocks this size come
  // back from the allocator's free lists, where one buffer of megabytes
  // would be a fresh mmap that page-faults as it fills.
  void Append(std::string_view v);
  static constexpr size_t kBlock = 64 << 10;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* p_ = nullptr;
  size_t room_ = 0;
  std::vector<std::string_view> views_;
};

// A set of changes committed atomically; made by Backend::NewBatch().
class Batch {
 public:
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;
  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);
  // Deletes every key in [begin, end).
  void DeleteRange(Cf cf, std::string_view begin, std::string_view end);
  size_t Count() const;
  bool Empty() const { return Count() == 0; }
  // The batch in RocksDB's own encoding: what Backend::CommitEncoded takes
  // back (the raft log journal stores it; see log_journal.h).
  std::string_view Encoded() const;

 private:
  friend class Backend;
  explicit Batch(const Backend* owner);
  const Backend* owner_;
  std::unique_ptr<rocksdb::WriteBatch> wb_;
};

class Backend {
 public:
  static absl::StatusOr<std::unique_ptr<Backend>> Open(const std::string& dir,
                                                       const BackendOptions& opts = {});
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  Batch NewBatch() const { return Batch(this); }
  // Applies `batch` atomically; with sync the WAL is fsynced first.
  absl::Status Commit(Batch batch, bool sync);
  // Fsyncs the WAL (makes every earlier unsynced Commit durable).
  absl::Status SyncWal();
  // Applies a batch from Batch::Encoded() of this backend (its column
  // families' ids are this database's), unsynced. InvalidArgument when the
  // bytes are not such a batch.
  absl::Status CommitEncoded(std::string_view encoded);

  // NotFound when absent.
  absl::StatusOr<std::string> Get(Cf cf, std::string_view key) const;
  // Point lookups into one ValueList (no string per value): NotFound when
  // any key is missing. Why: a large range hands thousands of values
  // to the response encoder. `sorted`: the keys ascend (RocksDB then skips
  // its own sort).
  absl::StatusOr<ValueList> MultiGetValues(Cf cf, const std::vector<std::string_view>& keys,
                                           bool sorted = false) const;
  // MultiGetValues of ascending `keys` that walks an iterator over them
  // where they lie close together (each step a Next instead of a lookup),
  // and looks the rest up as MultiGetValues does once they spread out.
  absl::StatusOr<ValueList> GetSortedValues(Cf cf, const std::vector<std::string_view>& keys) const;
  // Visits [begin, end) in key order (end empty = to the last key) until fn
  // returns false.
  absl::Status Scan(Cf cf, std::string_view begin, std::string_view end,
                    const std::function<bool(std::string_view, std::string_view)>& fn) const;

  // A point-in-time view of the whole database, taken now and scanned later
  // (possibly on another thread); released with its last copy, which must
  // go before the Backend does.
  using ReadView = std::shared_ptr<const rocksdb::Snapshot>;
  ReadView TakeReadView() const;
  // Held (exclusively) by whoever replaces the state in several batches (a
  // snapshot restore): views taken meanwhile (TakeReadView, ScanConsistent
  // without one) wait for it, so none holds half of the old state and half
  // of the new.
  absl::Mutex& ViewGate() const ABSL_LOCK_RETURNED(view_gate_) { return view_gate_; }
  // The greatest key of `cf`; NotFound when it is empty.
  absl::StatusOr<std::string> LastKey(Cf cf) const;
  // Visits every key of each of `cfs` (in order, each in key order) as of
  // `view`, or of a RocksDB snapshot taken on entry when null: a consistent
  // point-in-time view however many batches commit meanwhile, without
  // blocking writers.
  absl::Status ScanConsistent(
      const std::vector<Cf>& cfs,
      const std::function<bool(Cf, std::string_view, std::string_view)>& fn,
      const ReadView& view = nullptr) const;
  // Estimated key+value bytes held by `cfs` (SST files + memtables): what the space
  // quota counts (the raft log is excluded, as etcd's WAL is from its db).
  int64_t ColumnFamilyBytes(const std::vector<Cf>& cfs) const;

  // Bytes on disk (SST + WAL), as dbSize; and live data estimate (dbSizeInUse).
  int64_t SizeOnDisk() const;
  int64_t LiveDataSize() const;
  // Memory RocksDB holds now: memtables (active, immutable and pinned, all
  // column families) and the block cache. For logs and diagnostics.
  struct MemoryUsage {
    int64_t memtable_bytes = 0;
    int64_t block_cache_bytes = 0;
  };
  MemoryUsage GetMemoryUsage() const;
  // Compacts all column families (etcdctl defrag).
  absl::Status CompactAll();
  const std::string& dir() const { return dir_; }
  bool unsafe_no_fsync() const { return opts_.unsafe_no_fsync; }

 private:
  // MultiGetValues of keys[first..], appended to `out`.
  absl::StatusOr<ValueList> MultiGetValuesInto(Cf cf, const std::vector<std::string_view>& keys,
                                               size_t first, bool sorted, ValueList out) const;
  friend class Batch;
  Backend(std::string dir, BackendOptions opts);
  rocksdb::ColumnFamilyHandle* Handle(Cf cf) const {
    return handles_[static_cast<int>(cf)];
  }

  std::string dir_;
  BackendOptions opts_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; released in ~Backend
  mutable absl::Mutex view_gate_;
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_BACKEND_BACKEND_H_
