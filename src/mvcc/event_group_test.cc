// EventGroup: wire encodings are built once and match what a WatchResponse
// event must carry (type, kv, and prev_kv read at mod_revision - 1).
#include "mvcc/event_group.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mvcc/temp_store_for_test.h"

namespace quorum::mvcc {
namespace {

class EventGroupTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::MakeTempDir("event-group-test");
    ASSERT_FALSE(dir_.empty());
    const absl::Status st = test_util::OpenStore(dir_, &backend_, &store_);
    ASSERT_TRUE(st.ok()) << st;
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
    test_util::RemoveTempDir(dir_);
  }
  // One txn, committed; returns its changes.
  std::vector<Change> Apply(const std::function<void(WriteTxn*)>& fn) {
    auto txn = store_->Write();
    fn(txn.get());
    auto changes = txn->End();
    EXPECT_TRUE(store_->Commit(++index_, 2, false).ok());
    return changes;
  }

  std::string dir_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvStore> store_;
  uint64_t index_ = 0;
};

mvccpb::Event Parse(const std::string& bytes) {
  mvccpb::Event ev;
  EXPECT_TRUE(ev.ParseFromString(bytes));
  return ev;
}

TEST_F(EventGroupTest, EncodesPutDeleteAndPrevKv) {
  Apply([](WriteTxn* t) { t->Put("k", "v1", 0); });                  // 2: create
  auto upd = Apply([](WriteTxn* t) { t->Put("k", "v2", 0); });       // 3: update
  auto del = Apply([](WriteTxn* t) { t->DeleteRange("k", ""); });    // 4: delete
  auto again = Apply([](WriteTxn* t) { t->Put("k", "v3", 0); });     // 5: re-create
  std::vector<Change> all;
  for (auto* v : {&upd, &del, &again}) all.insert(all.end(), v->begin(), v->end());
  EventGroup g(all, 5, store_.get());
  ASSERT_EQ(g.size(), 3u);

  mvccpb::Event put = Parse(g.Encoded(0, false));
  EXPECT_EQ(put.type(), mvccpb::Event::PUT);
  EXPECT_EQ(put.kv().value(), "v2");
  EXPECT_EQ(put.kv().mod_revision(), 3);
  EXPECT_FALSE(put.has_prev_kv());
  mvccpb::Event put_prev = Parse(g.Encoded(0, true));
  ASSERT_TRUE(put_prev.has_prev_kv());
  EXPECT_EQ(put_prev.prev_kv().value(), "v1");
  EXPECT_EQ(put_prev.prev_kv().mod_revision(), 2);

  mvccpb::Event d = Parse(g.Encoded(1, true));
  EXPECT_EQ(d.type(), mvccpb::Event::DELETE);
  EXPECT_EQ(d.kv().key(), "k");
  EXPECT_EQ(d.kv().mod_revision(), 4);
  ASSERT_TRUE(d.has_prev_kv());
  EXPECT_EQ(d.prev_kv().value(), "v2");

  // A create after a delete has no previous value.
  EXPECT_FALSE(Parse(g.Encoded(2, true)).has_prev_kv());
  // Same bytes as serializing the event directly.
  mvccpb::Event direct;
  direct.set_type(mvccpb::Event::PUT);
  *direct.mutable_kv() = upd[0].kv;
  EXPECT_EQ(g.Encoded(0, false), direct.SerializeAsString());
}

TEST_F(EventGroupTest, EncodedOnceAndSharedAcrossThreads) {
  auto c = Apply([](WriteTxn* t) { t->Put("a", std::string(1000, 'x'), 0); });
  auto g = std::make_shared<const EventGroup>(c, 2, store_.get());
  std::vector<const std::string*> seen(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&, i] { seen[i] = &g->Encoded(0, false); });
  for (auto& t : threads) t.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ(Parse(*seen[0]).kv().value().size(), 1000u);
}

}  // namespace
}  // namespace quorum::mvcc
