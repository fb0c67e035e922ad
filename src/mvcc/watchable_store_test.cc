// WatchableStore tests: a KvStore on a temp RocksDB, a fake WatchSink.
// Committed groups reach watchers only through KvStore::Commit (the store's
// CommitObserver), exactly as on the apply thread.
#include "mvcc/watchable_store.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace quorum::mvcc {
namespace {

const std::string kFromKey(1, '\0');

std::string Describe(const Change& c) {
  return absl::StrCat(c.kv.mod_revision(), " ", c.deleted ? "DEL " : "PUT ", c.kv.key(),
                      c.deleted ? "" : absl::StrCat("=", c.kv.value()));
}

// Records everything per watcher. `full` makes Deliver refuse (and Ready
// say no), like a stream whose queue is full.
class FakeSink : public WatchSink {
 public:
  void Deliver(absl::Span<Delivery> ds) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    for (Delivery& d : ds) {
      if (full_) {
        ++refused_;
        continue;
      }
      auto& got = events_[d.id];
      groups_[d.id].push_back(d.events.group.get());
      const EventGroup& g = *d.events.group;
      int64_t last = 0;
      for (uint32_t i : d.events.events) {
        const Change& c = g.change(i);
        EXPECT_LE(c.kv.mod_revision(), g.rev()) << "event after the response revision";
        EXPECT_GE(c.kv.mod_revision(), last) << "events out of revision order";
        last = c.kv.mod_revision();
        got.push_back(Describe(c));
        last_rev_[d.id] = c.kv.mod_revision();
      }
      d.accepted = true;
    }
  }
  void Compacted(WatchId id, int64_t compact_rev) override {
    absl::MutexLock lock(&mu_);
    compacted_[id] = compact_rev;
  }
  bool Ready() override {
    absl::MutexLock lock(&mu_);
    ++ready_calls_;
    return !full_;
  }
  // Records (id, rev) and, for each, the newest event revision the sink
  // had been given by then for `probe_` (progress must never be ahead).
  void Progress(WatchId id, int64_t rev) override {
    absl::MutexLock lock(&mu_);
    progress_.emplace_back(id, rev);
    probe_at_progress_.push_back(last_rev_[probe_]);
  }
  void Synced(WatchId id) override {
    absl::MutexLock lock(&mu_);
    synced_.push_back(id);
  }
  std::vector<std::pair<WatchId, int64_t>> ProgressCalls() {
    absl::MutexLock lock(&mu_);
    return progress_;
  }
  std::vector<int64_t> ProbeAtProgress() {
    absl::MutexLock lock(&mu_);
    return probe_at_progress_;
  }
  std::vector<WatchId> SyncedCalls() {
    absl::MutexLock lock(&mu_);
    return synced_;
  }
  int64_t ReadyCalls() {
    absl::MutexLock lock(&mu_);
    return ready_calls_;
  }
  void SetProbe(WatchId id) {
    absl::MutexLock lock(&mu_);
    probe_ = id;
  }

  void SetFull(bool f) {
    absl::MutexLock lock(&mu_);
    full_ = f;
  }
  std::vector<std::string> Events(WatchId id) {
    absl::MutexLock lock(&mu_);
    return events_[id];
  }
  size_t Count(WatchId id) {
    absl::MutexLock lock(&mu_);
    return events_[id].size();
  }
  std::map<WatchId, int64_t> Compactions() {
    absl::MutexLock lock(&mu_);
    return compacted_;
  }
  int Refused() {
    absl::MutexLock lock(&mu_);
    return refused_;
  }
  int Calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  bool full_ = false;
  int calls_ = 0;
  int refused_ = 0;
  std::map<WatchId, std::vector<std::string>> events_;
  std::map<WatchId, int64_t> compacted_;
  std::map<WatchId, int64_t> last_rev_;
  std::vector<std::pair<WatchId, int64_t>> progress_;
  std::vector<int64_t> probe_at_progress_;
  std::vector<WatchId> synced_;
  WatchId probe_ = 0;
  int64_t ready_calls_ = 0;

 public:
  std::vector<const EventGroup*> Groups(WatchId id) {
    absl::MutexLock lock(&mu_);
    return groups_[id];
  }

