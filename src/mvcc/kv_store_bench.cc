// Benchmarks of the MVCC store (issue #2 targets: >= 200k Put/s single-thread
// without fsync; KeyIndex memory per key comparable to etcd's in-memory index).
//
//   build/bin/mvcc-bench                          # everything, 1M keys
//   build/bin/mvcc-bench --benchmark_filter=Put   # one group
//   MVCC_BENCH_KEYS=100000 build/bin/mvcc-bench   # smaller runs (profiling)
//
// Keys are 8..16 bytes (distinct, in pseudo-random order), values 256 bytes.
// Each Put is one write txn; Commit() runs every `commit_every` txns with
// BackendOptions.unsafe_no_fsync, as the apply loop's group commit would.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "mvcc/backend/backend.h"
#include "mvcc/kv_store.h"
#include "mvcc/tree_index.h"

namespace quorum::mvcc {
namespace {

int64_t NumKeys() {
  const char* env = getenv("MVCC_BENCH_KEYS");
  return env ? std::atoll(env) : 1'000'000;
}

// Distinct keys of 8..16 decimal digits in a scrambled order: i -> (i * p + c)
// mod 10^8 is a bijection on [0, 10^8) because p is prime to 10.
const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    const int64_t n = NumKeys();
    out.reserve(n);
    char buf[32];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t x = (i * 7919 + 12345) % 100'000'000;
      const int width = 8 + static_cast<int>(i % 9);
      std::snprintf(buf, sizeof(buf), "%0*lld", width, static_cast<long long>(x));
      out.emplace_back(buf);
    }
    return out;
  }();
  return keys;
}

// 256-byte values cut from a 1 MiB random pool at scattered offsets, so that
// neighbouring records in an SST block do not compress against each other
// (as with etcd's benchmark tool, which writes random values).
std::string_view Value(int64_t i) {
  static const std::string pool = [] {
    std::mt19937_64 rng(42);
    std::string p(1 << 20, '\0');
    for (char& c : p) c = static_cast<char>(rng());
    return p;
  }();
  constexpr size_t kValueSize = 256;
  const size_t off = static_cast<size_t>(i * 4099) % (pool.size() - kValueSize);
  return std::string_view(pool).substr(off, kValueSize);
}

// Resident set size in bytes (VmRSS of /proc/self/status).
int64_t RssBytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return 0;
}

// Heap bytes in use (glibc), more precise than RSS for the index alone.
int64_t HeapBytes() {
  malloc_trim(0);
  return static_cast<int64_t>(mallinfo2().uordblks);
}

class TempDir {
 public:
  // MVCC_BENCH_DIR keeps the database (and its RocksDB LOG) for inspection.
  TempDir() {
    if (const char* keep = getenv("MVCC_BENCH_DIR")) {
      path_ = keep;
      keep_ = true;
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
      return;
    }
    char tmpl[] = "/tmp/quorum-mvcc-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    if (keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool keep_ = false;
};

struct Store {
  TempDir dir;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<KvStore> kv;
  uint64_t index = 0;

