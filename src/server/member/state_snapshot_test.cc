// State snapshot files: both encodings restore the exact column families,
// and a damaged compressed file is refused before the database is touched.
#include "server/member/state_snapshot.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include "mvcc/temp_store_for_test.h"
#include "server/member/state_contents_for_test.h"
#include "util/crc32c.h"

namespace quorum::server {
namespace {

using mvcc::Cf;
namespace tu = mvcc::test_util;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

class StateSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tu::MakeTempDir("state-snapshot");
    ASSERT_FALSE(dir_.empty());
    auto src = mvcc::Backend::Open(dir_ + "/src", tu::NoFsyncOptions());
    ASSERT_TRUE(src.ok());
    src_ = std::move(*src);
    mvcc::Batch b = src_->NewBatch();
    // Repetitive values (compress) and distinct ones (do not) alike.
    for (int i = 0; i < 5000; ++i) {
      b.Put(Cf::kKv, "rev" + std::to_string(i), std::string(200, 'v') + std::to_string(i * 7919));
    }
    b.Put(Cf::kMeta, "consistent_index", "12345678");
    b.Put(Cf::kLease, "lease1", "ttl");
    b.Put(Cf::kMembers, "m1", "peer");
    b.Put(Cf::kRaftLog, "not-state", "must not be copied");
    ASSERT_TRUE(src_->Commit(std::move(b), /*sync=*/false).ok());
  }
  void TearDown() override {
    src_.reset();
    tu::RemoveTempDir(dir_);
  }

  // A fresh backend holding some stale state that a restore must replace.
  std::unique_ptr<mvcc::Backend> Target(const std::string& name) {
    auto b = mvcc::Backend::Open(dir_ + "/" + name, tu::NoFsyncOptions());
    EXPECT_TRUE(b.ok());
    mvcc::Batch batch = (*b)->NewBatch();
    batch.Put(Cf::kKv, "stale", "x");
    EXPECT_TRUE((*b)->Commit(std::move(batch), false).ok());
    return std::move(*b);
  }

  std::string dir_;
  std::unique_ptr<mvcc::Backend> src_;
};

TEST_F(StateSnapshotTest, BothEncodingsRestoreTheSameState) {
  const StateContents want = ReadStateContents(*src_);
  for (auto enc : {SnapshotEncoding::kPlain, SnapshotEncoding::kZstd}) {
    const std::string name = enc == SnapshotEncoding::kPlain ? "plain" : "zstd";
    const std::string path = dir_ + "/" + name + ".snap";
    ASSERT_TRUE(WriteStateSnapshot(*src_, path, enc).ok());
    EXPECT_EQ(ReadFile(path).substr(0, 8),
              enc == SnapshotEncoding::kPlain ? "QSNAP001" : "QSNAP002");
    auto target = Target(name);
    ASSERT_TRUE(RestoreStateSnapshot(target.get(), path).ok()) << name;
    EXPECT_EQ(ReadStateContents(*target), want) << name;
  }
  // The repetitive values make the compressed file far smaller.
  EXPECT_LT(ReadFile(dir_ + "/zstd.snap").size() * 4, ReadFile(dir_ + "/plain.snap").size());
}

TEST_F(StateSnapshotTest, DamagedCompressedFileIsRefusedUntouched) {
  const std::string path = dir_ + "/z.snap";
  ASSERT_TRUE(WriteStateSnapshot(*src_, path, SnapshotEncoding::kZstd).ok());
  const std::string good = ReadFile(path);
  auto target = Target("damaged");
  const StateContents before = ReadStateContents(*target);

  WriteFile(path, good.substr(0, good.size() / 2));  // truncated
  auto st = RestoreStateSnapshot(target.get(), path);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x5A;  // inside the frame
  WriteFile(path, flipped);
  st = RestoreStateSnapshot(target.get(), path);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;

  EXPECT_EQ(ReadStateContents(*target), before);
}

// A well-formed plain file whose record names raft's own column family
// (raft_log) is refused: restore clears only the state column families.
TEST_F(StateSnapshotTest, RecordOutsideTheStateColumnFamiliesIsRefused) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  std::string rec(1, static_cast<char>(Cf::kRaftLog));
  rec += be32(3) + "key" + be32(5) + "value";
  std::string count(8, '\0');
  count[7] = 1;
  const std::string file = "QSNAP001" + rec + std::string(1, '\xFF') + count +
                           be32(util::Crc32c(0, rec));
  const std::string path = dir_ + "/raftlog.snap";
  WriteFile(path, file);
  auto target = Target("raftlog");
  const StateContents before = ReadStateContents(*target);
  auto st = RestoreStateSnapshot(target.get(), path);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_EQ(ReadStateContents(*target), before);
  // The same record in the kv column family is accepted: the file is valid.
  rec[0] = static_cast<char>(Cf::kKv);
  WriteFile(path, "QSNAP001" + rec + std::string(1, '\xFF') + count + be32(util::Crc32c(0, rec)));
  ASSERT_TRUE(RestoreStateSnapshot(target.get(), path).ok());
  EXPECT_EQ((ReadStateContents(*target)[{static_cast<int>(Cf::kKv), "key"}]), "value");
}

// A restore cut short (a crash between its batches) leaves the old state
// gone and no consistent index (0: the member installs the snapshot again
// at start); the restore run again, after a reopen, gives the whole state.
TEST_F(StateSnapshotTest, RestoreCutShortLeavesNoConsistentIndexAndIsRedone) {
  const StateContents want = ReadStateContents(*src_);
  const std::string path = dir_ + "/cut.snap";
  ASSERT_TRUE(WriteStateSnapshot(*src_, path, SnapshotEncoding::kZstd).ok());
  {
    auto target = Target("cut");
    mvcc::Batch b = target->NewBatch();
    b.Put(Cf::kMeta, "consistent_index", "old-index");
    ASSERT_TRUE(target->Commit(std::move(b), false).ok());
    RestoreOptions opts;
    opts.batch_bytes = 64 << 10;  // the state is about 1 MB: many batches
    opts.fail_after_batches = 3;
    auto st = RestoreStateSnapshot(target.get(), path, opts);
    ASSERT_EQ(st.code(), absl::StatusCode::kAborted) << st;
    const StateContents half = ReadStateContents(*target);
    EXPECT_EQ(half.count({static_cast<int>(Cf::kMeta), "consistent_index"}), 0u);
    EXPECT_EQ(half.count({static_cast<int>(Cf::kKv), "stale"}), 0u);
    EXPECT_GT(half.size(), 100u);
    EXPECT_LT(half.size(), want.size());
  }
  auto reopened = mvcc::Backend::Open(dir_ + "/cut", tu::NoFsyncOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  RestoreOptions small;
  small.batch_bytes = 64 << 10;
  ASSERT_TRUE(RestoreStateSnapshot(reopened->get(), path, small).ok());
  EXPECT_EQ(ReadStateContents(**reopened), want);
}

}  // namespace
}  // namespace quorum::server