 private:
  std::map<WatchId, std::vector<const EventGroup*>> groups_;
};

// Counts events only (for the 10k-watcher test: no per-event memory).
class CountingSink : public WatchSink {
 public:
  explicit CountingSink(size_t n) : counts_(n + 1, 0) {}
  void Deliver(absl::Span<Delivery> ds) override {
    absl::MutexLock lock(&mu_);
    for (Delivery& d : ds) {
      counts_[static_cast<size_t>(d.id)] += d.events.events.size();
      d.accepted = true;
    }
  }
  void Compacted(WatchId, int64_t) override {}
  bool Ready() override { return true; }
  void Progress(WatchId, int64_t) override {}
  size_t Count(WatchId id) {
    absl::MutexLock lock(&mu_);
    return counts_[static_cast<size_t>(id)];
  }

 private:
  absl::Mutex mu_;
  std::vector<size_t> counts_;
};

// Heap bytes in use (RSS alone hides reuse of memory freed by earlier tests).
int64_t HeapInUse() { return static_cast<int64_t>(mallinfo2().uordblks); }

int64_t VmRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// Polls `pred` until true or the deadline; returns pred().
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

class WatchableStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/quorum-watch-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    BackendOptions opts;
    opts.unsafe_no_fsync = true;
    opts.block_cache_bytes = 8 << 20;
    opts.write_buffer_bytes = 8 << 20;
    auto b = Backend::Open(dir_, opts);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
    auto s = KvStore::Open(backend_.get());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    ws_ = std::make_unique<WatchableStore>(store_.get());
  }
  void TearDown() override {
    ws_.reset();
    store_.reset();
    backend_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Each helper is one txn; Commit() publishes (and notifies) the group.
  int64_t Put(const std::string& key, const std::string& value) {
    auto txn = store_->Write();
    int64_t rev = txn->Put(key, value, 0);
    txn->End();
    return rev;
  }
  int64_t Del(const std::string& key, const std::string& end = "") {
    auto txn = store_->Write();
    int64_t n = txn->DeleteRange(key, end);
    txn->End();
    return n;
  }
  void Commit() {
    ++index_;
    ASSERT_TRUE(store_->Commit(index_, /*term=*/2, /*sync=*/false).ok());
  }
  int64_t PutC(const std::string& key, const std::string& value) {
    int64_t rev = Put(key, value);
    Commit();
    return rev;
  }
  WatchId Watch(const std::string& key, const std::string& end, int64_t start_rev,
                WatchSink* sink, bool no_put = false, bool no_delete = false) {
    WatchOptions o;
    o.key = key;
    o.end = end;
    o.start_rev = start_rev;
    o.no_put = no_put;
    o.no_delete = no_delete;
    WatchId id = ws_->NewWatchId();
    ws_->Watch(id, o, sink);
    return id;
  }

  std::string dir_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvStore> store_;
  std::unique_ptr<WatchableStore> ws_;
  uint64_t index_ = 0;
  FakeSink sink_;
};

using Strs = std::vector<std::string>;

TEST_F(WatchableStoreTest, SyncedKeyRangeFromKeyPrefix) {
  WatchId key = Watch("b", "", 0, &sink_);
  WatchId range = Watch("b", "d", 0, &sink_);
  WatchId from = Watch("c", kFromKey, 0, &sink_);
  WatchId prefix = Watch("p/", "p0", 0, &sink_);  // prefix "p/"
  WatchId all = Watch("", kFromKey, 0, &sink_);    // etcdctl watch --prefix ""
  EXPECT_TRUE(ws_->IsSynced(key));
  PutC("a", "1");    // 2
  PutC("b", "2");    // 3
  PutC("c", "3");    // 4
  PutC("d", "4");    // 5
  PutC("p/x", "5");  // 6
  PutC("p0", "6");   // 7
  Del("b");          // 8
  Commit();
  Put("b", "7");  // 9 and 10 in one group
  Put("p/y", "8");
  Commit();
  EXPECT_EQ(sink_.Events(key), (Strs{"3 PUT b=2", "8 DEL b", "9 PUT b=7"}));
  EXPECT_EQ(sink_.Events(range), (Strs{"3 PUT b=2", "4 PUT c=3", "8 DEL b", "9 PUT b=7"}));
  EXPECT_EQ(sink_.Events(from),
            (Strs{"4 PUT c=3", "5 PUT d=4", "6 PUT p/x=5", "7 PUT p0=6", "10 PUT p/y=8"}));
  EXPECT_EQ(sink_.Events(prefix), (Strs{"6 PUT p/x=5", "10 PUT p/y=8"}));
  EXPECT_EQ(sink_.Events(all).size(), 9u);
}

