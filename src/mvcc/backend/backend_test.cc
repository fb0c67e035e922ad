// Backend's pinned lookups: the batched MultiGetValues and GetSortedValues,
// which walks an iterator where the keys lie close and looks them up where
// they spread out. Each must give exactly what Get gives, in the order
// asked, and NotFound when any key is missing.
#include "mvcc/backend/backend.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "mvcc/temp_store_for_test.h"

namespace quorum::mvcc {
namespace {

class BackendTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::MakeTempDir("backend-test");
    ASSERT_FALSE(dir_.empty());
    auto b = Backend::Open(dir_, test_util::NoFsyncOptions());
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
    // 4,000 keys; values of varying size, some over the iterator copy
    // block (64 KiB).
    Batch batch = backend_->NewBatch();
    for (int i = 0; i < 4000; ++i) batch.Put(Cf::kKv, Key(i), Value(i));
    ASSERT_TRUE(backend_->Commit(std::move(batch), false).ok());
  }
  void TearDown() override {
    backend_.reset();
    test_util::RemoveTempDir(dir_);
  }
  static std::string Key(int i) { return absl::StrFormat("k%06d", i); }
  static std::string Value(int i) {
    const size_t size = i % 997 == 0 ? (100 << 10) : static_cast<size_t>(i % 300);
    return std::string(size, static_cast<char>('a' + i % 26)) + std::to_string(i);
  }
  // The keys of `ids`, which must ascend for GetSortedValues.
  static std::vector<std::string> Keys(const std::vector<int>& ids) {
    std::vector<std::string> keys;
    for (int i : ids) keys.push_back(Key(i));
    return keys;
  }
  static std::vector<std::string_view> Views(const std::vector<std::string>& keys) {
    return {keys.begin(), keys.end()};
  }
  void ExpectValues(const ValueList& got, const std::vector<int>& ids) {
    ASSERT_EQ(got.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_EQ(got[i], Value(ids[i])) << "position " << i << " key " << Key(ids[i]);
    }
  }

  std::string dir_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(BackendTest, SortedLookupsOverCloseSpreadAndMixedKeys) {
  std::vector<std::vector<int>> cases;
  std::vector<int> all, every50th, mixed;
  for (int i = 0; i < 4000; ++i) all.push_back(i);
  for (int i = 0; i < 4000; i += 50) every50th.push_back(i);
  // close, then spread (the iterator gives up), then close again
  for (int i = 0; i < 500; ++i) mixed.push_back(i);
  for (int i = 500; i < 2500; i += 40) mixed.push_back(i);
  for (int i = 2500; i < 3000; i += 2) mixed.push_back(i);
  cases = {all, every50th, mixed, {7}, {0, 3999}};
  for (const auto& ids : cases) {
    const auto keys = Keys(ids);
    auto sorted = backend_->GetSortedValues(Cf::kKv, Views(keys));
    ASSERT_TRUE(sorted.ok()) << sorted.status();
    ASSERT_NO_FATAL_FAILURE(ExpectValues(*sorted, ids)) << ids.size() << " keys";
    auto batched = backend_->MultiGetValues(Cf::kKv, Views(keys), /*sorted=*/true);
    ASSERT_TRUE(batched.ok()) << batched.status();
    ASSERT_NO_FATAL_FAILURE(ExpectValues(*batched, ids)) << ids.size() << " keys";
  }
}

TEST_F(BackendTest, UnsortedBatchedLookupsKeepTheOrderAsked) {
  std::vector<int> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back((i * 7919) % 4000);
  const auto keys = Keys(ids);
  auto got = backend_->MultiGetValues(Cf::kKv, Views(keys));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_NO_FATAL_FAILURE(ExpectValues(*got, ids));
}

TEST_F(BackendTest, AMissingKeyIsNotFoundWhereverItIs) {
  std::vector<std::string> close = Keys({10, 11, 12});
  close.insert(close.begin() + 1, "k000010x");  // between two present keys
  std::vector<std::string> spread = Keys({0, 100, 200, 300});
  spread.push_back("k000350x");
  std::vector<std::string> past_the_end = Keys({3998, 3999});
  past_the_end.push_back("k9");
  for (const auto& keys : {close, spread, past_the_end}) {
    EXPECT_TRUE(absl::IsNotFound(backend_->GetSortedValues(Cf::kKv, Views(keys)).status()))
        << keys.size() << " keys";
    EXPECT_TRUE(absl::IsNotFound(backend_->MultiGetValues(Cf::kKv, Views(keys), true).status()));
  }
}

// Deleted entries (as a compaction leaves them until RocksDB drops them)
// between the keys make the iterator give up; the lookups after it must
// still find every key.
TEST_F(BackendTest, KeysEitherSideOfManyDeletedOnesAreFound) {
  Batch batch = backend_->NewBatch();
  for (int i = 100; i < 3000; ++i) batch.Delete(Cf::kKv, Key(i));
  ASSERT_TRUE(backend_->Commit(std::move(batch), false).ok());
  std::vector<int> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(i);
  for (int i = 3000; i < 3100; ++i) ids.push_back(i);
  const auto keys = Keys(ids);
  auto got = backend_->GetSortedValues(Cf::kKv, Views(keys));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_NO_FATAL_FAILURE(ExpectValues(*got, ids));
  const auto gone = Keys({50, 150});
  EXPECT_TRUE(absl::IsNotFound(backend_->GetSortedValues(Cf::kKv, Views(gone)).status()));
}

TEST_F(BackendTest, ValuesOutliveLaterWrites) {
  const auto keys = Keys({1, 2, 3});
  auto got = backend_->GetSortedValues(Cf::kKv, Views(keys));
  ASSERT_TRUE(got.ok()) << got.status();
  Batch batch = backend_->NewBatch();
  for (int i = 0; i < 4000; ++i) batch.Put(Cf::kKv, Key(i), "overwritten");
  ASSERT_TRUE(backend_->Commit(std::move(batch), false).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectValues(*got, {1, 2, 3}));
}

}  // namespace
}  // namespace quorum::mvcc
