#include "mvcc/kv_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "mvcc/errors.h"
#include "mvcc/meta_keys.h"
#include "util/coding.h"

namespace quorum::mvcc {
namespace {

const std::string kFromKey(1, '\0');

std::string Describe(const mvccpb::KeyValue& kv) {
  return absl::StrCat(kv.key(), "=", kv.value(), " c", kv.create_revision(), " m",
                      kv.mod_revision(), " v", kv.version(),
                      kv.lease() ? absl::StrCat(" l", kv.lease()) : "");
}

std::string Describe(const RangeResult& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs) out.push_back(Describe(kv));
  return absl::StrJoin(out, ", ");
}

// A KvStore on a fresh RocksDB directory under /tmp, removed at teardown.
class KvStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/quorum-mvcc-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_NO_FATAL_FAILURE(Open());
  }
  void TearDown() override {
    if (gate_ != nullptr) OpenGate();
    store_.reset();
    backend_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Open() {
    BackendOptions opts;
    opts.unsafe_no_fsync = true;
    opts.block_cache_bytes = 1 << 20;
    opts.write_buffer_bytes = 1 << 20;
    auto b = Backend::Open(dir_, opts);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
    auto s = KvStore::Open(backend_.get(), compactor_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  // Closes the store and the database and opens both again (a restart).
  void Reopen() {
    store_.reset();
    backend_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  int64_t Put(const std::string& key, const std::string& value, int64_t lease = 0) {
    auto txn = store_->Write();
    int64_t rev = txn->Put(key, value, lease);
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
  // Blocks until the Compactor dropped what compaction `rev` left behind.
  void WaitDropped(int64_t rev) {
    absl::Notification n;
    store_->WhenCompacted(rev, [&](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      n.Notify();
    });
    ASSERT_TRUE(n.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }
  // The Compactor of the next Open() waits before every batch until the
  // test allows it (or the job is cancelled).
  struct Gate {
    absl::Mutex mu;
    int allowed = 0;
    int arrived = 0;  // batches that reached the gate
    int started = 0;  // batches that passed it
    bool open = false;
  };
  void GateCompactor() {
    gate_ = std::make_shared<Gate>();
    compactor_.before_batch = [g = gate_](const std::function<bool()>& cancelled) {
      {
        absl::MutexLock l(&g->mu);
        ++g->arrived;
      }
      for (;;) {
        {
          absl::MutexLock l(&g->mu);
          if (g->open || g->started < g->allowed) {
            ++g->started;
            return;
          }
        }
        if (cancelled()) return;
        absl::SleepFor(absl::Milliseconds(1));
      }
    };
  }
  void OpenGate() {
    absl::MutexLock l(&gate_->mu);
    gate_->open = true;
  }
  void WaitBatchArrived() {
    absl::MutexLock l(&gate_->mu);
    auto arrived = [g = gate_.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(g->mu) { return g->arrived > 0; };
    ASSERT_TRUE(gate_->mu.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(30)));
  }
  int BatchesStarted() {
    absl::MutexLock l(&gate_->mu);
    return gate_->started;
  }
  // Commits a group that compacts, and waits for its records to be dropped.
  void CommitAndDrop() {
    ASSERT_NO_FATAL_FAILURE(Commit());
    ASSERT_NO_FATAL_FAILURE(WaitDropped(store_->CompactRev()));
  }

  // Range with rev/limit/count_only; "" on error.
  std::string Get(const std::string& key, const std::string& end = "", int64_t rev = 0) {
    RangeOptions o;
    o.rev = rev;
    auto r = store_->Range(key, end, o);
    if (!r.ok()) return r.status().ToString();
    return Describe(*r);
  }

  // Every key at every readable revision: the whole observable state.
  std::string Dump() {
    std::vector<std::string> out;
    out.push_back(absl::StrCat("rev=", store_->Rev(), " compact=", store_->CompactRev()));
    for (int64_t rev = std::max<int64_t>(1, store_->CompactRev()); rev <= store_->Rev(); ++rev) {
      out.push_back(absl::StrCat("@", rev, ": ", Get("", kFromKey, rev)));
    }
    return absl::StrJoin(out, "\n");
  }

  // Records of the kv column family as "main.sub[t]".
  std::vector<std::string> BackendRecords() {
    std::vector<std::string> out;
    auto s = backend_->Scan(Cf::kKv, "", "", [&](std::string_view k, std::string_view) {
      auto d = DecodeRevKey(k);
      out.push_back(d ? absl::StrCat(d->rev.main, ".", d->rev.sub, d->tombstone ? "t" : "")
                      : "garbage");
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  std::string Records() { return absl::StrJoin(BackendRecords(), " "); }

  // RangeSerializedAt hands over exactly the bytes Range parses.
  void ExpectSerializedMatchesParsed(const std::string& key, const std::string& end, int64_t rev,
                                     int64_t limit = 0) {
    const RangeOptions o{.limit = limit, .rev = rev};
    auto parsed = store_->Range(key, end, o);
    auto raw = store_->RangeSerializedAt(key, end, o);
    ASSERT_EQ(parsed.ok(), raw.ok()) << parsed.status() << " vs " << raw.status();
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status(), raw.status());
      return;
    }
    EXPECT_EQ(raw->rev, parsed->rev);
    EXPECT_EQ(raw->count, parsed->count);
    ASSERT_EQ(raw->kvs.size(), parsed->kvs.size()) << "rev " << rev << " limit " << limit;
    for (size_t i = 0; i < raw->kvs.size(); ++i) {
      EXPECT_EQ(raw->kvs[i], parsed->kvs[i].SerializeAsString()) << "kv " << i << " rev " << rev;
    }
  }

  uint64_t MetaU64(const char* name) {
    auto v = backend_->Get(Cf::kMeta, name);
    if (!v.ok()) return 0;
    return util::DecodeFixed64BE(v->data());
  }

  std::string dir_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvStore> store_;
  uint64_t index_ = 0;
  CompactorOptions compactor_;  // a test may gate the Compactor before Reopen()
  std::shared_ptr<Gate> gate_;
};

// Revisions follow etcd: an empty store is at revision 1, the first write
// txn makes revision 2.

TEST_F(KvStoreTest, EmptyStoreIsAtRevisionOne) {
  EXPECT_EQ(store_->Rev(), 1);
  EXPECT_EQ(store_->CurrentRevForApply(), 1);
  EXPECT_LE(store_->CompactRev(), 0);
  auto r = store_->Range("", kFromKey, RangeOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rev, 1);
  EXPECT_EQ(r->count, 0);
  EXPECT_TRUE(IsFutureRev(store_->Range("", kFromKey, RangeOptions{.rev = 2}).status()));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->Rev(), 1);
}

TEST_F(KvStoreTest, PutThenGet) {
  EXPECT_EQ(Put("foo", "bar"), 2);
  Commit();
  RangeOptions o;
  auto r = store_->Range("foo", "", o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key(), "foo");
  EXPECT_EQ(r->kvs[0].value(), "bar");
  EXPECT_EQ(r->kvs[0].create_revision(), 2);
  EXPECT_EQ(r->kvs[0].mod_revision(), 2);
  EXPECT_EQ(r->kvs[0].version(), 1);
  EXPECT_EQ(r->kvs[0].lease(), 0);
  EXPECT_EQ(r->rev, 2);
  EXPECT_EQ(r->count, 1);
  EXPECT_EQ(Get("nope"), "");
  EXPECT_EQ(store_->KeyCount(), 1u);
}

TEST_F(KvStoreTest, BinaryKeysAndValues) {
  const std::string key("k\0\xff", 3), value("\0\x01\x02", 3);
  Put(key, value);
  Commit();
  auto r = store_->Range(key, "", RangeOptions());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key(), key);
  EXPECT_EQ(r->kvs[0].value(), value);
}

TEST_F(KvStoreTest, OneMainRevisionPerTxnWithSubOrdinals) {
  auto txn = store_->Write();
  EXPECT_EQ(txn->Rev(), 1);
  EXPECT_EQ(txn->Put("a", "1", 0), 2);
  EXPECT_EQ(txn->Rev(), 2);
  EXPECT_EQ(txn->Put("b", "1", 0), 2);
  EXPECT_EQ(txn->Put("c", "1", 0), 2);
  EXPECT_EQ(txn->DeleteRange("a", ""), 1);
  auto changes = txn->End();
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_FALSE(changes[0].deleted);
  EXPECT_TRUE(changes[3].deleted);
  EXPECT_EQ(changes[3].kv.key(), "a");
  EXPECT_EQ(changes[3].kv.mod_revision(), 2);
  EXPECT_EQ(store_->CurrentRevForApply(), 2);
  Commit();
  EXPECT_EQ(store_->Rev(), 2);
  EXPECT_EQ(Records(), "2.0 2.1 2.2 2.3t");
  EXPECT_EQ(Get("", kFromKey), "b=1 c2 m2 v1, c=1 c2 m2 v1");
  // The next txn gets the next main revision and starts again at sub 0.
  auto txn2 = store_->Write();
  txn2->Put("d", "1", 0);
  txn2->Put("e", "1", 0);
  txn2->End();
  Commit();
  EXPECT_EQ(Records(), "2.0 2.1 2.2 2.3t 3.0 3.1");
}

TEST_F(KvStoreTest, NoRevisionBumpWithoutChange) {
  Put("a", "1");  // 2
  Commit();
  {
    auto txn = store_->Write();
    EXPECT_EQ(txn->DeleteRange("missing", ""), 0);
    EXPECT_EQ(txn->DeleteRange("b", "z"), 0);
    EXPECT_EQ(txn->Rev(), 2);
    EXPECT_TRUE(txn->End().empty());
  }
  {
    auto txn = store_->Write();  // read-only txn
    EXPECT_EQ(txn->Range("a", "", RangeOptions())->kvs.size(), 1u);
    txn->End();
  }
  EXPECT_EQ(store_->CurrentRevForApply(), 2);
  Commit();
  EXPECT_EQ(store_->Rev(), 2);
  EXPECT_EQ(Del("a"), 1);  // 3
  EXPECT_EQ(store_->CurrentRevForApply(), 3);
  EXPECT_EQ(Del("a"), 0);  // already gone: no new revision
  EXPECT_EQ(store_->CurrentRevForApply(), 3);
  Commit();
  EXPECT_EQ(Put("a", "2"), 4);
  EXPECT_EQ(Records(), "2.0 3.0t");
}

TEST_F(KvStoreTest, VersionsAcrossDeleteAndRecreate) {
  Put("foo", "v1");          // 2
  Put("foo", "v2");          // 3
  EXPECT_EQ(Del("foo"), 1);  // 4
  Put("foo", "v3");          // 5
  Put("foo", "v4");          // 6
  Commit();
  const struct {
    int64_t rev;
    std::string want;
  } cases[] = {
      {1, ""}, {2, "foo=v1 c2 m2 v1"}, {3, "foo=v2 c2 m3 v2"},
      {4, ""}, {5, "foo=v3 c5 m5 v1"}, {6, "foo=v4 c5 m6 v2"},
  };
  for (const auto& c : cases) EXPECT_EQ(Get("foo", "", c.rev), c.want) << "rev " << c.rev;
}

TEST_F(KvStoreTest, LeaseIsStored) {
  Put("a", "1", /*lease=*/0x1234);  // 2
  Put("b", "1", 7);                 // 3
  Put("a", "2");                    // 4: a put without lease detaches it
  Commit();
  EXPECT_EQ(Get("a", "", 2), "a=1 c2 m2 v1 l4660");
  EXPECT_EQ(Get("", kFromKey), "a=2 c2 m4 v2, b=1 c3 m3 v1 l7");
}

TEST_F(KvStoreTest, RangeAtOldRevisionsLimitAndCount) {
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Put("c", "1");  // 4
  Put("b", "2");  // 5
  Del("a");       // 6
  Put("d", "1");  // 7
  Commit();
  EXPECT_EQ(Get("", kFromKey, 4), "a=1 c2 m2 v1, b=1 c3 m3 v1, c=1 c4 m4 v1");
  EXPECT_EQ(Get("", kFromKey, 6), "b=2 c3 m5 v2, c=1 c4 m4 v1");
  EXPECT_EQ(Get("b", "d", 7), "b=2 c3 m5 v2, c=1 c4 m4 v1");
  EXPECT_EQ(Get("a", "", 5), "a=1 c2 m2 v1");
  EXPECT_EQ(Get("a", "", 6), "");

  const struct {
    int64_t rev, limit;
    bool count_only;
    size_t kvs;
    int64_t count;
  } cases[] = {
      {0, 0, false, 3, 3}, {0, 1, false, 1, 3}, {0, 2, false, 2, 3}, {0, 3, false, 3, 3},
      {0, 9, false, 3, 3}, {0, 0, true, 0, 3},  {0, 1, true, 0, 3},  {4, 2, false, 2, 3},
      {2, 0, false, 1, 1}, {2, 5, true, 0, 1},  {1, 0, false, 0, 0},
  };
  for (const auto& c : cases) {
    RangeOptions o;
    o.rev = c.rev;
    o.limit = c.limit;
    o.count_only = c.count_only;
    auto r = store_->Range("", kFromKey, o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->kvs.size(), c.kvs) << "rev=" << c.rev << " limit=" << c.limit;
    EXPECT_EQ(r->count, c.count) << "rev=" << c.rev << " limit=" << c.limit;
    EXPECT_EQ(r->rev, 7) << "the header revision is the store revision";
  }
}

TEST_F(KvStoreTest, FutureRevision) {
  Put("a", "1");  // 2
  Commit();
  RangeOptions o;
  o.rev = 3;
  auto r = store_->Range("a", "", o);
  EXPECT_TRUE(IsFutureRev(r.status())) << r.status();
  EXPECT_EQ(r.status().message(), "mvcc: required revision is a future revision");
  EXPECT_TRUE(IsFutureRev(store_->Compact(3)));
  o.rev = 2;
  EXPECT_TRUE(store_->Range("a", "", o).ok());
}

TEST_F(KvStoreTest, CompactThenCompactedErrors) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Put("a", "3");  // 5
  Commit();
  ASSERT_TRUE(store_->Compact(3).ok());
  Commit();
  EXPECT_EQ(store_->CompactRev(), 3);
  RangeOptions o;
  o.rev = 2;
  auto r = store_->Range("a", "", o);
  EXPECT_TRUE(IsCompacted(r.status())) << r.status();
  EXPECT_EQ(r.status().message(), "mvcc: required revision has been compacted");
  EXPECT_EQ(Get("a", "", 3), "a=2 c2 m3 v2");  // == compact rev is readable
  EXPECT_EQ(Get("", kFromKey, 4), "a=2 c2 m3 v2, b=1 c4 m4 v1");
  EXPECT_EQ(Get("a"), "a=3 c2 m5 v3");
  EXPECT_TRUE(IsCompacted(store_->Compact(3)));  // twice
  EXPECT_TRUE(IsCompacted(store_->Compact(2)));  // older
  ASSERT_TRUE(store_->Compact(5).ok());
  Commit();
  EXPECT_TRUE(IsCompacted(store_->Compact(5)));
  EXPECT_EQ(Get("", kFromKey, 5), "a=3 c2 m5 v3, b=1 c4 m4 v1");
}

TEST_F(KvStoreTest, CompactZeroOnFreshStoreSucceedsOnce) {
  // etcd starts at compact revision -1, so compacting at 0 works once.
  EXPECT_TRUE(store_->Compact(0).ok());
  EXPECT_TRUE(IsCompacted(store_->Compact(0)));
  Commit();
  EXPECT_EQ(store_->CompactRev(), 0);
  EXPECT_EQ(Put("a", "1"), 2);
  Commit();
  EXPECT_EQ(Get("a"), "a=1 c2 m2 v1");
}

TEST_F(KvStoreTest, CompactPhysicallyDropsRecords) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Del("b");       // 5
  Put("c", "1");  // 6
  Del("c");       // 7
  Put("c", "2");  // 8
  Put("a", "3");  // 9
  Commit();
  EXPECT_EQ(Records(), "2.0 3.0 4.0 5.0t 6.0 7.0t 8.0 9.0");
  ASSERT_TRUE(store_->Compact(7).ok());
  CommitAndDrop();
  // a: keeps 3 (visible at 7) and 9; b's generation died before 7: gone;
  // c's first died at exactly 7: its tombstone stays for watches from 7
  // (etcd #18089); c's second generation is newer.
  EXPECT_EQ(Records(), "3.0 7.0t 8.0 9.0");
  EXPECT_EQ(store_->KeyCount(), 2u);
  EXPECT_EQ(MetaU64(meta::kScheduledCompactRev), 7u);
  EXPECT_EQ(MetaU64(meta::kFinishedCompactRev), 7u);
  EXPECT_EQ(Get("", kFromKey, 7), "a=2 c2 m3 v2");
  EXPECT_EQ(Get("", kFromKey, 8), "a=2 c2 m3 v2, c=2 c8 m8 v1");
  ASSERT_TRUE(store_->Compact(9).ok());
  CommitAndDrop();
  EXPECT_EQ(Records(), "8.0 9.0");
}

TEST_F(KvStoreTest, CompactInSameGroupAsWrites) {
  // Writes, deletes and a compaction all in one uncommitted group: the
  // superseded puts of the group must not reach the backend; b's delete at
  // the compaction revision stays for watches from 5.
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Del("b");       // 5
  Put("c", "1");  // 6
  ASSERT_TRUE(store_->Compact(5).ok());
  Put("a", "3");  // 7
  CommitAndDrop();
  EXPECT_EQ(Records(), "3.0 5.0t 6.0 7.0");
  EXPECT_EQ(Get("", kFromKey, 5), "a=2 c2 m3 v2");
  EXPECT_EQ(Get("", kFromKey), "a=3 c2 m7 v3, c=1 c6 m6 v1");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Records(), "3.0 5.0t 6.0 7.0");
  EXPECT_EQ(Get("", kFromKey, 5), "a=2 c2 m3 v2");
}

TEST_F(KvStoreTest, WriteTxnReadsItsOwnChanges) {
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Commit();
  auto txn = store_->Write();  // 4
  txn->Put("a", "2", 0);
  txn->Put("n", "1", 0);
  auto r = txn->Range("", kFromKey, RangeOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Describe(*r), "a=2 c2 m4 v2, b=1 c3 m3 v1, n=1 c4 m4 v1");
  EXPECT_EQ(r->rev, 4);
  EXPECT_EQ(txn->DeleteRange("a", "c"), 2);
  r = txn->Range("", kFromKey, RangeOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Describe(*r), "n=1 c4 m4 v1");
  // Older revisions stay readable inside the txn.
  RangeOptions o;
  o.rev = 3;
  EXPECT_EQ(Describe(*txn->Range("", kFromKey, o)), "a=1 c2 m2 v1, b=1 c3 m3 v1");
  // A put after a delete of the same key in the txn starts a new generation.
  txn->Put("a", "3", 0);
  EXPECT_EQ(Describe(*txn->Range("a", "", RangeOptions())), "a=3 c4 m4 v1");
  txn->End();

  // A later txn of the same, still uncommitted, group sees them too.
  auto txn2 = store_->Write();  // 5
  EXPECT_EQ(Describe(*txn2->Range("", kFromKey, RangeOptions())), "a=3 c4 m4 v1, n=1 c4 m4 v1");
  txn2->Put("n", "2", 0);
  EXPECT_EQ(Describe(*txn2->Range("n", "", RangeOptions())), "n=2 c4 m5 v2");
  txn2->End();
  Commit();
  EXPECT_EQ(Get("", kFromKey), "a=3 c4 m4 v1, n=2 c4 m5 v2");
}

TEST_F(KvStoreTest, ReadersDoNotSeeUncommittedGroup) {
  Put("a", "1");  // 2
  Commit();
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Del("a");       // 5
  EXPECT_EQ(store_->CurrentRevForApply(), 5);
  EXPECT_EQ(store_->Rev(), 2);
  EXPECT_EQ(Get("", kFromKey), "a=1 c2 m2 v1");
  RangeOptions o;
  o.rev = 3;
  EXPECT_TRUE(IsFutureRev(store_->Range("a", "", o).status()));
  Commit();
  EXPECT_EQ(store_->Rev(), 5);
  EXPECT_EQ(Get("", kFromKey), "b=1 c4 m4 v1");
}

TEST_F(KvStoreTest, ReadersDoNotSeeUncommittedCompaction) {
  Put("a", "1");  // 2
  Put("b", "1");  // 3
  Commit();
  Put("a", "2");  // 4, uncommitted
  Del("b");       // 5, uncommitted
  ASSERT_TRUE(store_->Compact(5).ok());
  // The published state is still revision 3: readers must neither get
  // ErrCompacted nor lose history the uncommitted compaction drops.
  EXPECT_EQ(store_->Rev(), 3);
  EXPECT_LE(store_->CompactRev(), 0);
  EXPECT_EQ(Get("", kFromKey), "a=1 c2 m2 v1, b=1 c3 m3 v1");
  EXPECT_EQ(Get("a", "", 2), "a=1 c2 m2 v1");
  // The apply thread already sees the compaction (it decides Compact/Range
  // results deterministically, whatever the commit grouping).
  EXPECT_EQ(store_->CompactRevForApply(), 5);
  EXPECT_TRUE(IsCompacted(store_->Compact(5)));
  auto txn = store_->Write();
  RangeOptions o;
  o.rev = 4;
  EXPECT_TRUE(IsCompacted(txn->Range("a", "", o).status()));
  o.rev = 5;
  EXPECT_EQ(Describe(*txn->Range("", kFromKey, o)), "a=2 c2 m4 v2");
  txn->End();
  CommitAndDrop();
  EXPECT_EQ(store_->CompactRev(), 5);
  EXPECT_TRUE(IsCompacted(store_->Range("a", "", RangeOptions{.rev = 4}).status()));
  EXPECT_EQ(Get("", kFromKey), "a=2 c2 m4 v2");
  EXPECT_EQ(Records(), "4.0 5.0t");  // the delete at the compaction revision stays
}

TEST_F(KvStoreTest, RestartRestoresEverything) {
  Put("a", "1", 5);  // 2
  Put("b", "1");     // 3
  Put("a", "2", 5);  // 4
  Del("b");          // 5
  Put("b", "2");     // 6
  {
    auto txn = store_->Write();  // 7: multi-change txn
    txn->Put("c", "1", 0);
    txn->Put("d", "1", 9);
    txn->DeleteRange("a", "");
    txn->End();
  }
  Put("a", "3");  // 8
  Commit();
  ASSERT_TRUE(store_->Commit(42, 7, /*sync=*/true).ok());
  const std::string before = Dump();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(store_->ConsistentIndex(), 42u);
  EXPECT_EQ(store_->ConsistentTerm(), 7u);
  EXPECT_EQ(store_->CurrentRevForApply(), 8);
  // New writes continue the revision sequence and the key versions.
  EXPECT_EQ(Put("a", "4"), 9);
  EXPECT_EQ(Put("b", "3"), 10);
  Commit();
  EXPECT_EQ(Get("", kFromKey), "a=4 c8 m9 v2, b=3 c6 m10 v2, c=1 c7 m7 v1, d=1 c7 m7 v1 l9");
}

TEST_F(KvStoreTest, RestartAfterCompaction) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Del("b");       // 5
  Put("a", "3");  // 6
  Put("c", "1");  // 7
  Del("c");       // 8
  Commit();
  ASSERT_TRUE(store_->Compact(6).ok());
  CommitAndDrop();
  const std::string before = Dump();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(store_->CompactRev(), 6);
  EXPECT_TRUE(IsCompacted(store_->Range("a", "", RangeOptions{.rev = 5}).status()));
  EXPECT_EQ(Put("a", "4"), 9);
  EXPECT_EQ(Put("c", "2"), 10);
  Commit();
  EXPECT_EQ(Get("", kFromKey), "a=4 c2 m9 v4, c=2 c10 m10 v1");

  // Compact everything that is deleted: the revision survives a restart even
  // when no record of it is left.
  Del("a");  // 11
  Del("c");  // 12
  Commit();
  ASSERT_TRUE(store_->Compact(12).ok());
  CommitAndDrop();
  EXPECT_EQ(Records(), "12.0t");  // c's delete at 12, for watches from 12
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->Rev(), 12);
  EXPECT_EQ(store_->CompactRev(), 12);
  EXPECT_EQ(store_->KeyCount(), 1u);  // c's tombstone, as before the restart
  EXPECT_EQ(Put("a", "5"), 13);
  Commit();
  ASSERT_TRUE(store_->Compact(13).ok());
  CommitAndDrop();
  EXPECT_EQ(Records(), "13.0");
  EXPECT_EQ(store_->KeyCount(), 1u);  // a
}