// Every watcher of a commit gets the same shared group (no per-watcher copy
// of the events), and a sink gets one call per group for all its watchers.
TEST_F(WatchableStoreTest, OneSharedGroupAndOneSinkCallPerCommit) {
  FakeSink other;
  std::vector<WatchId> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(Watch("k", "", 0, i % 2 ? &other : &sink_));
  WatchId range = Watch("a", "z", 0, &sink_);
  const int calls0 = sink_.Calls(), other0 = other.Calls();
  {
    auto txn = store_->Write();
    txn->Put("j", "0", 0);
    txn->Put("k", "1", 0);
    txn->End();
  }
  Commit();  // revision 2
  EXPECT_EQ(sink_.Calls(), calls0 + 1);
  EXPECT_EQ(other.Calls(), other0 + 1);
  const EventGroup* g = sink_.Groups(ids[0]).at(0);
  for (size_t i = 0; i < ids.size(); ++i) {
    FakeSink& s = i % 2 ? other : sink_;
    ASSERT_EQ(s.Groups(ids[i]).size(), 1u);
    EXPECT_EQ(s.Groups(ids[i])[0], g) << "watcher " << i << " got its own copy";
    EXPECT_EQ(s.Events(ids[i]), (Strs{"2 PUT k=1"}));
  }
  EXPECT_EQ(sink_.Groups(range).at(0), g);
  EXPECT_EQ(sink_.Events(range), (Strs{"2 PUT j=0", "2 PUT k=1"}));
}

TEST_F(WatchableStoreTest, SeveralChangesOfOneTxnInSubOrder) {
  WatchId w = Watch("", kFromKey, 0, &sink_);
  {
    auto txn = store_->Write();
    txn->Put("z", "1", 0);
    txn->Put("a", "2", 0);
    txn->Put("m", "3", 0);
    txn->End();
  }
  Commit();
  Del("a", "n");  // deletes a and m in one revision, key order
  Commit();
  EXPECT_EQ(sink_.Events(w), (Strs{"2 PUT z=1", "2 PUT a=2", "2 PUT m=3", "3 DEL a", "3 DEL m"}));
}

TEST_F(WatchableStoreTest, Filters) {
  WatchId noput = Watch("k", "", 0, &sink_, /*no_put=*/true);
  WatchId nodel = Watch("k", "", 0, &sink_, false, /*no_delete=*/true);
  WatchId hist_noput = Watch("k", "l", 2, &sink_, /*no_put=*/true);  // replayed path
  PutC("k", "1");
  Del("k");
  Commit();
  PutC("k", "2");
  EXPECT_EQ(sink_.Events(noput), (Strs{"3 DEL k"}));
  EXPECT_EQ(sink_.Events(nodel), (Strs{"2 PUT k=1", "4 PUT k=2"}));
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(hist_noput); }));
  EXPECT_EQ(sink_.Events(hist_noput), (Strs{"3 DEL k"}));
}

TEST_F(WatchableStoreTest, PastStartRevReplaysThenContinuesLive) {
  for (int i = 0; i < 10; ++i) PutC("k", absl::StrCat(i));  // revs 2..11
  WatchId w = Watch("k", "", 5, &sink_);
  EXPECT_FALSE(ws_->IsSynced(w));
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(w); }));
  PutC("k", "live");  // 12
  Strs want;
  for (int i = 3; i < 10; ++i) want.push_back(absl::StrCat(i + 2, " PUT k=", i));
  want.push_back("12 PUT k=live");
  EXPECT_EQ(sink_.Events(w), want);
}

