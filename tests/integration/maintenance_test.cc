// Maintenance.Alarm / Hash / Snapshot and the space quota on in-process
// clusters: alarms replicate through raft and survive restarts, NOSPACE
// rejects growing requests with etcd's exact error until disarmed, and a
// snapshot taken while writes go on is the state at exactly one revision.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/snapshot_file.h"
#include "mvcc/backend/backend.h"
#include "mvcc/kv_store.h"
#include "server/member/state_snapshot.h"
#include "status_assertions.h"
#include "test_cluster.h"
#include "util/sha256.h"

namespace quorum::integration {
namespace {

constexpr char kNoSpace[] = "etcdserver: mvcc: database space exceeded";

std::unique_ptr<TestCluster> StartOrDie(ClusterOptions o) {
  auto c = TestCluster::Start(o);
  if (!c.ok()) {
    ADD_FAILURE() << "cluster did not start: " << c.status();
    return nullptr;
  }
  return std::move(*c);
}

std::unique_ptr<grpc::ClientContext> Ctx(int ms = 3000) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  return ctx;
}

grpc::Status Alarm(TestCluster& c, int via, etcdserverpb::AlarmRequest::AlarmAction action,
                   uint64_t member, etcdserverpb::AlarmType type,
                   etcdserverpb::AlarmResponse* resp) {
  etcdserverpb::AlarmRequest req;
  req.set_action(action);
  req.set_memberid(member);
  req.set_alarm(type);
  return c.Maintenance(via)->Alarm(Ctx().get(), req, resp);
}

// "member:TYPE" lines of an alarm GET on member `via`.
std::vector<std::string> AlarmList(TestCluster& c, int via) {
  etcdserverpb::AlarmResponse resp;
  grpc::Status s = Alarm(c, via, etcdserverpb::AlarmRequest::GET, 0, etcdserverpb::NONE, &resp);
  if (!s.ok()) return {"error: " + s.error_message()};
  std::vector<std::string> out;
  for (const auto& a : resp.alarms()) {
    out.push_back(absl::StrCat(a.memberid(), ":", etcdserverpb::AlarmType_Name(a.alarm())));
  }
  return out;
}

grpc::Status PutRaw(TestCluster& c, int via, const std::string& k, const std::string& v) {
  etcdserverpb::PutRequest req;
  req.set_key(k);
  req.set_value(v);
  etcdserverpb::PutResponse resp;
  return c.Kv(via)->Put(Ctx().get(), req, &resp);
}

grpc::Status TxnRaw(TestCluster& c, int via, bool with_put) {
  etcdserverpb::TxnRequest req;
  auto* op = req.add_success();
  if (with_put) {
    op->mutable_request_put()->set_key("t");
    op->mutable_request_put()->set_value("v");
  } else {
    op->mutable_request_delete_range()->set_key("t");
  }
  etcdserverpb::TxnResponse resp;
  return c.Kv(via)->Txn(Ctx().get(), req, &resp);
}

grpc::Status DeleteRaw(TestCluster& c, int via, const std::string& k) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(k);
  etcdserverpb::DeleteRangeResponse resp;
  return c.Kv(via)->DeleteRange(Ctx().get(), req, &resp);
}

void ExpectNoSpace(const grpc::Status& s, const std::string& what) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << what << ": " << s.error_message();
  EXPECT_EQ(s.error_message(), kNoSpace) << what;
}