TEST_F(KvStoreTest, RestartWithoutCommitLosesTheGroup) {
  Put("a", "1");  // 2
  Commit();
  Put("a", "2");  // 3, never committed
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->Rev(), 2);
  EXPECT_EQ(store_->ConsistentIndex(), 1u);
  EXPECT_EQ(Get("a"), "a=1 c2 m2 v1");
}

TEST_F(KvStoreTest, InterruptedCompactionIsFinishedAtOpen) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Put("b", "1");  // 4
  Del("b");       // 5
  Put("a", "3");  // 6
  Commit();
  // A crash after the compaction was scheduled but before its deletes were
  // committed: only scheduled_compact_rev reached the disk.
  Batch b = backend_->NewBatch();
  b.Put(Cf::kMeta, meta::kScheduledCompactRev, util::EncodeFixed64BE(5));
  ASSERT_TRUE(backend_->Commit(std::move(b), true).ok());
  EXPECT_EQ(Records(), "2.0 3.0 4.0 5.0t 6.0");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->CompactRev(), 5);
  EXPECT_EQ(store_->Rev(), 6);
  ASSERT_NO_FATAL_FAILURE(WaitDropped(5));
  EXPECT_EQ(Records(), "3.0 5.0t 6.0");
  EXPECT_EQ(MetaU64(meta::kFinishedCompactRev), 5u);
  EXPECT_EQ(store_->ConsistentIndex(), 1u);
  EXPECT_TRUE(IsCompacted(store_->Range("a", "", RangeOptions{.rev = 4}).status()));
  EXPECT_EQ(Get("", kFromKey, 5), "a=2 c2 m3 v2");
  EXPECT_EQ(Get("", kFromKey), "a=3 c2 m6 v3");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Records(), "3.0 5.0t 6.0");
  EXPECT_EQ(Get("", kFromKey, 5), "a=2 c2 m3 v2");
}

