#include "mvcc/backend/backend.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace quorum::mvcc {
namespace {

constexpr const char* kCfNames[] = {"kv",      "meta",     "lease",     "auth",
                                    "members", "raft_log", "raft_state"};
static_assert(sizeof(kCfNames) / sizeof(kCfNames[0]) == static_cast<int>(Cf::kCount));

absl::Status ToStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat(std::string(what), ": ", s.ToString()));
  return absl::InternalError(absl::StrCat("rocksdb ", std::string(what), ": ", s.ToString()));
}

rocksdb::ColumnFamilyOptions MakeCfOptions(const BackendOptions& opts,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = opts.write_buffer_bytes;
  cf.max_write_buffer_number = 3;
  // LZ4 is cheap on CPU (the machine is CPU-bound under load) and still halves
  // KeyValue protos with repetitive keys; fall back silently when unsupported.
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Point lookups by exact revision key dominate reads: bloom filters avoid
  // touching SST blocks that cannot hold the key.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

const char* CfName(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

Batch::Batch(const Backend* owner) : owner_(owner), wb_(std::make_unique<rocksdb::WriteBatch>()) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

void Batch::Put(Cf cf, std::string_view key, std::string_view value) {
  wb_->Put(owner_->Handle(cf), rocksdb::Slice(key.data(), key.size()),
           rocksdb::Slice(value.data(), value.size()));
}

void Batch::Delete(Cf cf, std::string_view key) {
  wb_->Delete(owner_->Handle(cf), rocksdb::Slice(key.data(), key.size()));
}

void Batch::DeleteRange(Cf cf, std::string_view begin, std::string_view end) {
  wb_->DeleteRange(owner_->Handle(cf), rocksdb::Slice(begin.data(), begin.size()),
                   rocksdb::Slice(end.data(), end.size()));
}

size_t Batch::Count() const { return wb_->Count(); }

std::string_view Batch::Encoded() const {
  const std::string& rep = wb_->Data();
  return std::string_view(rep.data(), rep.size());
}

absl::StatusOr<std::unique_ptr<Backend>> Backend::Open(const std::string& dir,
                                                       const BackendOptions& opts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir, ": ", ec.message()));

  std::unique_ptr<Backend> b(new Backend(dir, opts));
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  // Two cores: one background job for flushes, one for compactions.
  dbo.max_background_jobs = 2;
  dbo.keep_log_file_num = 2;
  dbo.max_total_wal_size = opts.max_total_wal_bytes;
  // The MANIFEST gains a few hundred bytes per flush or compaction; RocksDB's
  // default preallocates 4 MiB of disk for it up front.
  dbo.manifest_preallocation_size = 256 << 10;
  dbo.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  auto cache = rocksdb::NewLRUCache(opts.block_cache_bytes);
  b->cache_ = cache;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : kCfNames) cfs.emplace_back(name, MakeCfOptions(opts, cache));
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, MakeCfOptions(opts, cache));

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(dbo, dir, cfs, &handles, &raw);
  if (!s.ok()) return ToStatus(s, "open");
  b->db_.reset(raw);
  b->handles_ = std::move(handles);
  return b;
}

Backend::Backend(std::string dir, BackendOptions opts) : dir_(std::move(dir)), opts_(opts) {}

Backend::~Backend() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

absl::Status Backend::Commit(Batch batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync && !opts_.unsafe_no_fsync;
  return ToStatus(db_->Write(wo, batch.wb_.get()), "write");
}

absl::Status Backend::CommitEncoded(std::string_view encoded) {
  // RocksDB's batch header: 8-byte sequence number and 4-byte count.
  if (encoded.size() < 12) return absl::InvalidArgumentError("encoded batch too short");
  rocksdb::WriteBatch wb{std::string(encoded)};
  rocksdb::WriteOptions wo;
  return ToStatus(db_->Write(wo, &wb), "write");
}