TEST(MaintenanceTest, AlarmsReplicateGateWritesAndSurviveRestart) {
  ClusterOptions o;
  o.unsafe_no_fsync = false;  // the alarm must be durable, not just in the page cache
  auto c = StartOrDie(o);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Put(0, "k", "v").ok());
  const uint64_t m1 = c->Id(1);
  const std::string expected = absl::StrCat(m1, ":NOSPACE");

  etcdserverpb::AlarmResponse resp;
  ASSERT_TRUE(Alarm(*c, 0, etcdserverpb::AlarmRequest::ACTIVATE, m1, etcdserverpb::NOSPACE, &resp).ok());
  ASSERT_EQ(resp.alarms_size(), 1);
  EXPECT_FALSE(resp.has_header()) << "etcd 3.4 sends no header with AlarmResponse";
  // Activating again answers the existing alarm and changes nothing.
  ASSERT_TRUE(Alarm(*c, 2, etcdserverpb::AlarmRequest::ACTIVATE, m1, etcdserverpb::NOSPACE, &resp).ok());
  ASSERT_EQ(resp.alarms_size(), 1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(AlarmList(*c, i), std::vector<std::string>{expected}) << "member " << i;
  }

  // NOSPACE: puts, txns with puts and lease grants fail on every member;
  // deletes, delete-only txns and reads still work.
  for (int i = 0; i < 3; ++i) ExpectNoSpace(PutRaw(*c, i, "x", "y"), absl::StrCat("put via ", i));
  ExpectNoSpace(TxnRaw(*c, 2, /*with_put=*/true), "txn with a put");
  EXPECT_TRUE(TxnRaw(*c, 2, /*with_put=*/false).ok());
  {
    etcdserverpb::LeaseGrantRequest req;
    req.set_ttl(60);
    etcdserverpb::LeaseGrantResponse lr;
    auto lease = etcdserverpb::Lease::NewStub(grpc::CreateChannel(c->ClientAddress(0),
                                                                   grpc::InsecureChannelCredentials()));
    ExpectNoSpace(lease->LeaseGrant(Ctx().get(), req, &lr), "lease grant");
  }
  EXPECT_TRUE(DeleteRaw(*c, 1, "k").ok());
  auto got = c->Get(2, "k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->value.has_value());

  // The alarm is persisted: it is still there after every member restarts.
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(c->Stop(i, /*crash=*/true));
    ASSERT_OK(c->Restart(i));
  }
  ASSERT_TRUE(c->WaitForLeader().ok());
  ASSERT_TRUE(c->WaitConverged().ok()) << c->Describe();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(AlarmList(*c, i), std::vector<std::string>{expected}) << "after restart, member " << i
                                                                    << "\n" << c->Describe();
  }
  ExpectNoSpace(PutRaw(*c, 1, "x", "y"), "put after restart");

  // Disarm: writes work again everywhere.
  ASSERT_TRUE(Alarm(*c, 2, etcdserverpb::AlarmRequest::DEACTIVATE, m1, etcdserverpb::NOSPACE, &resp).ok());
  ASSERT_EQ(resp.alarms_size(), 1);
  ASSERT_TRUE(Alarm(*c, 2, etcdserverpb::AlarmRequest::DEACTIVATE, m1, etcdserverpb::NOSPACE, &resp).ok());
  EXPECT_EQ(resp.alarms_size(), 0) << "a second disarm finds nothing";
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(AlarmList(*c, i).empty());
    EXPECT_TRUE(PutRaw(*c, i, "x", "y").ok()) << "put via " << i;
  }

  // CORRUPT stops every write with etcd's DataLoss error.
  ASSERT_TRUE(Alarm(*c, 0, etcdserverpb::AlarmRequest::ACTIVATE, c->Id(0), etcdserverpb::CORRUPT, &resp).ok());
  grpc::Status s = PutRaw(*c, 1, "x", "z");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(s.error_message(), "etcdserver: corrupt cluster");
  s = DeleteRaw(*c, 1, "x");
  EXPECT_EQ(s.error_message(), "etcdserver: corrupt cluster");
  ASSERT_TRUE(Alarm(*c, 0, etcdserverpb::AlarmRequest::DEACTIVATE, c->Id(0), etcdserverpb::CORRUPT, &resp).ok());
  EXPECT_TRUE(PutRaw(*c, 1, "x", "z").ok());
}

