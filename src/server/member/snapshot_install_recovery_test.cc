// FinishSnapshotInstall: a state snapshot whose install was cut short (a
// crash between its batches: the member list and the consistent index not
// written yet) is installed again at start, before anything reads the
// state; a state already at the snapshot is left alone.
#include "server/member/snapshot_install_recovery.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "mvcc/meta_keys.h"
#include "mvcc/temp_store_for_test.h"
#include "server/member/raft_storage.h"
#include "server/member/state_contents_for_test.h"
#include "server/member/state_snapshot.h"
#include "util/coding.h"

namespace quorum::server {
namespace {

using mvcc::Cf;
namespace tu = mvcc::test_util;
raft::Entry MakeEntry(raft::Index i) {
  raft::Entry e;
  e.set_index(i);
  e.set_term(1);
  return e;
}

TEST(SnapshotInstallRecoveryTest, InstallCutShortIsFinishedAtStart) {
  const std::string dir = tu::MakeTempDir("install-recovery");
  ASSERT_FALSE(dir.empty());
  StateContents want;
  const std::string snap_path = dir + "/snap/0000000000000001-000000000000003c.snap";
  {
    auto src = mvcc::Backend::Open(dir + "/src", tu::NoFsyncOptions());
    ASSERT_TRUE(src.ok());
    mvcc::Batch b = (*src)->NewBatch();
    for (int i = 0; i < 3000; ++i) {
      b.Put(Cf::kKv, "rev" + std::to_string(i), std::string(300, 'v') + std::to_string(i));
    }
    b.Put(Cf::kMembers, "m1", "the member list");
    b.Put(Cf::kMeta, mvcc::meta::kConsistentIndex, util::EncodeFixed64BE(60));
    ASSERT_TRUE((*src)->Commit(std::move(b), false).ok());
    std::filesystem::create_directories(dir + "/snap");
    ASSERT_TRUE(WriteStateSnapshot(**src, snap_path, SnapshotEncoding::kZstd).ok());
    want = ReadStateContents(**src);
  }
  auto target = mvcc::Backend::Open(dir + "/target", tu::NoFsyncOptions());
  ASSERT_TRUE(target.ok());
  {
    // The raft state records the snapshot at index 60 ...
    auto storage = RaftStorage::Open(target->get());
    ASSERT_TRUE(storage.ok());
    raft::Ready rd;
    for (raft::Index i = 1; i <= 60; ++i) rd.entries.push_back(MakeEntry(i));
    ASSERT_TRUE((*storage)->Save(rd, false).ok());
    raft::ConfState cs;
    cs.add_voters(1);
    ASSERT_TRUE((*storage)->CreateSnapshot(60, cs, snap_path).ok());
  }
  // ... whose install stopped after its first record batch.
  RestoreOptions cut;
  cut.batch_bytes = 64 << 10;
  cut.fail_after_batches = 1;
  ASSERT_EQ(RestoreStateSnapshot(target->get(), snap_path, cut).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ReadStateContents(**target).count({static_cast<int>(Cf::kMembers), "m1"}), 0u);

  ASSERT_TRUE(FinishSnapshotInstall(target->get(), dir + "/snap").ok());
  EXPECT_EQ(ReadStateContents(**target), want);

  // At the snapshot already: nothing is replaced.
  mvcc::Batch later = (*target)->NewBatch();
  later.Put(Cf::kKv, "written-after", "x");
  ASSERT_TRUE((*target)->Commit(std::move(later), false).ok());
  ASSERT_TRUE(FinishSnapshotInstall(target->get(), dir + "/snap").ok());
  EXPECT_TRUE((*target)->Get(Cf::kKv, "written-after").ok());
  target->reset();
  tu::RemoveTempDir(dir);
}

}  // namespace
}  // namespace quorum::server