// The crash came after the Compactor had deleted the tombstoned key's puts
// but before it finished: its tombstone at the compaction revision is the
// key's only record. It must survive the restart (watches from that
// revision replay the delete), as etcd's restoreTombstone keeps it.
TEST_F(KvStoreTest, TombstoneAloneAfterAnInterruptedCompactionIsKept) {
  Put("b", "1");  // 2
  Del("b");       // 3
  Put("a", "1");  // 4
  Commit();
  Batch b = backend_->NewBatch();
  b.Put(Cf::kMeta, meta::kScheduledCompactRev, util::EncodeFixed64BE(3));
  b.Delete(Cf::kKv, EncodeRevKey(Revision{2, 0}));
  ASSERT_TRUE(backend_->Commit(std::move(b), true).ok());
  EXPECT_EQ(Records(), "3.0t 4.0");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(WaitDropped(3));
  EXPECT_EQ(Records(), "3.0t 4.0");
  EXPECT_EQ(Get("", kFromKey, 3), "");
  EXPECT_EQ(Get("", kFromKey), "a=1 c4 m4 v1");
  // The next compaction drops it, as it would have without the restart.
  ASSERT_TRUE(store_->Compact(4).ok());
  Commit();
  ASSERT_NO_FATAL_FAILURE(WaitDropped(4));
  EXPECT_EQ(Records(), "4.0");
  // A key deleted, compacted at its delete, then put again.
  Put("b", "2");  // 5
  Del("b");       // 6
  Put("b", "3");  // 7
  Commit();
  ASSERT_TRUE(store_->Compact(6).ok());
  Commit();
  ASSERT_NO_FATAL_FAILURE(WaitDropped(6));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Get("b", "", 7), "b=3 c7 m7 v1");
  EXPECT_EQ(Get("b", "", 6), "");
}