absl::Status Backend::SyncWal() {
  if (opts_.unsafe_no_fsync) return absl::OkStatus();
  return ToStatus(db_->SyncWAL(), "sync wal");
}

absl::StatusOr<std::string> Backend::Get(Cf cf, std::string_view key) const {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), Handle(cf), rocksdb::Slice(key.data(), key.size()),
                    &value);
  if (!s.ok()) return ToStatus(s, "get");
  return value;
}

void ValueList::Append(std::string_view v) {
  if (v.size() > room_) {
    const size_t size = std::max(kBlock, v.size());
    blocks_.push_back(std::make_unique<char[]>(size));
    p_ = blocks_.back().get();
    room_ = size;
  }
  if (!v.empty()) std::memcpy(p_, v.data(), v.size());
  views_.emplace_back(p_, v.size());
  p_ += v.size();
  room_ -= v.size();
}

absl::StatusOr<ValueList> Backend::MultiGetValues(Cf cf,
                                                  const std::vector<std::string_view>& keys,
                                                  bool sorted) const {
  return MultiGetValuesInto(cf, keys, 0, sorted, ValueList());
}

absl::StatusOr<ValueList> Backend::MultiGetValuesInto(Cf cf,
                                                      const std::vector<std::string_view>& keys,
                                                      size_t first, bool sorted,
                                                      ValueList out) const {
  // In batches of RocksDB's own MultiGet batch size: its per-call key
  // contexts then stay inline (one call for 10,000 keys grew vectors of
  // megabytes, page faults on every call), and each batch's block-cache
  // pins go as soon as its values are copied. Revisions never change once
  // written, so the batches need no common snapshot: a value compacted
  // away meanwhile is NotFound.
  constexpr size_t kBatch = 32;
  std::array<rocksdb::PinnableSlice, kBatch> values;
  std::array<rocksdb::Slice, kBatch> slices;
  std::array<rocksdb::Status, kBatch> statuses;
  out.views_.reserve(keys.size());
  for (; first < keys.size(); first += kBatch) {
    const size_t n = std::min(kBatch, keys.size() - first);
    for (size_t i = 0; i < n; ++i) {
      slices[i] = rocksdb::Slice(keys[first + i].data(), keys[first + i].size());
    }
    db_->MultiGet(rocksdb::ReadOptions(), Handle(cf), n, slices.data(), values.data(),
                  statuses.data(), sorted);
    for (size_t i = 0; i < n; ++i) {
      if (!statuses[i].ok()) {
        if (statuses[i].IsNotFound()) return absl::NotFoundError("multiget: key not found");
        return ToStatus(statuses[i], "multiget");
      }
      out.Append(std::string_view(values[i].data(), values[i].size()));
      values[i].Reset();
    }
  }
  return out;
}

absl::StatusOr<ValueList> Backend::GetSortedValues(
    Cf cf, const std::vector<std::string_view>& keys) const {
  // After this many unwanted entries in a row the keys are spread out:
  // lookups beat walking past everything between them. Deleted entries
  // (revisions compacted away, not yet dropped by RocksDB) count too:
  // RocksDB steps over them inside Next(), so it is told to give up after
  // kMaxSkipped of them (status Incomplete).
  constexpr int kMaxSkipped = 16;
  if (keys.empty()) return ValueList();
  std::string upper(keys.back());  // just past the last key
  upper.push_back('\0');
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  ro.max_skippable_internal_keys = kMaxSkipped;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(cf)));

  ValueList out;
  out.views_.reserve(keys.size());
  size_t i = 0;
  int skipped = 0;
  it->Seek(rocksdb::Slice(keys[0].data(), keys[0].size()));
  while (i < keys.size() && it->Valid() && skipped < kMaxSkipped) {
    const int c = it->key().compare(rocksdb::Slice(keys[i].data(), keys[i].size()));
    if (c > 0) return absl::NotFoundError("multiget: key not found");
    if (c < 0) {
      ++skipped;
    } else {
      out.Append(std::string_view(it->value().data(), it->value().size()));
      ++i;
      skipped = 0;
    }
    it->Next();
  }
  const bool spread = skipped >= kMaxSkipped || it->status().IsIncomplete();
  if (!it->status().ok() && !it->status().IsIncomplete()) return ToStatus(it->status(), "scan");
  if (i == keys.size()) return out;
  if (!spread) return absl::NotFoundError("multiget: key not found");  // ran out
  return MultiGetValuesInto(cf, keys, i, /*sorted=*/true, std::move(out));
}

