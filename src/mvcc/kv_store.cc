#include "mvcc/kv_store.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "mvcc/errors.h"
#include "mvcc/meta_keys.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace quorum::mvcc {
namespace {

absl::StatusOr<uint64_t> ReadMetaU64(const Backend& b, const char* name) {
  auto v = b.Get(Cf::kMeta, name);
  if (absl::IsNotFound(v.status())) return 0;
  if (!v.ok()) return v.status();
  if (v->size() != 8) return absl::DataLossError(absl::StrCat("meta ", name, " is corrupt"));
  return util::DecodeFixed64BE(v->data());
}

}  // namespace

KvStore::KvStore(Backend* backend) : backend_(backend), pending_(backend->NewBatch()) {}
KvStore::~KvStore() = default;

absl::StatusOr<std::unique_ptr<KvStore>> KvStore::Open(Backend* backend,
                                                        CompactorOptions compactor) {
  std::unique_ptr<KvStore> store(new KvStore(backend));
  if (auto s = store->Restore(); !s.ok()) return s;
  store->compactor_ = std::make_unique<Compactor>(backend, &store->index_, store->restored_finished_,
                                                  std::move(compactor));
  if (store->restored_job_) store->compactor_->Schedule(*std::move(store->restored_job_));
  store->restored_job_.reset();
  return store;
}