TEST(MaintenanceTest, QuotaRaisesNoSpaceUntilCompactDefragAndDisarm) {
  ClusterOptions o;
  o.quota_backend_bytes = 1 << 20;
  auto c = StartOrDie(o);
  ASSERT_NE(c, nullptr);
  const std::string big(100 * 1000, 'b');
  grpc::Status last;
  int accepted = 0;
  for (int i = 0; i < 60; ++i) {
    last = PutRaw(*c, 0, "big", big + std::to_string(i));
    if (!last.ok()) break;
    ++accepted;
  }
  ASSERT_FALSE(last.ok()) << "60 puts of 100 kB never exceeded a 1 MiB quota";
  ExpectNoSpace(last, "put over the quota");
  EXPECT_GE(accepted, 5);
  // Some member raised NOSPACE for itself: the one whose gRPC check refused,
  // or one whose apply of the last put found it over the quota (then the
  // capped apply refused the next put, and no further alarm is raised —
  // etcd's rule). The apply-side alarm is proposed after the refusal, so
  // member 1 learns it a little later: wait for it (bounded).
  std::vector<std::string> alarms;
  ASSERT_TRUE(PollUntil(
      [&] {
        alarms = AlarmList(*c, 1);
        return !alarms.empty();
      },
      Millis(5000)))
      << "no NOSPACE alarm reached member 1";
  for (const auto& a : alarms) {
    bool known = false;
    for (int i = 0; i < 3; ++i) known |= a == absl::StrCat(c->Id(i), ":NOSPACE");
    EXPECT_TRUE(known) << a;
  }
  ExpectNoSpace(PutRaw(*c, 2, "small", "v"), "small put while NOSPACE");
  EXPECT_TRUE(DeleteRaw(*c, 2, "nothing").ok());

  // Compact everything, defragment every member, then disarm.
  auto st = c->Status(0);
  ASSERT_TRUE(st.ok());
  etcdserverpb::CompactionRequest creq;
  creq.set_revision(st->header().revision());
  etcdserverpb::CompactionResponse cresp;
  ASSERT_TRUE(c->Kv(0)->Compact(Ctx().get(), creq, &cresp).ok());
  ASSERT_TRUE(c->WaitConverged().ok());
  for (int i = 0; i < 3; ++i) {
    etcdserverpb::DefragmentResponse dr;
    ASSERT_TRUE(c->Maintenance(i)->Defragment(Ctx(10000).get(), {}, &dr).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the quota samples the size
  etcdserverpb::AlarmResponse resp;
  etcdserverpb::AlarmResponse list;
  ASSERT_TRUE(Alarm(*c, 0, etcdserverpb::AlarmRequest::GET, 0, etcdserverpb::NONE, &list).ok());
  for (const auto& a : list.alarms()) {
    ASSERT_TRUE(Alarm(*c, 0, etcdserverpb::AlarmRequest::DEACTIVATE, a.memberid(), a.alarm(), &resp).ok());
  }
  EXPECT_TRUE(AlarmList(*c, 0).empty());
  grpc::Status after = PutRaw(*c, 0, "small", "v");
  EXPECT_TRUE(after.ok()) << after.error_message();
}

// Reads Maintenance.Snapshot of member `via` into `data` (the whole stream,
// digest included, after checking it); returns the number of messages.
int FetchSnapshot(TestCluster& c, int via, std::string* data) {
  auto ctx = Ctx(20000);
  auto reader = c.Maintenance(via)->Snapshot(ctx.get(), etcdserverpb::SnapshotRequest());
  etcdserverpb::SnapshotResponse msg;
  std::vector<etcdserverpb::SnapshotResponse> msgs;
  while (reader->Read(&msg)) msgs.push_back(msg);
  grpc::Status s = reader->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  if (msgs.size() < 2) {
    ADD_FAILURE() << "snapshot stream too short";
    return 0;
  }
  data->clear();
  uint64_t total = 0;
  for (size_t i = 0; i + 1 < msgs.size(); ++i) total += msgs[i].blob().size();
  uint64_t sent = 0;
  for (size_t i = 0; i + 1 < msgs.size(); ++i) {
    EXPECT_LE(msgs[i].blob().size(), 32u * 1024);
    sent += msgs[i].blob().size();
    EXPECT_EQ(msgs[i].remaining_bytes(), total - sent) << "message " << i;
    *data += msgs[i].blob();
  }
  EXPECT_EQ(msgs.back().remaining_bytes(), 0u);
  EXPECT_EQ(total % 512, 0u) << "etcdctl 3.4 wants whole 512-byte blocks before the digest";
  util::Sha256 sha;
  sha.Update(*data);
  EXPECT_EQ(msgs.back().blob(), sha.Finish()) << "the last message is the sha256 of the data";
  *data += msgs.back().blob();
  return static_cast<int>(msgs.size());
}

TEST(MaintenanceTest, SnapshotDuringWritesIsTheStateAtOneRevision) {
  ClusterOptions o;
  auto c = StartOrDie(o);
  ASSERT_NE(c, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 20000; ++i) {
      if (PutRaw(*c, 0, absl::StrCat("key", i % 97), std::string(300, 'a' + i % 26) + std::to_string(i)).ok()) {
        ++written;
      }
    }
  });
  while (written < 300) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Member 1 learns each commit after member 0 answered it: wait until it
  // has applied those 300 writes too (bounded), so its snapshot holds them.
  int64_t member1_rev = 0;
  for (int i = 0; i < 500 && member1_rev <= 300; ++i) {
    auto st = c->Status(1);
    if (st.ok()) member1_rev = st->header().revision();
    if (member1_rev <= 300) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(member1_rev, 300) << "member 1 did not apply the acknowledged writes within 5 s";
  std::string data;
  const int msgs = FetchSnapshot(*c, 1, &data);
  const int during = written.load();
  stop = true;
  writer.join();
  ASSERT_GT(msgs, 2) << "expected several 32 KiB chunks";
  ASSERT_GT(written.load(), during) << "writes went on while the snapshot streamed";

  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    absl::StrCat("maint-snap-", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "snap.qsnap").string();
  { std::ofstream(file, std::ios::binary) << data; }
  auto info = client::ReadSnapshotFile(file);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->has_digest);
  const int64_t rev = info->revision;
  ASSERT_GT(rev, 300);
  // The state file proper (no padding, no digest) is what restore reads.
  { std::ofstream(file, std::ios::binary | std::ios::trunc) << data.substr(0, info->state_size); }

  // Restore it into a fresh store: its revision is `rev`, and its content is
  // exactly what the cluster answers for a read at `rev`.
  auto backend = mvcc::Backend::Open((dir / "db").string());
  ASSERT_TRUE(backend.ok());
  ASSERT_OK(server::RestoreStateSnapshot(backend->get(), file));
  auto store = mvcc::KvStore::Open(backend->get());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Rev(), rev);
  auto mine = (*store)->Range("", std::string(1, '\0'), {});
  ASSERT_TRUE(mine.ok());
  etcdserverpb::RangeRequest rr;
  rr.set_key(std::string(1, '\0'));
  rr.set_range_end(std::string(1, '\0'));
  rr.set_revision(rev);
  etcdserverpb::RangeResponse theirs;
  ASSERT_TRUE(c->Kv(0)->Range(Ctx().get(), rr, &theirs).ok());
  ASSERT_EQ(static_cast<int>(mine->kvs.size()), theirs.kvs_size());
  for (int i = 0; i < theirs.kvs_size(); ++i) {
    EXPECT_EQ(mine->kvs[i].SerializeAsString(), theirs.kvs(i).SerializeAsString()) << theirs.kvs(i).key();
  }
  store->reset();
  backend->reset();
  std::filesystem::remove_all(dir);
}