  Store() {
    BackendOptions opts;
    opts.unsafe_no_fsync = true;
    backend = std::move(Backend::Open(dir.path(), opts)).value();
    kv = std::move(KvStore::Open(backend.get())).value();
  }
  void Commit() {
    if (!kv->Commit(++index, 1, /*sync=*/false).ok()) std::abort();
  }
  // Loads keys [0, n) with one txn per key, committing every `commit_every`.
  void Load(int64_t n, int64_t commit_every) {
    const auto& keys = Keys();
    for (int64_t i = 0; i < n; ++i) {
      auto txn = kv->Write();
      txn->Put(keys[i], Value(i), 0);
      txn->End();
      if ((i + 1) % commit_every == 0) Commit();
    }
    Commit();
  }
};

// Put of NumKeys() distinct keys into an empty store; one iteration = one
// txn. Reports RSS growth of the process per 1M keys (store + index +
// RocksDB memtables; the key strings are generated before measuring).
void BM_Put(benchmark::State& state) {
  const int64_t commit_every = state.range(0);
  const auto& keys = Keys();
  const int64_t n = static_cast<int64_t>(keys.size());
  const int64_t rss_before = RssBytes();
  auto store = std::make_unique<Store>();
  int64_t i = 0;
  for (auto _ : state) {
    auto txn = store->kv->Write();
    txn->Put(keys[i % n], Value(i), 0);
    txn->End();
    if (++i % commit_every == 0) store->Commit();
  }
  store->Commit();
  const int64_t rss_after = RssBytes();
  state.SetItemsProcessed(i);
  state.SetBytesProcessed(i * static_cast<int64_t>(Value(0).size() + 12));
  state.counters["keys"] = static_cast<double>(store->kv->KeyCount());
  state.counters["rss_MB_per_1M_keys"] =
      static_cast<double>(rss_after - rss_before) / (1 << 20) * 1e6 / static_cast<double>(i);
  state.counters["disk_MB"] = static_cast<double>(store->backend->SizeOnDisk()) / (1 << 20);
}
BENCHMARK(BM_Put)
    ->ArgName("commit_every")
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Iterations(NumKeys())
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Heap cost of the in-memory index alone: NumKeys() keys with `revs`
// revisions each (no backend). index_B_per_key - avg key length is the
// per-key overhead to compare with etcd's keyIndex.
void BM_IndexMemory(benchmark::State& state) {
  const int64_t revs = state.range(0);
  const auto& keys = Keys();
  double per_key = 0, key_bytes = 0;
  for (auto _ : state) {
    const int64_t before = HeapBytes();
    auto index = std::make_unique<TreeIndex>();
    int64_t main = 1;
    for (int64_t r = 0; r < revs; ++r) {
      for (const std::string& k : keys) index->Put(k, Revision{++main, 0});
    }
    const int64_t after = HeapBytes();
    per_key = static_cast<double>(after - before) / static_cast<double>(keys.size());
    benchmark::DoNotOptimize(index->KeyCount());
  }
  for (const std::string& k : keys) key_bytes += static_cast<double>(k.size());
  state.counters["index_B_per_key"] = per_key;
  state.counters["avg_key_len"] = key_bytes / static_cast<double>(keys.size());
  state.counters["revs_per_key"] = static_cast<double>(revs);
}
BENCHMARK(BM_IndexMemory)
    ->ArgName("revs")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Compaction of an index of NumKeys() keys with 2 revisions each (no
// backend): how long TreeIndex::Compact holds the index while it walks
// every key and builds the keep set.
void BM_IndexCompact(benchmark::State& state) {
  const auto& keys = Keys();
  for (auto _ : state) {
    state.PauseTiming();
    auto index = std::make_unique<TreeIndex>();
    int64_t main = 1;
    for (int r = 0; r < 2; ++r) {
      for (const std::string& k : keys) index->Put(k, Revision{++main, 0});
    }
    state.ResumeTiming();
    RevisionSet keep = index->Compact(main);
    benchmark::DoNotOptimize(keep.size());
    state.PauseTiming();
    index.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_IndexCompact)->Iterations(3)->Unit(benchmark::kMillisecond);

// Lookup of one random key in an index of NumKeys() keys (no backend): the
// index part of a single-key Range.
void BM_IndexGet(benchmark::State& state) {
  const auto& keys = Keys();
  TreeIndex index;
  int64_t main = 1;
  for (const std::string& k : keys) index.Put(k, Revision{++main, 0});
  std::mt19937_64 rng(4);
  for (auto _ : state) {
    auto v = index.Get(keys[rng() % keys.size()], main);
    benchmark::DoNotOptimize(v->version);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IndexGet)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A store with NumKeys() keys, loaded once and shared by the range benchmarks.
Store& LoadedStore() {
  static Store* store = [] {
    auto* s = new Store();
    s->Load(NumKeys(), 1000);
    s->backend->CompactAll().IgnoreError();  // steady state: data in SSTs
    return s;
  }();
  return *store;
}

// Range of one random existing key at the current revision.
void BM_RangeSingleKey(benchmark::State& state) {
  Store& store = LoadedStore();
  const auto& keys = Keys();
  std::mt19937_64 rng(1);
  int64_t found = 0;
  for (auto _ : state) {
    auto r = store.kv->Range(keys[rng() % keys.size()], "", RangeOptions());
    found += static_cast<int64_t>(r->kvs.size());
  }
  if (found != static_cast<int64_t>(state.iterations())) state.SkipWithError("key missing");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RangeSingleKey)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Range of one random key that does not exist (index only, no backend read).
void BM_RangeMissingKey(benchmark::State& state) {
  Store& store = LoadedStore();
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    auto r = store.kv->Range("missing-" + std::to_string(rng() % 1000000), "", RangeOptions());
    benchmark::DoNotOptimize(r->count);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RangeMissingKey)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Range [k_i, k_{i+100}) over 100 consecutive existing keys.
void BM_Range100Keys(benchmark::State& state) {
  Store& store = LoadedStore();
  std::vector<std::string> sorted = Keys();
  std::sort(sorted.begin(), sorted.end());
  std::mt19937_64 rng(3);
  int64_t got = 0;
  for (auto _ : state) {
    const size_t i = rng() % (sorted.size() - 100);
    auto r = store.kv->Range(sorted[i], sorted[i + 100], RangeOptions());
    got += static_cast<int64_t>(r->kvs.size());
  }
  if (got != 100 * static_cast<int64_t>(state.iterations())) state.SkipWithError("short range");
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Range100Keys)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace quorum::mvcc

BENCHMARK_MAIN();