TEST_F(WatchableStoreTest, FutureStartRevSkipsEarlierRevisions) {
  WatchId w = Watch("k", "", 4, &sink_);
  PutC("k", "a");  // 2
  PutC("k", "b");  // 3
  PutC("k", "c");  // 4
  EXPECT_EQ(sink_.Events(w), (Strs{"4 PUT k=c"}));
}

// Property test: random txns/groups interleaved with watcher creation at
// random start revisions and random sink stalls; every watcher's sequence
// must equal what a naive log says, with no gap and no duplicate.
TEST_F(WatchableStoreTest, RandomHistoryMatchesNaiveLog) {
  const char* env = getenv("WATCH_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10)
                            : static_cast<uint64_t>(
                                  std::chrono::steady_clock::now().time_since_epoch().count());
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (rerun with WATCH_SEED=", seed, ")"));
  std::printf("RandomHistoryMatchesNaiveLog seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto rnd = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const std::vector<std::string> keys = {"a", "b", "ba", "c", "d", "e"};

  struct LogEntry {
    int64_t rev;
    std::string key, value;
    bool deleted;
  };
  std::vector<LogEntry> log;
  std::map<std::string, std::string> live;

  struct W {
    WatchId id;
    std::string key, end;
    int64_t start;  // effective first revision
    bool no_put, no_delete;
    std::unique_ptr<FakeSink> sink;
  };
  std::vector<W> ws;

  auto matches = [](const W& w, const std::string& k) {
    if (w.end.empty()) return k == w.key;
    if (k < w.key) return false;
    if (w.end == kFromKey) return true;
    return k < w.end;
  };

  for (int step = 0; step < 600; ++step) {
    // A group of 1..3 txns.
    const int txns = 1 + rnd(3);
    for (int t = 0; t < txns; ++t) {
      auto txn = store_->Write();
      const int64_t rev = txn->Rev() + 1;
      std::vector<LogEntry> pending;
      const int ops = 1 + rnd(3);
      bool changed = false;
      std::set<std::string> touched;  // etcd forbids touching a key twice per txn
      for (int o = 0; o < ops; ++o) {
        const std::string& k = keys[rnd(static_cast<int>(keys.size()))];
        if (rnd(4) == 0) {
          // delete the key, or [k, k+"z")
          const std::string end = rnd(2) ? "" : k + "z";
          std::vector<std::string> gone;
          bool clash = false;
          for (const auto& [lk, lv] : live) {
            if (end.empty() ? lk == k : (lk >= k && lk < end)) gone.push_back(lk);
          }
          for (const auto& g : gone) clash = clash || touched.count(g) > 0;
          if (clash) continue;
          EXPECT_EQ(txn->DeleteRange(k, end), static_cast<int64_t>(gone.size()));
          for (const auto& g : gone) {
            changed = true;
            touched.insert(g);
            pending.push_back({rev, g, "", true});
            live.erase(g);
          }
        } else {
          if (touched.count(k)) continue;
          touched.insert(k);
          std::string v = absl::StrCat("v", step, ".", t, ".", o);
          txn->Put(k, v, 0);
          changed = true;
          live[k] = v;
          pending.push_back({rev, k, v, false});
        }
      }
      txn->End();
      if (changed) {
        ASSERT_EQ(store_->CurrentRevForApply(), rev);
      }
      for (auto& e : pending) log.push_back(e);
    }
    Commit();

    // Sometimes stall or release a sink.
    if (!ws.empty() && rnd(5) == 0) ws[rnd(static_cast<int>(ws.size()))].sink->SetFull(rnd(2) == 0);

    // Sometimes add a watcher.
    if (rnd(4) == 0) {
      W w;
      const int64_t cur = store_->Rev();
      const int kind = rnd(4);
      const std::string& k = keys[rnd(static_cast<int>(keys.size()))];
      w.key = k;
      if (kind == 1) w.end = k + "z";
      if (kind == 2) w.end = kFromKey;
      if (kind == 3) {
        w.key = "b";
        w.end = "c";
      }
      const int64_t start_choice = rnd(3) == 0 ? 0 : 1 + rnd(static_cast<int>(cur + 2));
      w.start = start_choice == 0 ? cur + 1 : start_choice;
      w.no_put = rnd(6) == 0;
      w.no_delete = !w.no_put && rnd(6) == 0;
      w.sink = std::make_unique<FakeSink>();
      w.id = Watch(w.key, w.end, start_choice, w.sink.get(), w.no_put, w.no_delete);
      ws.push_back(std::move(w));
    }
    if (rnd(50) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  for (auto& w : ws) w.sink->SetFull(false);
  for (auto& w : ws) {
    Strs want;
    for (const auto& e : log) {
      if (e.rev < w.start || !matches(w, e.key)) continue;
      if (e.deleted ? w.no_delete : w.no_put) continue;
      want.push_back(absl::StrCat(e.rev, " ", e.deleted ? "DEL " : "PUT ", e.key,
                                  e.deleted ? "" : absl::StrCat("=", e.value)));
    }
    ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(w.id) && w.sink->Count(w.id) >= want.size(); }))
        << "watcher " << w.id << " [" << w.key << "," << w.end << ") from " << w.start
        << " never caught up: " << w.sink->Count(w.id) << "/" << want.size();
    EXPECT_EQ(w.sink->Events(w.id), want)
        << "watcher " << w.id << " [" << w.key << "," << w.end << ") from " << w.start;
  }
  std::printf("  %zu watchers, %zu log entries, final rev %lld\n", ws.size(), log.size(),
              static_cast<long long>(store_->Rev()));
}

TEST_F(WatchableStoreTest, FullSinkDoesNotBlockCommitAndGetsEverythingOnce) {
  WatchId w = Watch("k", "", 0, &sink_);
  PutC("k", "0");
  sink_.SetFull(true);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= 3000; ++i) PutC("k", absl::StrCat(i));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  EXPECT_LT(ms, 20000) << "commits were slowed down by a full sink";
  EXPECT_FALSE(ws_->IsSynced(w));
  EXPECT_GE(sink_.Refused(), 1);
  sink_.SetFull(false);
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(w) && sink_.Count(w) >= 3001; }));
  PutC("k", "after");
  auto got = sink_.Events(w);
  ASSERT_EQ(got.size(), 3002u);
  for (int i = 0; i <= 3000; ++i) ASSERT_EQ(got[i], absl::StrCat(i + 2, " PUT k=", i));
  EXPECT_EQ(got.back(), "3003 PUT k=after");
}