TEST(MaintenanceTest, NewClusterRestoredFromASnapshotHasItsKeysAndHistory) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    absl::StrCat("maint-restore-", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "saved.db").string();
  int64_t rev = 0;
  {
    auto a = StartOrDie(ClusterOptions{});
    ASSERT_NE(a, nullptr);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(a->Put(i % 3, absl::StrCat("r", i % 10), absl::StrCat("v", i)).ok());
    std::string data;
    ASSERT_GT(FetchSnapshot(*a, 2, &data), 1);
    std::ofstream(file, std::ios::binary) << data;
    auto g = a->Get(0, "r0");
    ASSERT_TRUE(g.ok());
    rev = g->revision;
    etcdserverpb::AlarmResponse resp;
    ASSERT_TRUE(Alarm(*a, 0, etcdserverpb::AlarmRequest::ACTIVATE, a->Id(0), etcdserverpb::NOSPACE, &resp).ok());
  }
  ClusterOptions o;
  o.restore_snapshot = file;
  auto b = StartOrDie(o);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->WaitConverged().ok()) << b->Describe();
  for (int i = 0; i < 3; ++i) {
    auto g = b->Get(i, "r9");
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(g->value, std::optional<std::string>("v29")) << "member " << i;
    EXPECT_EQ(g->revision, rev) << "revisions continue from the snapshot";
    EXPECT_TRUE(AlarmList(*b, i).empty()) << "the old cluster's alarms are not carried over";
  }
  // History below the snapshot's revision is there too, and writes go on.
  etcdserverpb::RangeRequest rr;
  rr.set_key("r0");
  rr.set_revision(2);
  etcdserverpb::RangeResponse old;
  ASSERT_TRUE(b->Kv(1)->Range(Ctx().get(), rr, &old).ok());
  ASSERT_EQ(old.kvs_size(), 1);
  EXPECT_EQ(old.kvs(0).value(), "v0");
  auto put = b->Put(2, "new", "x");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(*put, rev + 1);
  // A restart keeps the data (the flag applies to an empty data dir only).
  ASSERT_OK(b->Stop(1));
  ASSERT_OK(b->Restart(1));
  ASSERT_TRUE(b->WaitConverged().ok()) << b->Describe();
  b.reset();
  std::filesystem::remove_all(dir);
}

