// The Range fast path (key-values spliced into the response as stored) must
// produce the very bytes protobuf writes for the response the general path
// builds: same header, kvs, more and count, for every request it accepts.
#include "server/api/range_response_encoder.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "server/apply/applier.h"
#include "server/apply/range_executor.h"
#include "server/apply/temp_applier_for_test.h"

namespace quorum::server {
namespace {

using etcdserverpb::RangeRequest;
using internalpb::InternalRequest;

std::string Flatten(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(b.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

class RangeResponseEncoderTest : public test_util::TempApplierTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(TempApplierTest::SetUp());
    // 300 keys with values up to 200 KiB (several 64 KiB chunks), some
    // rewritten later (versions, scattered revisions), one deleted.
    for (int i = 0; i < 300; ++i) {
      const size_t size = i % 50 == 0 ? (200 << 10) : static_cast<size_t>(i);
      Put(absl::StrFormat("key/%03d", i), std::string(size, static_cast<char>('a' + i % 26)));
    }
    for (int i = 0; i < 300; i += 7) Put(absl::StrFormat("key/%03d", i), "v2");
    InternalRequest del;
    del.mutable_delete_range()->set_key("key/100");
    ASSERT_TRUE(applier_->Apply(del).ok());
    Commit();
  }
  static etcdserverpb::ResponseHeader Stamp(int64_t rev) {
    etcdserverpb::ResponseHeader h;
    h.set_cluster_id(0x1234567890abcdefULL);
    h.set_member_id(42);
    h.set_revision(rev);
    h.set_raft_term(7);
    return h;
  }
  // Both paths for `r`; fails unless the bytes are equal.
  void ExpectSameBytes(const RangeRequest& r) {
    ASSERT_TRUE(CanServeSerialized(r)) << r.ShortDebugString();
    auto general = applier_->Range(r);
    auto fast = applier_->RangeSerialized(r);
    ASSERT_EQ(general.ok(), fast.ok()) << general.status() << " / " << fast.status();
    if (!general.ok()) {
      EXPECT_EQ(general.status(), fast.status());
      return;
    }
    *general->mutable_header() = Stamp(general->header().revision());
    const std::string want = general->SerializeAsString();
    const std::string got = Flatten(EncodeRangeResponse(Stamp(fast->range.rev), *fast));
    EXPECT_EQ(got.size(), want.size()) << r.ShortDebugString();
    EXPECT_TRUE(got == want) << r.ShortDebugString();
  }

};

TEST_F(RangeResponseEncoderTest, SameBytesAsTheGeneralPath) {
  std::vector<RangeRequest> reqs(8);
  reqs[0].set_key("key/");  // prefix
  reqs[0].set_range_end("key0");
  reqs[1] = reqs[0];
  reqs[1].set_limit(10);  // more = true
  reqs[2] = reqs[0];
  reqs[2].set_limit(299);  // exactly all: more = false
  reqs[3] = reqs[0];
  reqs[3].set_sort_order(RangeRequest::ASCEND);  // key order, said explicitly
  reqs[4].set_key("key/050");                    // one key
  reqs[5].set_key("nothing");                    // no key: count 0, no kvs
  reqs[6] = reqs[0];
  reqs[6].set_revision(2);  // an old revision
  reqs[7].set_key(std::string(1, '\0'));
  reqs[7].set_range_end(std::string(1, '\0'));  // everything
  for (const auto& r : reqs) ASSERT_NO_FATAL_FAILURE(ExpectSameBytes(r));
}

TEST_F(RangeResponseEncoderTest, ErrorsAreTheGeneralPathsErrors) {
  RangeRequest future;
  future.set_key("key/");
  future.set_revision(1000000);
  ASSERT_NO_FATAL_FAILURE(ExpectSameBytes(future));
  ASSERT_TRUE(store_->Compact(100).ok());
  Commit();
  RangeRequest compacted;
  compacted.set_key("key/");
  compacted.set_range_end("key0");
  compacted.set_revision(50);
  ASSERT_NO_FATAL_FAILURE(ExpectSameBytes(compacted));
}

TEST_F(RangeResponseEncoderTest, OtherRequestsTakeTheGeneralPath) {
  RangeRequest r;
  r.set_key("key/");
  r.set_range_end("key0");
  EXPECT_TRUE(CanServeSerialized(r));
  auto with = [&](auto set) {
    RangeRequest c = r;
    set(&c);
    return CanServeSerialized(c);
  };
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_keys_only(true); }));
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_count_only(true); }));
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_sort_order(RangeRequest::DESCEND); }));
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_sort_target(RangeRequest::MOD); }));
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_min_mod_revision(3); }));
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_max_mod_revision(3); }));
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_min_create_revision(3); }));
  EXPECT_FALSE(with([](RangeRequest* c) { c->set_max_create_revision(3); }));
  EXPECT_TRUE(with([](RangeRequest* c) { c->set_serializable(true); }));
  EXPECT_TRUE(with([](RangeRequest* c) { c->set_limit(5); }));
}

}  // namespace
}  // namespace quorum::server
