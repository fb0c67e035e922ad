// A test fixture: an Applier on a KvStore in a temporary directory, removed
// afterwards. Shared by the server's read-path tests.
#ifndef QUORUM_SERVER_APPLY_TEMP_APPLIER_FOR_TEST_H_
#define QUORUM_SERVER_APPLY_TEMP_APPLIER_FOR_TEST_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mvcc/temp_store_for_test.h"
#include "server/apply/applier.h"

namespace quorum::server::test_util {

class TempApplierTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = mvcc::test_util::MakeTempDir("applier-test");
    ASSERT_FALSE(dir_.empty());
    const absl::Status st = mvcc::test_util::OpenStore(dir_, &backend_, &store_);
    ASSERT_TRUE(st.ok()) << st;
    applier_ = std::make_unique<Applier>(store_.get(), nullptr, nullptr);
  }
  void TearDown() override {
    applier_.reset();
    store_.reset();
    backend_.reset();
    mvcc::test_util::RemoveTempDir(dir_);
  }
  void Put(const std::string& k, const std::string& v) {
    internalpb::InternalRequest r;
    r.mutable_put()->set_key(k);
    r.mutable_put()->set_value(v);
    ASSERT_TRUE(applier_->Apply(r).ok());
  }
  // Commits the pending group as applied index index_ + 1.
  void Commit() { ASSERT_TRUE(store_->Commit(++index_, 1, false).ok()); }

  std::string dir_;
  uint64_t index_ = 0;
  std::unique_ptr<mvcc::Backend> backend_;
  std::unique_ptr<mvcc::KvStore> store_;
  std::unique_ptr<Applier> applier_;
};

}  // namespace quorum::server::test_util

#endif  // QUORUM_SERVER_APPLY_TEMP_APPLIER_FOR_TEST_H_