// HashKV at exactly the compaction revision is refused, as etcd's HashByRev
// refuses any explicit revision at or below it; revision 0 is the current one.
TEST_F(KvStoreTest, HashKvAtTheCompactionRevisionIsCompacted) {
  Put("a", "1");  // 2
  Put("a", "2");  // 3
  Commit();
  ASSERT_TRUE(store_->Compact(3).ok());
  Commit();
  int64_t hashed = 0, compact = 0;
  EXPECT_TRUE(IsCompacted(store_->HashKv(3, &hashed, &compact).status()));
  EXPECT_TRUE(IsCompacted(store_->HashKv(2, &hashed, &compact).status()));
  ASSERT_TRUE(store_->HashKv(0, &hashed, &compact).ok());
  EXPECT_EQ(hashed, 3);
  EXPECT_EQ(compact, 3);
}

// A compaction's group commits at once; the Compactor drops the records it
// left behind afterwards. Until it has, reads, HashKv and Live() already show
// the compacted state, and a physical request's waiter is not told.
TEST_F(KvStoreTest, RecordsLeftBehindAreDroppedInTheBackground) {
  GateCompactor();
  compactor_.batch = 4;
  compactor_.pause = absl::ZeroDuration();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (int i = 0; i < 6; ++i) Put("a", absl::StrCat(i));  // 2..7
  Put("b", "1");                                           // 8
  Commit();
  int64_t hashed = 0, compact = 0;
  auto before = store_->HashKv(0, &hashed, &compact);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(compact, -1);

  ASSERT_TRUE(store_->Compact(7).ok());
  Commit();
  absl::Notification dropped;
  std::string records_when_told;
  store_->WhenCompacted(7, [&](absl::Status st) {
    EXPECT_TRUE(st.ok()) << st;
    records_when_told = Records();
    dropped.Notify();
  });
  EXPECT_FALSE(dropped.HasBeenNotified());
  EXPECT_EQ(Records(), "2.0 3.0 4.0 5.0 6.0 7.0 8.0");
  auto during = store_->HashKv(0, &hashed, &compact);
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(compact, 7);
  EXPECT_EQ(hashed, 8);
  auto live_or = store_->Live(&compact);
  ASSERT_TRUE(live_or.ok()) << live_or.status();
  const auto& live = *live_or;
  EXPECT_EQ(compact, 7);
  EXPECT_FALSE(live(EncodeRevKey(Revision{2, 0})));
  EXPECT_FALSE(live(EncodeRevKey(Revision{6, 0})));
  EXPECT_TRUE(live(EncodeRevKey(Revision{7, 0})));
  EXPECT_TRUE(live(EncodeRevKey(Revision{8, 0})));
  EXPECT_EQ(Get("", kFromKey), "a=5 c2 m7 v6, b=1 c8 m8 v1");
  EXPECT_TRUE(IsCompacted(store_->Range("a", "", RangeOptions{.rev = 6}).status()));

  OpenGate();
  ASSERT_TRUE(dropped.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(records_when_told, "7.0 8.0");
  EXPECT_EQ(BatchesStarted(), 2);  // 2..5, then 6..7
  EXPECT_EQ(MetaU64(meta::kFinishedCompactRev), 7u);
  auto after = store_->HashKv(0, &hashed, &compact);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*during, *after);
  EXPECT_NE(*before, *after);
}