TEST(MaintenanceTest, HashAgreesAcrossMembersAndFollowsWrites) {
  ClusterOptions o;
  auto c = StartOrDie(o);
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c->Put(i % 3, absl::StrCat("h", i), "v").ok());
  ASSERT_TRUE(c->WaitConverged().ok());
  // Each founding member records its own client URLs at bootstrap; the
  // others learn them when its attributes entry applies. Until every
  // member has published, the members column family (and so Hash) may
  // differ; after that, members with the same applied log agree.
  std::vector<uint32_t> hashes;
  const bool agreed = PollUntil(
      [&] {
        hashes.clear();
        for (int i = 0; i < 3; ++i) {
          etcdserverpb::HashResponse hr;
          if (!c->Maintenance(i)->Hash(Ctx().get(), {}, &hr).ok()) return false;
          EXPECT_GT(hr.header().revision(), 20);
          hashes.push_back(hr.hash());
        }
        return hashes[0] == hashes[1] && hashes[0] == hashes[2];
      },
      Millis(5000), Millis(100));
  ASSERT_TRUE(agreed) << ::testing::PrintToString(hashes);
  ASSERT_TRUE(c->Put(0, "h0", "changed").ok());
  ASSERT_TRUE(c->WaitConverged().ok());
  etcdserverpb::HashResponse hr;
  ASSERT_TRUE(c->Maintenance(2)->Hash(Ctx().get(), {}, &hr).ok());
  EXPECT_NE(hr.hash(), hashes[0]);
}

}  // namespace
}  // namespace quorum::integration
