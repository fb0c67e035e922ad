// KvReader: the read side that Range and Txn execution run against. Two
// implementations: the published store (reads from any thread) and an open
// WriteTxn (the apply thread, seeing the txn's own writes).
#ifndef QUORUM_SERVER_APPLY_KV_READER_H_
#define QUORUM_SERVER_APPLY_KV_READER_H_

#include <string_view>

#include "mvcc/kv_store.h"

namespace quorum::server {

class KvReader {
 public:
  virtual ~KvReader() = default;
  virtual absl::StatusOr<mvcc::RangeResult> Range(std::string_view key, std::string_view end,
                                                  const mvcc::RangeOptions& opts) const = 0;
  virtual int64_t Rev() const = 0;
  virtual int64_t CompactRev() const = 0;
};

class StoreReader final : public KvReader {
 public:
  explicit StoreReader(const mvcc::KvStore* store) : store_(store), rev_(store->Rev()) {}
  absl::StatusOr<mvcc::RangeResult> Range(std::string_view key, std::string_view end,
                                          const mvcc::RangeOptions& opts) const override {
    // Pin every read of one request to the revision seen at its start.
    mvcc::RangeOptions o = opts;
    if (o.rev <= 0) o.rev = rev_;
    auto rr = store_->Range(key, end, o);
    if (rr.ok()) rr->rev = rev_;
    return rr;
  }
  // The same range with the key-values left serialized (see
  // KvStore::RangeSerializedAt).
  absl::StatusOr<mvcc::SerializedRange> RangeSerialized(std::string_view key, std::string_view end,
                                                        const mvcc::RangeOptions& opts) const {
    mvcc::RangeOptions o = opts;
    if (o.rev <= 0) o.rev = rev_;
    auto rr = store_->RangeSerializedAt(key, end, o);
    if (rr.ok()) rr->rev = rev_;
    return rr;
  }
  int64_t Rev() const override { return rev_; }
  int64_t CompactRev() const override { return store_->CompactRev(); }

 private:
  const mvcc::KvStore* store_;
  int64_t rev_;
};

class WriteTxnReader final : public KvReader {
 public:
  WriteTxnReader(const mvcc::WriteTxn* txn, const mvcc::KvStore* store)
      : txn_(txn), store_(store) {}
  absl::StatusOr<mvcc::RangeResult> Range(std::string_view key, std::string_view end,
                                          const mvcc::RangeOptions& opts) const override {
    return txn_->Range(key, end, opts);
  }
  int64_t Rev() const override { return txn_->Rev(); }
  // The apply thread's view: includes a Compact() earlier in the same commit
  // group, which readers (CompactRev()) only see after Commit(). Otherwise
  // CheckOps would pass a range that txn_->Range then rejects mid-txn.
  int64_t CompactRev() const override { return store_->CompactRevForApply(); }

 private:
  const mvcc::WriteTxn* txn_;
  const mvcc::KvStore* store_;
};

}  // namespace quorum::server

#endif  // QUORUM_SERVER_APPLY_KV_READER_H_