// Compactions applied while an earlier one's records are still being
// dropped: a queued job is replaced by the newer one, which also drops what
// the earlier left; hashes need not wait for the running drop; every waiter
// is told.
TEST_F(KvStoreTest, LaterCompactionAlsoDropsWhatAnEarlierOneLeft) {
  GateCompactor();
  compactor_.batch = 2;
  compactor_.pause = absl::ZeroDuration();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (int i = 0; i < 8; ++i) Put("a", absl::StrCat(i));  // 2..9
  Put("b", "1");                                           // 10
  Commit();
  // 5 is running (its first batch waits at the gate); 8 is queued, then
  // replaced by 9, which gets its keep set between 5's batches.
  ASSERT_TRUE(store_->Compact(5).ok());
  Commit();
  ASSERT_NO_FATAL_FAILURE(WaitBatchArrived());
  for (int64_t rev : {8, 9}) {
    ASSERT_TRUE(store_->Compact(rev).ok());
    Commit();
  }
  int64_t hashed = 0, compact = 0;
  auto during = store_->HashKv(0, &hashed, &compact);
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(compact, 9);
  OpenGate();
  for (int64_t rev : {5, 8, 9}) ASSERT_NO_FATAL_FAILURE(WaitDropped(rev));
  EXPECT_EQ(Records(), "9.0 10.0");
  EXPECT_EQ(MetaU64(meta::kFinishedCompactRev), 9u);
  auto after = store_->HashKv(0, &hashed, &compact);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*during, *after);
  const std::string dump = Dump();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Dump(), dump);
  EXPECT_EQ(Records(), "9.0 10.0");
}

