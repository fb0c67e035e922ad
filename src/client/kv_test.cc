// Option -> request mapping of KvClient (clientv3's semantics).
#include "client/kv.h"

#include <gtest/gtest.h>

namespace quorum::client {
namespace {

const std::string kNul(1, '\0');

TEST(PrefixRangeEnd, IncrementsLastByteBelowFF) {
  EXPECT_EQ(PrefixRangeEnd("foo"), "fop");
  EXPECT_EQ(PrefixRangeEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixRangeEnd(std::string("\xff\xff", 2)), kNul);
  EXPECT_EQ(PrefixRangeEnd(""), kNul);
}

TEST(BuildRangeRequest, SingleKeyDefaults) {
  auto r = BuildRangeRequest("k", {});
  EXPECT_EQ(r.key(), "k");
  EXPECT_EQ(r.range_end(), "");
  EXPECT_EQ(r.limit(), 0);
  EXPECT_EQ(r.revision(), 0);
  EXPECT_EQ(r.sort_order(), etcdserverpb::RangeRequest::NONE);
  EXPECT_FALSE(r.serializable());
}

TEST(BuildRangeRequest, PrefixFromKeyAndExplicitRange) {
  GetOptions o;
  o.prefix = true;
  auto r = BuildRangeRequest("foo", o);
  EXPECT_EQ(r.range_end(), "fop");
  r = BuildRangeRequest("", o);  // whole keyspace
  EXPECT_EQ(r.key(), kNul);
  EXPECT_EQ(r.range_end(), kNul);
  o = {};
  o.from_key = true;
  r = BuildRangeRequest("b", o);
  EXPECT_EQ(r.key(), "b");
  EXPECT_EQ(r.range_end(), kNul);
  r = BuildRangeRequest("", o);
  EXPECT_EQ(r.key(), kNul);
  o = {};
  o.range_end = "z";
  EXPECT_EQ(BuildRangeRequest("a", o).range_end(), "z");
}

TEST(BuildRangeRequest, SortKeyAscendIsSentAsNone) {
  GetOptions o;
  o.sort_target = SortTarget::kKey;
  o.sort_order = SortOrder::kAscend;
  auto r = BuildRangeRequest("a", o);
  EXPECT_EQ(r.sort_order(), etcdserverpb::RangeRequest::NONE);
  o.sort_order = SortOrder::kDescend;
  r = BuildRangeRequest("a", o);
  EXPECT_EQ(r.sort_order(), etcdserverpb::RangeRequest::DESCEND);
  o.sort_target = SortTarget::kMod;
  o.sort_order = SortOrder::kAscend;
  r = BuildRangeRequest("a", o);
  EXPECT_EQ(r.sort_order(), etcdserverpb::RangeRequest::ASCEND);
  EXPECT_EQ(r.sort_target(), etcdserverpb::RangeRequest::MOD);
}

TEST(BuildRangeRequest, RevisionLimitFlagsAndFilters) {
  GetOptions o;
  o.revision = -3;  // <= 0: newest, not sent
  EXPECT_EQ(BuildRangeRequest("a", o).revision(), 0);
  o.revision = 7;
  o.limit = 2;
  o.keys_only = o.count_only = o.serializable = true;
  o.min_mod_revision = 1;
  o.max_mod_revision = 2;
  o.min_create_revision = 3;
  o.max_create_revision = 4;
  auto r = BuildRangeRequest("a", o);
  EXPECT_EQ(r.revision(), 7);
  EXPECT_EQ(r.limit(), 2);
  EXPECT_TRUE(r.keys_only() && r.count_only() && r.serializable());
  EXPECT_EQ(r.min_mod_revision(), 1);
  EXPECT_EQ(r.max_mod_revision(), 2);
  EXPECT_EQ(r.min_create_revision(), 3);
  EXPECT_EQ(r.max_create_revision(), 4);
}

TEST(BuildPutRequest, Flags) {
  PutOptions o;
  o.lease = 0x1234;
  o.prev_kv = o.ignore_lease = true;
  auto r = BuildPutRequest("k", "v", o);
  EXPECT_EQ(r.key(), "k");
  EXPECT_EQ(r.value(), "v");
  EXPECT_EQ(r.lease(), 0x1234);
  EXPECT_TRUE(r.prev_kv());
  EXPECT_TRUE(r.ignore_lease());
  EXPECT_FALSE(r.ignore_value());
}

TEST(BuildDeleteRequest, PrefixFromKeyPrevKv) {
  DeleteOptions o;
  o.prefix = true;
  o.prev_kv = true;
  auto r = BuildDeleteRequest("d/", o);
  EXPECT_EQ(r.range_end(), "d0");
  EXPECT_TRUE(r.prev_kv());
  o = {};
  o.from_key = true;
  r = BuildDeleteRequest("", o);
  EXPECT_EQ(r.key(), kNul);
  EXPECT_EQ(r.range_end(), kNul);
}

}  // namespace
}  // namespace quorum::client