absl::Status Backend::Scan(
    Cf cf, std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(cf)));
  for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (!end.empty() && k >= end) break;
    if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return ToStatus(it->status(), "scan");
}

Backend::ReadView Backend::TakeReadView() const {
  absl::ReaderMutexLock gate(&view_gate_);
  rocksdb::DB* db = db_.get();
  return ReadView(db->GetSnapshot(), [db](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); });
}

absl::StatusOr<std::string> Backend::LastKey(Cf cf) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Handle(cf)));
  it->SeekToLast();
  if (!it->Valid()) {
    if (!it->status().ok()) return ToStatus(it->status(), "last key");
    return absl::NotFoundError("empty column family");
  }
  return it->key().ToString();
}

absl::Status Backend::ScanConsistent(
    const std::vector<Cf>& cfs,
    const std::function<bool(Cf, std::string_view, std::string_view)>& fn,
    const ReadView& view) const {
  const ReadView snap = view != nullptr ? view : TakeReadView();
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.snapshot = snap.get();
  absl::Status result;
  for (Cf cf : cfs) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(cf)));
    bool go_on = true;
    for (it->SeekToFirst(); go_on && it->Valid(); it->Next()) {
      go_on = fn(cf, std::string_view(it->key().data(), it->key().size()),
                 std::string_view(it->value().data(), it->value().size()));
    }
    result = ToStatus(it->status(), "scan");
    if (!go_on || !result.ok()) break;
  }
  return result;
}

int64_t Backend::ColumnFamilyBytes(const std::vector<Cf>& cfs) const {
  // Approximate key+value bytes of the whole key space, SST files and
  // memtables alike (memtable arena sizes would count whole 2 MiB blocks).
  // Every key of ours sorts below 0xFF... (revision keys, ids, names).
  static const std::string kEnd(16, '\xff');
  rocksdb::SizeApproximationOptions o;
  o.include_memtables = true;
  o.include_files = true;
  const rocksdb::Range all{rocksdb::Slice(), rocksdb::Slice(kEnd)};
  uint64_t total = 0;
  for (Cf cf : cfs) {
    uint64_t size = 0;
    if (db_->GetApproximateSizes(o, Handle(cf), &all, 1, &size).ok()) total += size;
  }
  return static_cast<int64_t>(total);
}

int64_t Backend::SizeOnDisk() const {
  int64_t total = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  }
  return total;
}

int64_t Backend::LiveDataSize() const {
  uint64_t total = 0;
  for (auto* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimateLiveDataSize, &v)) total += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) total += v;
  }
  return static_cast<int64_t>(total);
}

Backend::MemoryUsage Backend::GetMemoryUsage() const {
  MemoryUsage u;
  for (auto* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kSizeAllMemTables, &v)) {
      u.memtable_bytes += static_cast<int64_t>(v);
    }
  }
  if (cache_) u.block_cache_bytes = static_cast<int64_t>(cache_->GetUsage());
  return u;
}

absl::Status Backend::CompactAll() {
  rocksdb::CompactRangeOptions o;
  for (auto* h : handles_) {
    auto s = db_->CompactRange(o, h, nullptr, nullptr);
    if (!s.ok()) return ToStatus(s, "compact");
  }
  return absl::OkStatus();
}

}  // namespace quorum::mvcc
