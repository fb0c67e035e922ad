#include "client/txn.h"

#include <gtest/gtest.h>

namespace quorum::client {
namespace {

TEST(Cmp, TargetsAndResults) {
  auto c = Cmp::Value("k").Equal("v").proto();
  EXPECT_EQ(c.target(), etcdserverpb::Compare::VALUE);
  EXPECT_EQ(c.result(), etcdserverpb::Compare::EQUAL);
  EXPECT_EQ(c.key(), "k");
  EXPECT_EQ(c.value(), "v");
  c = Cmp::Version("k").Greater(int64_t{0}).proto();
  EXPECT_EQ(c.target(), etcdserverpb::Compare::VERSION);
  EXPECT_EQ(c.result(), etcdserverpb::Compare::GREATER);
  EXPECT_TRUE(c.has_version());
  c = Cmp::CreateRevision("k").Less(int64_t{5}).proto();
  EXPECT_EQ(c.create_revision(), 5);
  c = Cmp::ModRevision("k").NotEqual(int64_t{6}).proto();
  EXPECT_EQ(c.mod_revision(), 6);
  EXPECT_EQ(c.result(), etcdserverpb::Compare::NOT_EQUAL);
  c = Cmp::Lease("k").Equal(int64_t{0x10}).proto();
  EXPECT_EQ(c.lease(), 0x10);
  c = Cmp::Version("p").WithPrefix().Equal(int64_t{1}).proto();
  EXPECT_EQ(c.range_end(), "q");
}

TEST(ParseCompareOp, Operators) {
  EXPECT_EQ(*ParseCompareOp("="), etcdserverpb::Compare::EQUAL);
  EXPECT_EQ(*ParseCompareOp("!="), etcdserverpb::Compare::NOT_EQUAL);
  EXPECT_EQ(*ParseCompareOp(">"), etcdserverpb::Compare::GREATER);
  EXPECT_EQ(*ParseCompareOp("<"), etcdserverpb::Compare::LESS);
  EXPECT_FALSE(ParseCompareOp("==").ok());
}

TEST(Txn, BuildsBranches) {
  GetOptions g;
  g.prefix = true;
  Txn t;
  t.If({Cmp::Value("a").Equal("1")})
      .Then({Op::Put("a", "2"), Op::Get("a", g)})
      .Else({Op::Delete("a")});
  const auto& r = t.Build();
  ASSERT_EQ(r.compare_size(), 1);
  ASSERT_EQ(r.success_size(), 2);
  ASSERT_EQ(r.failure_size(), 1);
  EXPECT_EQ(r.success(0).request_put().value(), "2");
  EXPECT_EQ(r.success(1).request_range().range_end(), "b");
  EXPECT_EQ(r.failure(0).request_delete_range().key(), "a");
  Txn outer;
  outer.Then({Op::Nested(t)});
  EXPECT_TRUE(outer.Build().success(0).has_request_txn());
}

}  // namespace
}  // namespace quorum::client