TEST_F(WatchableStoreTest, WatchBelowCompactionIsCompactedAndRemoved) {
  for (int i = 0; i < 10; ++i) PutC("k", absl::StrCat(i));  // 2..11
  ASSERT_TRUE(store_->Compact(8).ok());
  Commit();
  WatchId old = Watch("k", "", 5, &sink_);
  WatchId at = Watch("k", "", 8, &sink_);  // == compact rev: allowed, as in etcd
  ASSERT_TRUE(WaitFor([&] { return sink_.Compactions().count(old) == 1; }));
  EXPECT_EQ(sink_.Compactions()[old], 8);
  EXPECT_TRUE(sink_.Events(old).empty());
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(at); }));
  EXPECT_EQ(sink_.Compactions().count(at), 0u);
  EXPECT_EQ(sink_.Events(at), (Strs{"8 PUT k=6", "9 PUT k=7", "10 PUT k=8", "11 PUT k=9"}));
  EXPECT_EQ(ws_->WatcherCount(), 1u);
  PutC("k", "x");
  EXPECT_TRUE(sink_.Events(old).empty());
}

TEST_F(WatchableStoreTest, UnsyncedWatcherOvertakenByCompactionIsCompacted) {
  WatchId w = Watch("k", "", 0, &sink_);
  sink_.SetFull(true);
  for (int i = 0; i < 10; ++i) PutC("k", absl::StrCat(i));  // 2..11, all refused
  ASSERT_TRUE(store_->Compact(9).ok());
  Commit();
  sink_.SetFull(false);
  ASSERT_TRUE(WaitFor([&] { return sink_.Compactions().count(w) == 1; }));
  EXPECT_EQ(sink_.Compactions()[w], 9);
  EXPECT_EQ(ws_->WatcherCount(), 0u);
}