absl::Status KvStore::Restore() {
  restored_finished_ = -1;
  restored_job_.reset();
  auto ci = ReadMetaU64(*backend_, meta::kConsistentIndex);
  auto ct = ReadMetaU64(*backend_, meta::kConsistentTerm);
  // Absent = never compacted: etcd starts at compact revision -1, so that
  // compacting at 0 on a fresh store succeeds once.
  const bool ever_compacted = backend_->Get(Cf::kMeta, meta::kScheduledCompactRev).ok();
  auto scheduled = ReadMetaU64(*backend_, meta::kScheduledCompactRev);
  auto finished = ReadMetaU64(*backend_, meta::kFinishedCompactRev);
  for (const auto* s : {&ci, &ct, &scheduled, &finished}) {
    if (!s->ok()) return s->status();
  }
  consistent_index_ = *ci;
  consistent_term_ = *ct;

  int64_t max_rev = 0;
  absl::Status bad;
  auto s = backend_->Scan(Cf::kKv, "", "", [&](std::string_view k, std::string_view v) {
    auto d = DecodeRevKey(k);
    mvccpb::KeyValue kv;
    if (!d || !kv.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      bad = absl::DataLossError("kv column family holds an undecodable record");
      return false;
    }
    if (d->tombstone) {
      // Its puts may be compacted away (a compaction at exactly this
      // revision keeps the tombstone): then it stands alone, as etcd's
      // restoreTombstone rebuilds it; dropping it would lose the delete
      // for watches from this revision.
      index_.RestoreTombstone(kv.key(), d->rev);
    } else {
      index_.Restore(kv.key(), Revision{kv.create_revision(), 0}, d->rev, kv.version());
    }
    max_rev = std::max(max_rev, d->rev.main);
    return true;
  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;

  // As in etcd, an empty store is at revision 1; the first write makes 2.
  current_rev_ = std::max<int64_t>({1, max_rev, static_cast<int64_t>(*scheduled)});
  published_rev_ = current_rev_;
  compact_rev_ = ever_compacted ? static_cast<int64_t>(*scheduled) : -1;
  compact_rev_for_apply_ = compact_rev_;
  restored_finished_ = compact_rev_;
  if (ever_compacted) {
    // Drop index history below the compaction; if dropping its records was
    // interrupted (a crash, or a snapshot taken meanwhile), the Compactor
    // goes on with it once the store is open.
    RevisionSet keep = index_.Compact(static_cast<int64_t>(*scheduled));
    const bool ever_finished = backend_->Get(Cf::kMeta, meta::kFinishedCompactRev).ok();
    if (!ever_finished || *finished < *scheduled) {
      restored_finished_ = ever_finished ? static_cast<int64_t>(*finished) : -1;
      restored_job_ = Compactor::Job{static_cast<int64_t>(*scheduled),
                                     std::make_shared<const RevisionSet>(std::move(keep))};
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<WriteTxn> KvStore::Write() { return std::make_unique<WriteTxn>(this); }

absl::StatusOr<std::vector<mvccpb::KeyValue>> KvStore::Fetch(const std::vector<Revision>& revs,
                                                             bool include_pending) const {
  std::vector<mvccpb::KeyValue> out(revs.size());
  std::vector<Revision> stored;
  std::vector<size_t> slots;
  for (size_t i = 0; i < revs.size(); ++i) {
    if (include_pending) {
      auto it = pending_kvs_.find(revs[i]);
      if (it != pending_kvs_.end()) {
        if (!out[i].ParseFromString(it->second)) return absl::InternalError("bad pending kv");
        continue;
      }
    }
    stored.push_back(revs[i]);
    slots.push_back(i);
  }
  // A missing value is ErrCompacted (FetchSerialized); an I/O error or an
  // undecodable record is reported as what it is, not as a compaction.
  auto values = FetchSerialized(stored);
  if (!values.ok()) return values.status();
  for (size_t j = 0; j < values->size(); ++j) {
    const std::string_view v = (*values)[j];
    if (!out[slots[j]].ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      return absl::DataLossError(absl::StrCat("kv record at revision ", revs[slots[j]].main, "_",
                                              revs[slots[j]].sub, " is undecodable"));
    }
  }
  return out;
}

absl::StatusOr<ValueList> KvStore::FetchSerialized(const std::vector<Revision>& revs) const {
  // Looked up in revision order (the backend's key order, which spares
  // RocksDB its own sort by comparator), handed back in `revs` order.
  std::vector<uint32_t> order(revs.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return revs[a] < revs[b]; });
  std::string buf;
  buf.reserve(revs.size() * kRevKeyLen);  // never reallocated: keys point into it
  std::vector<std::string_view> keys;
  keys.reserve(revs.size());
  for (uint32_t i : order) {
    AppendRevKey(revs[i], &buf);
    keys.emplace_back(buf.data() + buf.size() - kRevKeyLen, kRevKeyLen);
  }
  // A list's keys are often written together (a bulk load, one txn), so
  // their revisions lie close: GetSortedValues walks those.
  auto values = backend_->GetSortedValues(Cf::kKv, keys);
  // A missing value: a concurrent compaction removed it after the index lookup.
  if (!values.ok()) return absl::IsNotFound(values.status()) ? ErrCompacted() : values.status();
  values->Permute(order);
  return values;
}

absl::StatusOr<RangeResult> KvStore::RangeAt(std::string_view key, std::string_view end,
                                             const RangeOptions& opts, int64_t cur,
                                             bool include_pending,
                                             ValueList* serialized) const {
  int64_t rev = opts.rev <= 0 ? cur : opts.rev;
  if (rev > cur) return ErrFutureRev();
  const int64_t compact = include_pending ? compact_rev_for_apply_ : CompactRev();
  if (rev < compact) return ErrCompacted();
  IndexRangeResult ir = index_.Range(key, end, rev, opts.limit, opts.count_only);
  // Commit() publishes compact_rev_ before compacting the index: a reader
  // that raced with it and saw the compacted index sees the new compact_rev_.
  if (!include_pending && rev < CompactRev()) return ErrCompacted();
  RangeResult rr;
  rr.rev = cur;
  rr.count = ir.total;
  if (opts.count_only || ir.revs.empty()) return rr;
  absl::Status fetched;
  if (serialized != nullptr) {
    auto values = FetchSerialized(ir.revs);
    fetched = values.status();
    if (values.ok()) *serialized = std::move(*values);
  } else {
    auto kvs = Fetch(ir.revs, include_pending);
    fetched = kvs.status();
    if (kvs.ok()) rr.kvs = std::move(*kvs);
  }
  if (!fetched.ok()) {
    // Values vanish only when a group that compacted past `rev` reached the
    // backend; Commit() publishes that compaction right after. Wait for it,
    // so that whoever sees ErrCompacted also sees CompactRev() > rev.
    if (!include_pending && IsCompacted(fetched)) WaitForCompactionPast(rev);
    return fetched;
  }
  return rr;
}

absl::StatusOr<SerializedRange> KvStore::RangeSerializedAt(std::string_view key,
                                                           std::string_view end,
                                                           const RangeOptions& opts) const {
  absl::ReaderMutexLock state(&reload_mu_);
  SerializedRange out;
  auto rr = RangeAt(key, end, opts, Rev(), /*include_pending=*/false, &out.kvs);
  if (!rr.ok()) return rr.status();
  out.rev = rr->rev;
  out.count = rr->count;
  return out;
}

void KvStore::WaitForCompactionPast(int64_t rev) const {
  for (int spin = 0; spin < 100000 && CompactRev() <= rev; ++spin) std::this_thread::yield();
}

absl::StatusOr<RangeResult> KvStore::Range(std::string_view key, std::string_view end,
                                           const RangeOptions& opts) const {
  absl::ReaderMutexLock state(&reload_mu_);
  // A read of the latest revision is never answered with ErrCompacted: if a
  // commit compacted past the revision it started at, a newer one is
  // published by then, so read that one.
  for (int attempt = 0;; ++attempt) {
    auto r = RangeAt(key, end, opts, Rev(), /*include_pending=*/false);
    if (r.ok() || opts.rev > 0 || attempt == 100 || !IsCompacted(r.status())) return r;
  }
}

absl::Status KvStore::Compact(int64_t rev) {
  if (rev <= compact_rev_for_apply_) return ErrCompacted();
  if (rev > current_rev_) return ErrFutureRev();
  compact_rev_for_apply_ = rev;
  // The records go after the group commits (Commit schedules the Compactor):
  // readers may still read the published revision until then.
  pending_.Put(Cf::kMeta, meta::kScheduledCompactRev, util::EncodeFixed64BE(rev));
  return absl::OkStatus();
}

absl::Status KvStore::Commit(uint64_t consistent_index, uint64_t term, bool sync) {
  pending_.Put(Cf::kMeta, meta::kConsistentIndex, util::EncodeFixed64BE(consistent_index));
  pending_.Put(Cf::kMeta, meta::kConsistentTerm, util::EncodeFixed64BE(term));
  Batch batch = std::move(pending_);
  pending_ = backend_->NewBatch();
  auto s = backend_->Commit(std::move(batch), sync);
  if (!s.ok()) return s;  // the caller treats this as fatal: state is ahead of disk
  pending_kvs_.clear();
  consistent_index_ = consistent_index;
  consistent_term_ = term;
  published_rev_.store(current_rev_, std::memory_order_release);
  if (compact_rev_.load(std::memory_order_relaxed) != compact_rev_for_apply_) {
    // The group compacted: publish it, then drop the index history.
    // The Compactor compacts the index too, a step at a time: a walk of
    // every key under the index lock here held apply and every reader
    // (0.3 s with a million keys). Until then the index merely holds
    // history nobody can read: reads below compact_rev_ fail first.
    compact_rev_.store(compact_rev_for_apply_, std::memory_order_release);
    compactor_->Schedule({compact_rev_for_apply_, nullptr});
  }
  if (observer_ != nullptr && !pending_changes_.empty()) {
    observer_->OnCommit(std::move(pending_changes_), current_rev_);
  }
  pending_changes_.clear();
  return absl::OkStatus();
}

}  // namespace quorum::mvcc

namespace quorum::mvcc {

bool KvStore::LiveRecords::operator()(std::string_view kv_key) const {
  if (keep_ == nullptr) return true;
  auto d = DecodeRevKey(kv_key);
  return !d || d->rev.main > rev_ || keep_->contains(d->rev);
}

absl::StatusOr<KvStore::LiveRecords> KvStore::Live(int64_t* compact_rev) const {
  for (int waited_ms = 0;; ++waited_ms) {
    const int64_t c = CompactRev();
    // Commit publishes a compaction just before it schedules its job, and
    // Reload publishes the new state's before it resumes the Compactor.
    Compactor::Filter f = compactor_->FilterFor(c);
    if (!f.ready) {
      if (waited_ms >= kLiveWaitMs) {
        return absl::UnavailableError("etcdserver: compaction state is changing; try again");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    LiveRecords live;
    if (f.unfinished) {
      live.rev_ = f.unfinished->rev;
      live.keep_ = std::move(f.unfinished->keep);
    }
    *compact_rev = c;
    return live;
  }
}

absl::StatusOr<uint32_t> KvStore::HashKv(int64_t rev, int64_t* hashed_rev,
                                         int64_t* compact_rev) const {
  for (int waited_ms = 0;; ++waited_ms) {
    const uint64_t epoch = reload_epoch_.load();
    if (epoch % 2 == 1) {  // a snapshot's state is being installed
      if (waited_ms >= kLiveWaitMs) {
        return absl::UnavailableError("etcdserver: the state is being replaced; try again");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    auto h = HashKvOnce(rev, hashed_rev, compact_rev);
    if (reload_epoch_.load() == epoch) return h;
  }
}

absl::StatusOr<uint32_t> KvStore::HashKvOnce(int64_t rev, int64_t* hashed_rev,
                                             int64_t* compact_rev) const {
  const int64_t cur = Rev();
  const bool explicit_rev = rev > 0;
  if (!explicit_rev) rev = cur;
  if (rev > cur) return ErrFutureRev();
  *hashed_rev = rev;
  // A compaction published meanwhile may have dropped records the filter
  // still counted: hash again at the new one.
  for (;;) {
    int64_t c = 0;
    absl::StatusOr<LiveRecords> live_or = Live(&c);
    if (!live_or.ok()) return live_or.status();
    const LiveRecords& live = *live_or;
    // As etcd's HashByRev: an explicit revision at the compaction is gone too.
    if (explicit_rev ? rev <= c : rev < c) return ErrCompacted();
    uint32_t crc = 0;
    const std::string end = EncodeRevKey(Revision{rev + 1, 0});
    auto s = backend_->Scan(Cf::kKv, "", end, [&](std::string_view k, std::string_view v) {
      if (!live(k)) return true;
      // A tombstone at exactly the compaction revision is kept for watches
      // (KeyIndex::Compact) until the next compaction, but a member whose
      // compaction finished before that fix may not hold it: never hashed,
      // as etcd's HashKV does not.
      if (auto d = DecodeRevKey(k); d && d->tombstone && d->rev.main == c) return true;
      crc = util::Crc32c(crc, k);
      crc = util::Crc32c(crc, v);
      return true;
    });
    if (!s.ok()) return s;
    if (CompactRev() == c) {
      *compact_rev = c;
      return crc;
    }
  }
}

}  // namespace quorum::mvcc

namespace quorum::mvcc {

void KvStore::PrepareReload() {
  if (reload_epoch_.load() % 2 == 0) {
    reload_mu_.Lock();  // until Reload() returns: no read sees half of each state
    reload_epoch_.fetch_add(1);
  }
  compactor_->Pause();
  if (observer_ != nullptr) observer_->OnStateReplacing();
}

absl::Status KvStore::Reload() {
  pending_ = backend_->NewBatch();
  pending_kvs_.clear();
  PrepareReload();  // normally done already, before the state was replaced
  pending_changes_.clear();
  index_.Clear();
  auto st = Restore();
  compactor_->Resume(restored_finished_, std::move(restored_job_));
  restored_job_.reset();
  reload_epoch_.fetch_add(1);
  reload_mu_.Unlock();
  if (st.ok() && observer_ != nullptr) observer_->OnStateReplaced();
  return st;
}

}  // namespace quorum::mvcc
