#include "client/txn.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace quorum::client {

Cmp::Cmp(etcdserverpb::Compare::CompareTarget target, std::string_view key) {
  cmp_.set_target(target);
  cmp_.set_key(std::string(key));
}

Cmp Cmp::Value(std::string_view key) { return Cmp(etcdserverpb::Compare::VALUE, key); }
Cmp Cmp::Version(std::string_view key) { return Cmp(etcdserverpb::Compare::VERSION, key); }
Cmp Cmp::CreateRevision(std::string_view key) { return Cmp(etcdserverpb::Compare::CREATE, key); }
Cmp Cmp::ModRevision(std::string_view key) { return Cmp(etcdserverpb::Compare::MOD, key); }
Cmp Cmp::Lease(std::string_view key) { return Cmp(etcdserverpb::Compare::LEASE, key); }

Cmp Cmp::With(etcdserverpb::Compare::CompareResult result, std::string_view v) const {
  if (cmp_.target() != etcdserverpb::Compare::VALUE) std::abort();  // bytes only for Value
  Cmp c = *this;
  c.cmp_.set_result(result);
  c.cmp_.set_value(std::string(v));
  return c;
}

Cmp Cmp::With(etcdserverpb::Compare::CompareResult result, int64_t v) const {
  Cmp c = *this;
  c.cmp_.set_result(result);
  switch (cmp_.target()) {
    case etcdserverpb::Compare::VERSION:
      c.cmp_.set_version(v);
      break;
    case etcdserverpb::Compare::CREATE:
      c.cmp_.set_create_revision(v);
      break;
    case etcdserverpb::Compare::MOD:
      c.cmp_.set_mod_revision(v);
      break;
    case etcdserverpb::Compare::LEASE:
      c.cmp_.set_lease(v);
      break;
    default:
      std::abort();  // Value() compares bytes
  }
  return c;
}

Cmp Cmp::WithRange(std::string_view end) const {
  Cmp c = *this;
  c.cmp_.set_range_end(std::string(end));
  return c;
}

Cmp Cmp::WithPrefix() const {
  Cmp c = *this;
  if (cmp_.key().empty()) {
    c.cmp_.set_key(std::string(1, '\0'));
    c.cmp_.set_range_end(std::string(1, '\0'));
  } else {
    c.cmp_.set_range_end(PrefixRangeEnd(cmp_.key()));
  }
  return c;
}

absl::StatusOr<etcdserverpb::Compare::CompareResult> ParseCompareOp(std::string_view op) {
  if (op == "=") return etcdserverpb::Compare::EQUAL;
  if (op == "!=") return etcdserverpb::Compare::NOT_EQUAL;
  if (op == ">") return etcdserverpb::Compare::GREATER;
  if (op == "<") return etcdserverpb::Compare::LESS;
  return absl::InvalidArgumentError("unknown result op " + std::string(op));
}

Op Op::Get(std::string_view key, const GetOptions& opts) {
  Op o;
  *o.op_.mutable_request_range() = BuildRangeRequest(key, opts);
  return o;
}

Op Op::Put(std::string_view key, std::string_view value, const PutOptions& opts) {
  Op o;
  *o.op_.mutable_request_put() = BuildPutRequest(key, value, opts);
  return o;
}

Op Op::Delete(std::string_view key, const DeleteOptions& opts) {
  Op o;
  *o.op_.mutable_request_delete_range() = BuildDeleteRequest(key, opts);
  return o;
}

Op Op::Nested(const Txn& txn) {
  Op o;
  *o.op_.mutable_request_txn() = txn.Build();
  return o;
}

Txn& Txn::If(const std::vector<Cmp>& cmps) {
  for (const Cmp& c : cmps) *req_.add_compare() = c.proto();
  return *this;
}

Txn& Txn::Then(const std::vector<Op>& ops) {
  for (const Op& o : ops) *req_.add_success() = o.proto();
  return *this;
}

Txn& Txn::Else(const std::vector<Op>& ops) {
  for (const Op& o : ops) *req_.add_failure() = o.proto();
  return *this;
}

}  // namespace quorum::client