// A synced watcher on a quiet key must not be told "compacted" just because
// other keys' history below its last event was compacted away and its sink
// was briefly full: it has missed nothing that compaction removed.
TEST_F(WatchableStoreTest, QuietSyncedWatcherIsNotCompactedWhenItsSinkFills) {
  WatchId w = Watch("quiet", "", 0, &sink_);  // next revision: 2
  for (int i = 0; i < 50; ++i) PutC("busy", absl::StrCat(i));  // 2..51
  ASSERT_TRUE(store_->Compact(40).ok());
  Commit();
  sink_.SetFull(true);
  PutC("quiet", "1");  // 52: refused, the watcher is unsynced
  sink_.SetFull(false);
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(w) || sink_.Compactions().count(w) > 0; }));
  EXPECT_EQ(sink_.Compactions().count(w), 0u) << "spurious compaction";
  EXPECT_EQ(sink_.Events(w), (Strs{"52 PUT quiet=1"}));
}

// A state snapshot installed under the store (KvStore::Reload) jumps the
// revision without a commit notification; watchers must still get the
// revisions in between (replayed from the new state), as etcd's Restore
// moves every synced watcher to unsynced.
TEST_F(WatchableStoreTest, RevisionsFromAReloadedStateAreNotSkipped) {
  WatchId w = Watch("k", "", 0, &sink_);
  PutC("k", "1");  // 2
  {
    // Another writer on the same backend stands for the snapshot's state.
    auto other = KvStore::Open(backend_.get());
    ASSERT_TRUE(other.ok()) << other.status();
    for (int i = 0; i < 3; ++i) {
      auto txn = (*other)->Write();
      txn->Put("k", absl::StrCat("snap", i), 0);  // 3, 4, 5
      txn->End();
      ASSERT_TRUE((*other)->Commit(100 + i, 2, false).ok());
    }
  }
  ASSERT_TRUE(store_->Reload().ok());
  ASSERT_EQ(store_->Rev(), 5);
  PutC("k", "after");  // 6
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(w) && sink_.Count(w) >= 5; }));
  EXPECT_EQ(sink_.Events(w), (Strs{"2 PUT k=1", "3 PUT k=snap0", "4 PUT k=snap1",
                                   "5 PUT k=snap2", "6 PUT k=after"}));
}

// Stream-wide progress (a ProgressRequest) is given only when every watcher
// is synced, at the revision they were all given; per-watcher progress
// (progress_notify) only to synced watchers. Before, the stream read the
// store's revision itself and answered while history was still replaying.
TEST_F(WatchableStoreTest, ProgressOnlyForSyncedWatchersAtTheirRevision) {
  for (int i = 0; i < 20; ++i) PutC("k", absl::StrCat(i));  // 2..21
  WatchId live = Watch("k", "", 0, &sink_);
  sink_.SetFull(true);
  WatchId behind = Watch("k", "", 2, &sink_);  // history, not deliverable yet
  EXPECT_FALSE(ws_->ProgressAll(&sink_, {live, behind}));
  ws_->ProgressEach(&sink_, {live, behind});
  ASSERT_EQ(sink_.ProgressCalls().size(), 1u);
  EXPECT_EQ(sink_.ProgressCalls()[0], std::make_pair(live, int64_t{21}));
  sink_.SetFull(false);
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(behind); }));
  EXPECT_EQ(sink_.SyncedCalls(), (std::vector<WatchId>{behind}));
  EXPECT_EQ(sink_.Count(behind), 20u);
  ASSERT_TRUE(ws_->ProgressAll(&sink_, {live, behind}));
  ASSERT_EQ(sink_.ProgressCalls().size(), 2u);
  EXPECT_EQ(sink_.ProgressCalls()[1], std::make_pair(kProgressAll, int64_t{21}));
  // A cancelled watcher no longer holds stream-wide progress back.
  sink_.SetFull(true);
  WatchId gone = Watch("k", "", 2, &sink_);
  EXPECT_FALSE(ws_->ProgressAll(&sink_, {live, gone}));
  ws_->Cancel(gone);
  EXPECT_TRUE(ws_->ProgressAll(&sink_, {live, gone}));
}

