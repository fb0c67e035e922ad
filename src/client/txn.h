// Txn builder: etcd's If(compares...).Then(ops...).Else(ops...) transaction,
// with Cmp and Op values mirroring clientv3's Compare/OpGet/OpPut/OpDelete.
//
//   Txn t;
//   t.If({Cmp::Value("k").Equal("v"), Cmp::Version("k").Greater(0)})
//    .Then({Op::Put("k", "v2"), Op::Get("k")})
//    .Else({Op::Get("k")});
//   absl::StatusOr<etcdserverpb::TxnResponse> r = KvClient(client).Commit(t);
//
// Values are plain data (copyable, no references to a Client). Thread-compatible.
#ifndef QUORUM_CLIENT_TXN_H_
#define QUORUM_CLIENT_TXN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/kv.h"
#include "etcdserverpb/rpc.pb.h"

namespace quorum::client {

// One comparison: a target (value, version, create/mod revision, lease) of a
// key (or range of keys) against a constant.
class Cmp {
 public:
  static Cmp Value(std::string_view key);
  static Cmp Version(std::string_view key);
  static Cmp CreateRevision(std::string_view key);
  static Cmp ModRevision(std::string_view key);
  static Cmp Lease(std::string_view key);

  // Comparisons. Value targets take bytes, the others integers; a mismatch
  // (e.g. Value(...).Equal(int64_t)) is a programming error and CHECK-fails.
  Cmp Equal(std::string_view v) const { return With(etcdserverpb::Compare::EQUAL, v); }
  Cmp NotEqual(std::string_view v) const { return With(etcdserverpb::Compare::NOT_EQUAL, v); }
  Cmp Greater(std::string_view v) const { return With(etcdserverpb::Compare::GREATER, v); }
  Cmp Less(std::string_view v) const { return With(etcdserverpb::Compare::LESS, v); }
  Cmp Equal(int64_t v) const { return With(etcdserverpb::Compare::EQUAL, v); }
  Cmp NotEqual(int64_t v) const { return With(etcdserverpb::Compare::NOT_EQUAL, v); }
  Cmp Greater(int64_t v) const { return With(etcdserverpb::Compare::GREATER, v); }
  Cmp Less(int64_t v) const { return With(etcdserverpb::Compare::LESS, v); }

  // Compare every key in [key, end) / with the key as prefix.
  Cmp WithRange(std::string_view end) const;
  Cmp WithPrefix() const;

  const etcdserverpb::Compare& proto() const { return cmp_; }

 private:
  explicit Cmp(etcdserverpb::Compare::CompareTarget target, std::string_view key);
  Cmp With(etcdserverpb::Compare::CompareResult result, std::string_view v) const;
  Cmp With(etcdserverpb::Compare::CompareResult result, int64_t v) const;

  etcdserverpb::Compare cmp_;
};

// Parses etcdctl's textual operator ("=", "!=", ">", "<").
absl::StatusOr<etcdserverpb::Compare::CompareResult> ParseCompareOp(std::string_view op);

// One operation of a txn branch.
class Op {
 public:
  static Op Get(std::string_view key, const GetOptions& opts = {});
  static Op Put(std::string_view key, std::string_view value, const PutOptions& opts = {});
  static Op Delete(std::string_view key, const DeleteOptions& opts = {});
  static Op Nested(const class Txn& txn);

  const etcdserverpb::RequestOp& proto() const { return op_; }

 private:
  Op() = default;
  etcdserverpb::RequestOp op_;
};

class Txn {
 public:
  // Each call appends (etcd's clientv3 allows If/Then/Else once each; here
  // repeated calls simply add more terms).
  Txn& If(const std::vector<Cmp>& cmps);
  Txn& Then(const std::vector<Op>& ops);
  Txn& Else(const std::vector<Op>& ops);

  const etcdserverpb::TxnRequest& Build() const { return req_; }

 private:
  etcdserverpb::TxnRequest req_;
};

}  // namespace quorum::client

#endif  // QUORUM_CLIENT_TXN_H_
