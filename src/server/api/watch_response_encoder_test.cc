// The hand-written WatchResponse encoding must be byte-for-byte what
// protobuf serializes for the same response, including etcd's fragment cuts.
#include "server/api/watch_response_encoder.h"

#include <google/protobuf/io/coded_stream.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace quorum::server {
namespace {

using etcdserverpb::WatchResponse;

std::string Bytes(const grpc::ByteBuffer& bb) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(bb.Dump(&slices).ok());
  std::string s;
  for (const auto& sl : slices) s.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  return s;
}

mvcc::Change Put(const std::string& key, const std::string& value, int64_t rev) {
  mvcc::Change c;
  c.kv.set_key(key);
  c.kv.set_value(value);
  c.kv.set_create_revision(2);
  c.kv.set_mod_revision(rev);
  c.kv.set_version(rev - 1);
  return c;
}

mvcc::Change Del(const std::string& key, int64_t rev) {
  mvcc::Change c;
  c.deleted = true;
  c.kv.set_key(key);
  c.kv.set_mod_revision(rev);
  return c;
}

mvccpb::Event ToEvent(const mvcc::Change& c) {
  mvccpb::Event ev;
  ev.set_type(c.deleted ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
  *ev.mutable_kv() = c.kv;
  return ev;
}

WatchResponse Expected(const WatchHeader& h, int64_t id, const std::vector<mvcc::Change>& cs) {
  WatchResponse r;
  r.mutable_header()->set_cluster_id(h.cluster_id);
  r.mutable_header()->set_member_id(h.member_id);
  r.mutable_header()->set_revision(h.revision);
  r.mutable_header()->set_raft_term(h.raft_term);
  r.set_watch_id(id);
  for (const auto& c : cs) *r.add_events() = ToEvent(c);
  return r;
}

// The proto-based fragmentation etcd's sendFragments does (and the
// server did before the hand encoder): the reference for the cut points.
std::vector<std::string> ExpectedFragments(const WatchResponse& whole, size_t limit) {
  if (whole.events_size() < 2 || whole.ByteSizeLong() < limit) return {whole.SerializeAsString()};
  std::vector<std::string> out;
  WatchResponse base = whole;
  base.clear_events();
  base.set_fragment(true);
  WatchResponse cur = base;
  size_t cur_size = base.ByteSizeLong();
  for (const auto& ev : whole.events()) {
    const size_t n = ev.ByteSizeLong();
    const size_t field = 1 + google::protobuf::io::CodedOutputStream::VarintSize64(n) + n;
    if (cur.events_size() > 0 && cur_size + field >= limit) {
      out.push_back(cur.SerializeAsString());
      cur = base;
      cur_size = base.ByteSizeLong();
    }
    *cur.add_events() = ev;
    cur_size += field;
  }
  cur.set_fragment(false);
  out.push_back(cur.SerializeAsString());
  return out;
}

TEST(WatchResponseEncoderTest, SameBytesAsProtobuf) {
  auto g1 = std::make_shared<const mvcc::EventGroup>(
      std::vector<mvcc::Change>{Put("a", "1", 7), Put("b", std::string(300, 'x'), 7)}, 7, nullptr);
  auto g2 = std::make_shared<const mvcc::EventGroup>(std::vector<mvcc::Change>{Del("a", 9)}, 12,
                                                     nullptr);
  std::vector<mvcc::EventRef> refs = {{g1, {0, 1}}, {g2, {0}}};
  for (const WatchHeader& h :
       {WatchHeader{0, 0, 0, 0}, WatchHeader{14841639068965178418u, 10276657743932975437u, 12, 3},
        WatchHeader{1, 2, 300, 1u << 31}}) {
    for (int64_t id : {0, 1, 5, 1 << 20}) {
      std::vector<grpc::ByteBuffer> out;
      EncodeEventResponses(h, id, refs, /*prev_kv=*/false, /*fragment=*/false, 1 << 20, &out);
      ASSERT_EQ(out.size(), 1u);
      WatchResponse want = Expected(h, id, {g1->change(0), g1->change(1), g2->change(0)});
      EXPECT_EQ(Bytes(out[0]), want.SerializeAsString()) << "id " << id;
      WatchResponse parsed;
      ASSERT_TRUE(parsed.ParseFromString(Bytes(out[0])));
      EXPECT_EQ(parsed.events_size(), 3);
      EXPECT_EQ(parsed.events(2).type(), mvccpb::Event::DELETE);
    }
  }
}

TEST(WatchResponseEncoderTest, OnlyTheChosenEventsInOrder) {
  auto g = std::make_shared<const mvcc::EventGroup>(
      std::vector<mvcc::Change>{Put("a", "1", 3), Put("b", "2", 3), Put("c", "3", 3)}, 3, nullptr);
  std::vector<mvcc::EventRef> refs = {{g, {0, 2}}};
  std::vector<grpc::ByteBuffer> out;
  WatchHeader h{1, 2, 3, 4};
  EncodeEventResponses(h, 9, refs, false, false, 1 << 20, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Bytes(out[0]), Expected(h, 9, {g->change(0), g->change(2)}).SerializeAsString());
}

TEST(WatchResponseEncoderTest, FragmentsLikeEtcd) {
  std::vector<mvcc::Change> cs;
  for (int i = 0; i < 40; ++i) cs.push_back(Put("k" + std::to_string(i), std::string(10 + i * 7, 'v'), 5));
  auto g = std::make_shared<const mvcc::EventGroup>(cs, 5, nullptr);
  mvcc::EventRef ref{g, {}};
  for (uint32_t i = 0; i < cs.size(); ++i) ref.events.push_back(i);
  const WatchHeader h{77, 88, 5, 2};
  const WatchResponse whole = Expected(h, 3, cs);
  for (size_t limit : {size_t{50}, size_t{200}, size_t{333}, size_t{1000}, whole.ByteSizeLong(),
                       whole.ByteSizeLong() + 1}) {
    std::vector<grpc::ByteBuffer> out;
    EncodeEventResponses(h, 3, {ref}, false, /*fragment=*/true, limit, &out);
    const auto want = ExpectedFragments(whole, limit);
    ASSERT_EQ(out.size(), want.size()) << "limit " << limit;
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(Bytes(out[i]), want[i]) << "limit " << limit;
  }
  // Without fragment=true the response is never cut.
  std::vector<grpc::ByteBuffer> out;
  EncodeEventResponses(h, 3, {ref}, false, /*fragment=*/false, 50, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Bytes(out[0]), whole.SerializeAsString());
}

TEST(WatchResponseEncoderTest, ControlResponsesAsSerialized) {
  WatchResponse r;
  r.mutable_header()->set_revision(4);
  r.set_watch_id(-1);
  r.set_canceled(true);
  r.set_cancel_reason("mvcc: watcher range is empty");
  EXPECT_EQ(Bytes(EncodeResponse(r)), r.SerializeAsString());
}

}  // namespace
}  // namespace quorum::server