// Stopping the Compactor mid-job (shutdown): a waiter is told Unavailable,
// and the next open goes on with the job.
TEST_F(KvStoreTest, StopDuringDroppingAnswersWaitersAndOpenFinishes) {
  GateCompactor();
  compactor_.batch = 2;
  compactor_.pause = absl::ZeroDuration();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (int i = 0; i < 8; ++i) Put("a", absl::StrCat(i));  // 2..9
  Commit();
  ASSERT_TRUE(store_->Compact(8).ok());
  Commit();
  absl::Status told = absl::OkStatus();
  absl::Notification n;
  store_->WhenCompacted(8, [&](absl::Status st) {
    told = st;
    n.Notify();
  });
  store_->StopCompactor();
  ASSERT_TRUE(n.HasBeenNotified());
  EXPECT_TRUE(absl::IsUnavailable(told)) << told;
  EXPECT_EQ(Records(), "2.0 3.0 4.0 5.0 6.0 7.0 8.0 9.0");
  compactor_ = CompactorOptions();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->CompactRev(), 8);
  EXPECT_EQ(Get("a"), "a=7 c2 m9 v8");
  ASSERT_NO_FATAL_FAILURE(WaitDropped(8));
  EXPECT_EQ(Records(), "8.0 9.0");
  EXPECT_EQ(MetaU64(meta::kFinishedCompactRev), 8u);
}