// Under concurrent commits, a progress revision is never ahead of the
// events the sink was given: the revision and the check are taken under
// the lock deliveries hold.
TEST_F(WatchableStoreTest, ProgressNeverAheadOfDeliveredEvents) {
  WatchId w = Watch("", kFromKey, 0, &sink_);  // every revision is an event for it
  sink_.SetProbe(w);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 3000 && !stop.load(); ++i) PutC(absl::StrCat("k", i % 7), "v");
  });
  int asked = 0;
  while (asked < 3000 && sink_.Count(w) < 3000) {
    ws_->ProgressAll(&sink_, {w});
    ws_->ProgressEach(&sink_, {w});
    ++asked;
    if (asked % 64 == 0) std::this_thread::yield();
  }
  stop = true;
  writer.join();
  const auto calls = sink_.ProgressCalls();
  const auto probe = sink_.ProbeAtProgress();
  ASSERT_EQ(calls.size(), probe.size());
  ASSERT_GT(calls.size(), 0u);
  for (size_t i = 0; i < calls.size(); ++i) {
    // Before any event the watcher was given nothing; progress then names
    // the revision it started after (1, the empty store's).
    ASSERT_LE(calls[i].second, std::max<int64_t>(probe[i], 1))
        << "progress " << i << " at " << calls[i].second << " but events only up to " << probe[i];
  }
}

// A sink that refuses (a client that stopped reading) must not make the
// replay thread spin on the store's lock, which commits need too.
TEST_F(WatchableStoreTest, ReplayDoesNotSpinWhileSinksAreFull) {
  for (int i = 0; i < 10; ++i) PutC("k", absl::StrCat(i));
  sink_.SetFull(true);
  Watch("k", "", 2, &sink_);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int64_t before = sink_.ReadyCalls();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int64_t calls = sink_.ReadyCalls() - before;
  // Waiting 2 ms between looks: about 150; spinning: hundreds of thousands.
  EXPECT_LT(calls, 1000) << "replay asked a full sink " << calls << " times in 300 ms";
  EXPECT_GT(calls, 0) << "replay stopped looking";
}

// While the backend's state is being replaced, replay reads nothing: a
// scan then could mix the old compaction revision with the new history.
TEST_F(WatchableStoreTest, NoReplayWhileTheStateIsBeingReplaced) {
  for (int i = 0; i < 10; ++i) PutC("k", absl::StrCat(i));  // 2..11
  ws_->OnStateReplacing();
  WatchId w = Watch("k", "", 2, &sink_);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(sink_.Count(w), 0u) << "replayed from a state being replaced";
  ws_->OnStateReplaced();
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(w); }));
  EXPECT_EQ(sink_.Count(w), 10u);
}

// A delete at exactly the compaction revision is still delivered to a
// watch from that revision (etcd #18089): compaction keeps its tombstone.
TEST_F(WatchableStoreTest, DeleteAtTheCompactionRevisionIsReplayed) {
  PutC("k", "1");  // 2
  Del("k");        // 3
  Commit();
  PutC("k", "2");  // 4
  ASSERT_TRUE(store_->Compact(3).ok());
  Commit();
  absl::Notification dropped;
  store_->WhenCompacted(3, [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    dropped.Notify();
  });
  ASSERT_TRUE(dropped.WaitForNotificationWithTimeout(absl::Seconds(30)));
  WatchId w = Watch("k", "", 3, &sink_);
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(w) && sink_.Count(w) >= 2; }));
  EXPECT_EQ(sink_.Events(w), (Strs{"3 DEL k", "4 PUT k=2"}));
  EXPECT_TRUE(sink_.Compactions().empty());
  // The kept tombstone does not count in the hash: a member that dropped it
  // (one that restarted while compacting) hashes the same.
  int64_t hashed = 0, compact = 0;
  auto before = store_->HashKv(0, &hashed, &compact);
  ASSERT_TRUE(before.ok()) << before.status();
  auto b = backend_->NewBatch();
  b.Delete(Cf::kKv, EncodeRevKey(Revision{3, 0}, /*tombstone=*/true));
  ASSERT_TRUE(backend_->Commit(std::move(b), false).ok());
  auto after = store_->HashKv(0, &hashed, &compact);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*before, *after);
}