// Readers on other threads while the apply thread writes, commits and
// compacts: every read either fails with ErrCompacted or shows one whole
// published revision (never half a group, never a value a compaction dropped).
TEST_F(KvStoreTest, ConcurrentReadersSeeWholeRevisions) {
  constexpr int kKeys = 10;
  auto key = [](int i) { return absl::StrCat("k", i); };
  {
    auto txn = store_->Write();  // rev 2: every key exists from here on
    for (int i = 0; i < kKeys; ++i) txn->Put(key(i), "2", 0);
    txn->End();
  }
  Commit();

  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0}, compacted{0};
  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!stop.load()) {
      const int64_t cur = store_->Rev();
      RangeOptions o;
      const bool latest = rng() % 4 == 0;  // rev 0: whatever is published
      o.rev = cur - static_cast<int64_t>(rng() % 8);  // sometimes an older revision
      if (o.rev < 2) o.rev = cur;
      o.count_only = rng() % 4 == 0;
      if (latest) o.rev = 0;
      auto r = store_->Range("", kFromKey, o);
      if (latest && r.ok()) o.rev = r->rev;
      if (!r.ok()) {
        ASSERT_FALSE(latest) << "a latest-revision read failed: " << r.status();
        ASSERT_TRUE(IsCompacted(r.status())) << r.status();
        // The published revision itself is never compacted away, unless a
        // later group was published meanwhile.
        if (o.rev == cur) {
          ASSERT_GT(store_->Rev(), cur);
        }
        compacted++;
        continue;
      }
      ASSERT_EQ(r->count, kKeys) << "rev " << o.rev;
      for (const auto& kv : r->kvs) {
        // Every txn writes value == its revision; a group is all or nothing.
        ASSERT_EQ(kv.value(), absl::StrCat(kv.mod_revision())) << "rev " << o.rev;
        ASSERT_LE(kv.mod_revision(), o.rev);
      }
      if (!o.count_only) {
        ASSERT_EQ(r->kvs.size(), static_cast<size_t>(kKeys));
      }
      reads++;
    }
  };
  std::vector<std::thread> readers;
  for (uint64_t t = 0; t < 2; ++t) readers.emplace_back(reader, t + 1);

  std::mt19937_64 rng(99);
  for (int step = 0; step < 3000 && !HasFatalFailure(); ++step) {
    auto txn = store_->Write();
    const int64_t rev = store_->CurrentRevForApply() + 1;
    for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) {
      txn->Put(key(static_cast<int>(rng() % kKeys)), absl::StrCat(rev), 0);
    }
    txn->End();
    if (step % 40 == 39) {
      ASSERT_TRUE(store_->Compact(store_->CurrentRevForApply() - 2).ok());
    }
    if (rng() % 4 == 0) Commit();
  }
  Commit();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
  RecordProperty("reads", static_cast<int>(reads.load()));
  RecordProperty("compacted", static_cast<int>(compacted.load()));
}

// ---------------------------------------------------------------------------
// Property test: random txns, commits, compactions and restarts against a
// naive model that keeps a full copy of the key space at every revision.

TEST_F(KvStoreTest, PropertyMatchesNaiveModel) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(absl::StrCat("seed=", seed));
  std::mt19937_64 rng(seed);
  auto chance = [&](int pct) { return static_cast<int>(rng() % 100) < pct; };
  // Keys of 1 and 15 bytes sit inline in the index, 16 and 40 on the heap
  // (IndexKey); the first byte decides the ranges deletes take.
  auto key = [&] {
    static constexpr size_t kLengths[] = {1, 15, 16, 40};
    return std::string(kLengths[rng() % 4], static_cast<char>('a' + rng() % 8));
  };

  struct Item {
    std::string value;
    int64_t create, mod, version, lease;
  };
  using State = std::map<std::string, Item>;
  std::vector<State> states(2);  // states[rev]; an empty store is at rev 1
  int64_t compact_rev = 0;
  int64_t committed_rev = 1;

  auto describe_model = [&](int64_t rev) {
    std::vector<std::string> out;
    for (const auto& [k, it] : states[rev]) {
      out.push_back(absl::StrCat(k, "=", it.value, " c", it.create, " m", it.mod, " v", it.version,
                                 it.lease ? absl::StrCat(" l", it.lease) : ""));
    }
    return absl::StrJoin(out, ", ");
  };

  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rng() % 100);
    if (op < 70) {
      auto txn = store_->Write();
      State next = states.back();
      const int64_t rev = static_cast<int64_t>(states.size());
      bool changed = false;
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) {
        std::string k = key();
        if (chance(70)) {
          std::string v = absl::StrCat("v", step, "_", i);
          int64_t lease = chance(20) ? 1 + static_cast<int64_t>(rng() % 3) : 0;
          txn->Put(k, v, lease);
          auto it = next.find(k);
          Item item{v, rev, rev, 1, lease};
          if (it != next.end()) {
            item.create = it->second.create;
            item.version = it->second.version + 1;
          }
          next[k] = item;
          changed = true;
        } else {
          std::string end = chance(50) ? "" : std::string(1, static_cast<char>(k[0] + 2));
          int64_t want = 0;
          for (auto it = next.lower_bound(k);
               it != next.end() && (end.empty() ? it->first == k : it->first < end);) {
            it = next.erase(it);
            ++want;
          }
          ASSERT_EQ(txn->DeleteRange(k, end), want) << "step " << step;
          changed |= want > 0;
        }
      }
      txn->End();
      if (changed) states.push_back(std::move(next));
      ASSERT_EQ(store_->CurrentRevForApply(), static_cast<int64_t>(states.size()) - 1);
    } else if (op < 85) {
      ASSERT_NO_FATAL_FAILURE(Commit());
      committed_rev = static_cast<int64_t>(states.size()) - 1;
    } else if (op < 93) {
      const int64_t cur = static_cast<int64_t>(states.size()) - 1;
      if (cur <= compact_rev) continue;
      const int64_t at = compact_rev + 1 + static_cast<int64_t>(rng() % (cur - compact_rev));
      ASSERT_TRUE(store_->Compact(at).ok()) << "step " << step;
      compact_rev = at;
    } else {
      // Restart: the uncommitted group is lost.
      ASSERT_NO_FATAL_FAILURE(Commit());
      committed_rev = static_cast<int64_t>(states.size()) - 1;
      ASSERT_NO_FATAL_FAILURE(Reopen());
    }
    ASSERT_EQ(store_->Rev(), committed_rev) << "step " << step;
    for (int64_t rev = std::max<int64_t>(1, store_->CompactRev()); rev <= committed_rev; ++rev) {
      ASSERT_EQ(Get("", kFromKey, rev), describe_model(rev)) << "step " << step << " rev " << rev;
      ASSERT_NO_FATAL_FAILURE(ExpectSerializedMatchesParsed("", kFromKey, rev, rev % 4))
          << "step " << step;
    }
  }
  ASSERT_NO_FATAL_FAILURE(Commit());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (int64_t rev = std::max<int64_t>(1, compact_rev); rev < static_cast<int64_t>(states.size());
       ++rev) {
    ASSERT_EQ(Get("", kFromKey, rev), describe_model(rev)) << "final, rev " << rev;
  }
  // Records at or below compact_rev survive only as the value a read at
  // compact_rev returns, once the Compactor is done (the reopen may have
  // resumed a job); the only tombstones left are deletes at exactly
  // compact_rev (kept for watches from there, etcd #18089).
  if (store_->CompactRev() > 0) {
    ASSERT_NO_FATAL_FAILURE(WaitDropped(store_->CompactRev()));
  }
  std::set<int64_t> visible;
  for (const auto& [k, it] : states[compact_rev]) visible.insert(it.mod);
  for (const std::string& rec : BackendRecords()) {
    const int64_t main = std::stoll(rec);
    if (main > compact_rev) continue;
    if (rec.back() == 't') {
      EXPECT_EQ(main, compact_rev) << "stale tombstone " << rec;
      continue;
    }
    EXPECT_TRUE(visible.contains(main)) << "stale record " << rec << " compact_rev " << compact_rev;
  }
}

// A list's values are walked with an iterator where their revisions lie
// close together and looked up one by one where they spread out; both give
// what Range gives, in key order.
TEST_F(KvStoreTest, SerializedRangeOverCloseAndSpreadRevisions) {
  auto txn = store_->Write();
  for (int i = 0; i < 100; ++i) txn->Put(absl::StrFormat("p/a%03d", i), absl::StrCat("a", i), 0);
  txn->End();
  for (int i = 0; i < 100; ++i) {  // each between 30 writes of other keys
    Put(absl::StrFormat("p/b%03d", i), absl::StrCat("b", i));
    for (int j = 0; j < 30; ++j) Put(absl::StrCat("q/", j), absl::StrCat(i));
  }
  txn = store_->Write();
  for (int i = 0; i < 100; ++i) txn->Put(absl::StrFormat("p/c%03d", i), absl::StrCat("c", i), 0);
  txn->End();
  Commit();
  for (int i = 0; i < 100; i += 3) Put(absl::StrFormat("p/a%03d", i), "again");  // newer revisions
  Commit();
  ASSERT_NO_FATAL_FAILURE(ExpectSerializedMatchesParsed("p/", "p0", 0));
  ASSERT_NO_FATAL_FAILURE(ExpectSerializedMatchesParsed("p/", "p0", 0, 150));
  ASSERT_NO_FATAL_FAILURE(ExpectSerializedMatchesParsed("p/b", "p/c", 0));
  ASSERT_NO_FATAL_FAILURE(ExpectSerializedMatchesParsed("", kFromKey, 0));
  ASSERT_NO_FATAL_FAILURE(ExpectSerializedMatchesParsed("p/a", "p/b", 3));  // an old revision
  auto r = store_->RangeSerializedAt("p/", "p0", RangeOptions{.limit = 0, .rev = store_->Rev()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->kvs.size(), 300u);
  mvccpb::KeyValue kv;
  ASSERT_TRUE(kv.ParseFromString(std::string(r->kvs[150])));
  EXPECT_EQ(kv.key(), "p/b050");
  EXPECT_EQ(kv.value(), "b50");
  // Compacted revisions give etcd's error, as Range does.
  ASSERT_TRUE(store_->Compact(store_->Rev() - 1).ok());
  Commit();
  EXPECT_TRUE(IsCompacted(
      store_->RangeSerializedAt("p/", "p0", RangeOptions{.limit = 0, .rev = 3}).status()));
}

}  // namespace
}  // namespace quorum::mvcc

namespace quorum::mvcc {
namespace {

// Between PrepareReload (the backend's state is about to be replaced) and
// the end of Reload (the index rebuilt from the new state), a read would mix
// the old index with the new records: keys missing, or ErrCompacted for the
// latest revision. Reads wait instead.
TEST_F(KvStoreTest, ReadsWaitWhileTheStateIsReplaced) {
  Put("k", "v");
  Commit();
  store_->PrepareReload();
  std::atomic<bool> done{false};
  std::thread reader([&] {
    auto r = store_->Range("k", "", RangeOptions());
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) EXPECT_EQ(r->kvs.size(), 1u);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_FALSE(done.load()) << "a read ran while the state was being replaced";
  ASSERT_TRUE(store_->Reload().ok());
  reader.join();
  EXPECT_TRUE(done.load());
  // Reload alone (without PrepareReload first) takes and releases it too.
  ASSERT_TRUE(store_->Reload().ok());
  EXPECT_TRUE(store_->Range("k", "", RangeOptions()).ok());
}

}  // namespace
}  // namespace quorum::mvcc