TEST_F(WatchableStoreTest, HistoricalWatchOf100kEvents) {
  constexpr int kN = 100000;
  for (int i = 0; i < kN; i += 1000) {
    for (int j = i; j < i + 1000; ++j) Put(absl::StrCat("h/", j % 97), absl::StrCat(j));
    Commit();
  }
  ASSERT_EQ(store_->Rev(), kN + 1);
  CountingSink sink(4);
  const auto t0 = std::chrono::steady_clock::now();
  WatchOptions o;
  o.key = "h/";
  o.end = "h0";
  o.start_rev = 2;
  WatchId id = ws_->NewWatchId();
  ws_->Watch(id, o, &sink);
  ASSERT_TRUE(WaitFor([&] { return sink.Count(id) >= kN; }, std::chrono::seconds(60)))
      << sink.Count(id);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(sink.Count(id), static_cast<size_t>(kN));
  EXPECT_LT(secs, 30.0);
  ASSERT_TRUE(WaitFor([&] { return ws_->IsSynced(id); }));
  PutC("h/x", "live");
  EXPECT_EQ(sink.Count(id), static_cast<size_t>(kN + 1));
  std::printf("historical replay of %d events: %.2fs\n", kN, secs);
  ws_->Cancel(id);
}

TEST_F(WatchableStoreTest, CancelStopsDelivery) {
  WatchId w = Watch("k", "", 0, &sink_);
  WatchId other = Watch("k", "", 0, &sink_);
  PutC("k", "1");
  ws_->Cancel(w);
  ws_->Cancel(w);  // twice is harmless
  PutC("k", "2");
  EXPECT_EQ(sink_.Events(w), (Strs{"2 PUT k=1"}));
  EXPECT_EQ(sink_.Events(other), (Strs{"2 PUT k=1", "3 PUT k=2"}));
  // Cancel of an unsynced (replaying) watcher.
  sink_.SetFull(true);
  WatchId hist = Watch("k", "", 2, &sink_);
  ws_->Cancel(hist);
  sink_.SetFull(false);
  PutC("k", "3");
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_TRUE(sink_.Events(hist).empty());
  EXPECT_EQ(ws_->WatcherCount(), 1u);
}

TEST_F(WatchableStoreTest, TenThousandWatchersOnFewKeysGetEveryEvent) {
  constexpr int kWatchers = 10000;
  constexpr int kKeys = 4;
  constexpr int kBurst = 400;
  CountingSink sink(kWatchers + 8);
  std::vector<WatchId> ids;
  const int64_t rss0 = VmRssKb();
  const int64_t heap0 = HeapInUse();
  for (int i = 0; i < kWatchers; ++i) {
    WatchOptions o;
    o.key = absl::StrCat("svc/", i % kKeys);
    if (i % 10 == 9) {  // some prefix watchers too
      o.key = "svc/";
      o.end = "svc0";
    }
    WatchId id = ws_->NewWatchId();
    ws_->Watch(id, o, &sink);
    ids.push_back(id);
  }
  const int64_t rss1 = VmRssKb();
  const int64_t heap1 = HeapInUse();
  std::printf("10k watchers (store side): VmRSS %lld -> %lld kB (%lld B/watcher), heap in use "
              "+%lld B (%lld B/watcher)\n",
              static_cast<long long>(rss0), static_cast<long long>(rss1),
              static_cast<long long>((rss1 - rss0) * 1024 / kWatchers),
              static_cast<long long>(heap1 - heap0),
              static_cast<long long>((heap1 - heap0) / kWatchers));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kBurst; ++i) {
    Put(absl::StrCat("svc/", i % kKeys), absl::StrCat(i));
    if (i % 10 == 9) Commit();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int i = 0; i < kWatchers; ++i) {
    const size_t want = i % 10 == 9 ? kBurst : kBurst / kKeys;
    ASSERT_EQ(sink.Count(ids[i]), want) << "watcher " << i;
  }
  std::printf("burst of %d puts to %d watchers: %.3fs\n", kBurst, kWatchers, secs);
}

}  // namespace
}  // namespace quorum::mvcc
