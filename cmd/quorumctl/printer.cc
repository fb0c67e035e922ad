#include "cmd/quorumctl/printer.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/json.h"

namespace quorum::ctl {

void Out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

std::string HexBytes(const std::string& s) {
  std::string out;
  char buf[8];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof(buf), "\\x%02x", c);
    out += buf;
  }
  return out;
}

std::string FieldsHeader(const etcdserverpb::ResponseHeader& h) {
  return absl::StrCat("\"ClusterID\" : ", h.cluster_id(), "\n\"MemberID\" : ", h.member_id(),
                      "\n\"Revision\" : ", h.revision(), "\n\"RaftTerm\" : ", h.raft_term(), "\n");
}

namespace {

using Rows = std::vector<std::vector<std::string>>;

std::string Bool(bool b) { return b ? "true" : "false"; }

void MemberListTable(const etcdserverpb::MemberListResponse& r, std::vector<std::string>* hdr,
                     Rows* rows) {
  *hdr = {"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"};
  for (const auto& m : r.members()) {
    rows->push_back({Hex(m.id()), m.name().empty() ? "unstarted" : "started", m.name(),
                     absl::StrJoin(m.peerurls(), ","), absl::StrJoin(m.clienturls(), ","),
                     Bool(m.islearner())});
  }
}

void EndpointStatusTable(const std::vector<EpStatus>& list, std::vector<std::string>* hdr,
                         Rows* rows) {
  *hdr = {"endpoint",           "ID",         "version",   "db size",
          "is leader",          "is learner", "raft term", "raft index",
          "raft applied index", "errors"};
  for (const EpStatus& s : list) {
    const auto& r = s.resp;
    rows->push_back({s.ep, Hex(r.header().member_id()), r.version(),
                     HumanizeBytes(static_cast<uint64_t>(r.dbsize())),
                     Bool(r.leader() == r.header().member_id()), Bool(r.islearner()),
                     absl::StrCat(r.raftterm()), absl::StrCat(r.raftindex()),
                     absl::StrCat(r.raftappliedindex()), absl::StrJoin(r.errors(), ", ")});
  }
}

void EndpointHealthTable(const std::vector<EpHealth>& list, std::vector<std::string>* hdr,
                         Rows* rows) {
  *hdr = {"endpoint", "health", "took", "error"};
  for (const EpHealth& h : list) rows->push_back({h.ep, Bool(h.health), h.took, h.error});
}

void EndpointHashKVTable(const std::vector<EpHashKV>& list, std::vector<std::string>* hdr,
                         Rows* rows) {
  *hdr = {"endpoint", "hash"};
  for (const EpHashKV& h : list) rows->push_back({h.ep, absl::StrCat(h.resp.hash())});
}

size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

}  // namespace

// olekukonko/tablewriter with etcdctl's settings: centred upper-case header,
// right-aligned cells, borders, no row separators.
std::string RenderTable(const std::vector<std::string>& hdr, const Rows& rows) {
  std::vector<size_t> w(hdr.size());
  for (size_t i = 0; i < hdr.size(); ++i) w[i] = Width(hdr[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < w.size(); ++i) w[i] = std::max(w[i], Width(row[i]));
  }
  std::string line = "+";
  for (size_t x : w) line += std::string(x + 2, '-') + "+";
  line += "\n";
  std::string out = line + "|";
  for (size_t i = 0; i < hdr.size(); ++i) {
    std::string h = Upper(hdr[i]);
    size_t gap = w[i] - Width(h), left = gap / 2;
    out += " " + std::string(left, ' ') + h + std::string(gap - left, ' ') + " |";
  }
  out += "\n" + line;
  for (const auto& row : rows) {
    out += "|";
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string& c = i < row.size() ? row[i] : std::string();
      out += " " + std::string(w[i] - Width(c), ' ') + c + " |";
    }
    out += "\n";
  }
  out += line;  // tablewriter closes even an empty table
  return out;
}

namespace {

// Formats that etcdctl does not support for a response end here.
class UnsupportedBase : public Printer {
 public:
  explicit UnsupportedBase(std::string name) : name_(std::move(name)) {}
  [[noreturn]] void Unsupported() {
    ExitWithError(kExitBadFeature, name_ + " not supported as output format");
  }
  void Get(const etcdserverpb::RangeResponse&) override { Unsupported(); }
  void Put(const etcdserverpb::PutResponse&) override { Unsupported(); }
  void Del(const etcdserverpb::DeleteRangeResponse&) override { Unsupported(); }
  void Txn(const etcdserverpb::TxnResponse&) override { Unsupported(); }
  void MemberAdd(const etcdserverpb::MemberAddResponse&) override { Unsupported(); }
  void MemberRemove(uint64_t, const etcdserverpb::MemberRemoveResponse&) override { Unsupported(); }
  void MemberUpdate(uint64_t, const etcdserverpb::MemberUpdateResponse&) override { Unsupported(); }
  void MemberPromote(uint64_t, const etcdserverpb::MemberPromoteResponse&) override {
    Unsupported();
  }
  void MemberList(const etcdserverpb::MemberListResponse&) override { Unsupported(); }
  void EndpointHealth(const std::vector<EpHealth>&) override { Unsupported(); }
  void EndpointStatus(const std::vector<EpStatus>&) override { Unsupported(); }
  void EndpointHashKV(const std::vector<EpHashKV>&) override { Unsupported(); }
  void MoveLeader(uint64_t, uint64_t, const etcdserverpb::MoveLeaderResponse&) override {
    Unsupported();
  }

 private:
  std::string name_;
};

// ---------------------------------------------------------------- simple
class SimplePrinter final : public Printer {
 public:
  explicit SimplePrinter(bool hex) : hex_(hex) { is_simple = true; }

  void KV(const mvccpb::KeyValue& kv) {
    std::string k = kv.key(), v = kv.value();
    if (hex_) {
      k = HexBytes(k);
      v = HexBytes(v);
    }
    if (!value_only) Out(k + "\n");
    Out(v + "\n");
  }
  void Get(const etcdserverpb::RangeResponse& r) override {
    for (const auto& kv : r.kvs()) KV(kv);
  }
  void Put(const etcdserverpb::PutResponse& r) override {
    Out("OK\n");
    if (r.has_prev_kv()) KV(r.prev_kv());
  }
  void Del(const etcdserverpb::DeleteRangeResponse& r) override {
    Out(absl::StrCat(r.deleted(), "\n"));
    for (const auto& kv : r.prev_kvs()) KV(kv);
  }
  void Txn(const etcdserverpb::TxnResponse& r) override {
    Out(r.succeeded() ? "SUCCESS\n" : "FAILURE\n");
    for (const auto& op : r.responses()) {
      Out("\n");
      switch (op.response_case()) {
        case etcdserverpb::ResponseOp::kResponseDeleteRange:
          Del(op.response_delete_range());
          break;
        case etcdserverpb::ResponseOp::kResponsePut:
          Put(op.response_put());
          break;
        case etcdserverpb::ResponseOp::kResponseRange:
          Get(op.response_range());
          break;
        default:
          Out("unexpected response " + op.ShortDebugString() + "\n");
      }
    }
  }
  void MemberAdd(const etcdserverpb::MemberAddResponse& r) override {
    // etcdctl 3.4 prints the same line for learners (3.5 adds "as learner").
    Out(absl::StrCat("Member ", Hex16(r.member().id()), " added to cluster ",
                     Hex16(r.header().cluster_id()), "\n"));
  }
  void MemberRemove(uint64_t id, const etcdserverpb::MemberRemoveResponse& r) override {
    Out(absl::StrCat("Member ", Hex16(id), " removed from cluster ", Hex16(r.header().cluster_id()),
                     "\n"));
  }
  void MemberUpdate(uint64_t id, const etcdserverpb::MemberUpdateResponse& r) override {
    Out(absl::StrCat("Member ", Hex16(id), " updated in cluster ", Hex16(r.header().cluster_id()),
                     "\n"));
  }
  void MemberPromote(uint64_t id, const etcdserverpb::MemberPromoteResponse& r) override {
    Out(absl::StrCat("Member ", Hex16(id), " promoted in cluster ", Hex16(r.header().cluster_id()),
                     "\n"));
  }
  void MemberList(const etcdserverpb::MemberListResponse& r) override {
    std::vector<std::string> hdr;
    Rows rows;
    MemberListTable(r, &hdr, &rows);
    for (const auto& row : rows) Out(absl::StrJoin(row, ", ") + "\n");
  }
  void EndpointHealth(const std::vector<EpHealth>& hs) override {
    std::fflush(stdout);
    for (const EpHealth& h : hs) {
      std::string line =
          h.error.empty()
              ? h.ep + " is healthy: successfully committed proposal: took = " + h.took + "\n"
              : h.ep + " is unhealthy: failed to commit proposal: " + h.error + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  }
  void EndpointStatus(const std::vector<EpStatus>& list) override {
    std::vector<std::string> hdr;
    Rows rows;
    EndpointStatusTable(list, &hdr, &rows);
    for (const auto& row : rows) Out(absl::StrJoin(row, ", ") + "\n");
  }
  void EndpointHashKV(const std::vector<EpHashKV>& list) override {
    std::vector<std::string> hdr;
    Rows rows;
    EndpointHashKVTable(list, &hdr, &rows);
    for (const auto& row : rows) Out(absl::StrJoin(row, ", ") + "\n");
  }
  void MoveLeader(uint64_t leader, uint64_t target,
                  const etcdserverpb::MoveLeaderResponse&) override {
    Out("Leadership transferred from " + Hex(leader) + " to " + Hex(target) + "\n");
  }

 private:
  bool hex_;
};

// ---------------------------------------------------------------- json
class JsonPrinter final : public UnsupportedBase {
 public:
  explicit JsonPrinter(bool) : UnsupportedBase("json") {}
  void P(const google::protobuf::Message& m) { Out(GoJson(m) + "\n"); }
  void Get(const etcdserverpb::RangeResponse& r) override { P(r); }
  void Put(const etcdserverpb::PutResponse& r) override { P(r); }
  void Del(const etcdserverpb::DeleteRangeResponse& r) override { P(r); }
  void Txn(const etcdserverpb::TxnResponse& r) override { P(r); }
  void MemberAdd(const etcdserverpb::MemberAddResponse& r) override { P(r); }
  void MemberRemove(uint64_t, const etcdserverpb::MemberRemoveResponse& r) override { P(r); }
  void MemberUpdate(uint64_t, const etcdserverpb::MemberUpdateResponse& r) override { P(r); }
  void MemberPromote(uint64_t, const etcdserverpb::MemberPromoteResponse& r) override { P(r); }
  void MoveLeader(uint64_t, uint64_t, const etcdserverpb::MoveLeaderResponse& r) override { P(r); }
  // etcdctl 3.4 prints member ids as JSON numbers even with --hex (3.5 switched
  // to hex strings); we follow 3.4.
  void MemberList(const etcdserverpb::MemberListResponse& r) override { P(r); }
  void EndpointHealth(const std::vector<EpHealth>& hs) override {
    if (hs.empty()) return Out("null\n");
    std::string s = "[";
    for (size_t i = 0; i < hs.size(); ++i) {
      const EpHealth& h = hs[i];
      s += (i ? ",{" : "{") + std::string("\"endpoint\":") + GoJsonString(h.ep) +
           ",\"health\":" + Bool(h.health) + ",\"took\":" + GoJsonString(h.took);
      if (!h.error.empty()) s += ",\"error\":" + GoJsonString(h.error);
      s += "}";
    }
    Out(s + "]\n");
  }
  void EndpointStatus(const std::vector<EpStatus>& list) override {
    std::string s = "[";
    for (size_t i = 0; i < list.size(); ++i) {
      s += (i ? ",{" : "{") + std::string("\"Endpoint\":") + GoJsonString(list[i].ep) +
           ",\"Status\":" + GoJson(list[i].resp) + "}";
    }
    Out(s + "]\n");
  }
  void EndpointHashKV(const std::vector<EpHashKV>& list) override {
    std::string s = "[";
    for (size_t i = 0; i < list.size(); ++i) {
      s += (i ? ",{" : "{") + std::string("\"Endpoint\":") + GoJsonString(list[i].ep) +
           ",\"HashKV\":" + GoJson(list[i].resp) + "}";
    }
    Out(s + "]\n");
  }
};

// ---------------------------------------------------------------- fields
class FieldsPrinter final : public UnsupportedBase {
 public:
  FieldsPrinter() : UnsupportedBase("fields") { is_fields = true; }
  void KV(const std::string& pfx, const mvccpb::KeyValue& kv) {
    Out(absl::StrCat("\"", pfx, "Key\" : ", GoQuote(kv.key()), "\n", "\"", pfx,
                     "CreateRevision\" : ", kv.create_revision(), "\n", "\"", pfx,
                     "ModRevision\" : ", kv.mod_revision(), "\n", "\"", pfx, "Version\" : ",
                     kv.version(), "\n", "\"", pfx, "Value\" : ", GoQuote(kv.value()), "\n", "\"",
                     pfx, "Lease\" : ", kv.lease(), "\n"));
  }
  void Hdr(const etcdserverpb::ResponseHeader& h) { Out(FieldsHeader(h)); }
  void Get(const etcdserverpb::RangeResponse& r) override {
    Hdr(r.header());
    for (const auto& kv : r.kvs()) KV("", kv);
    Out(absl::StrCat("\"More\" : ", Bool(r.more()), "\n\"Count\" : ", r.count(), "\n"));
  }
  void Put(const etcdserverpb::PutResponse& r) override {
    Hdr(r.header());
    if (r.has_prev_kv()) KV("Prev", r.prev_kv());
  }
  void Del(const etcdserverpb::DeleteRangeResponse& r) override {
    Hdr(r.header());
    Out(absl::StrCat("\"Deleted\" : ", r.deleted(), "\n"));
    for (const auto& kv : r.prev_kvs()) KV("Prev", kv);
  }
  void Txn(const etcdserverpb::TxnResponse& r) override {
    Hdr(r.header());
    Out(absl::StrCat("\"Succeeded\" : ", Bool(r.succeeded()), "\n"));
    for (const auto& op : r.responses()) {
      switch (op.response_case()) {
        case etcdserverpb::ResponseOp::kResponseDeleteRange:
          Del(op.response_delete_range());
          break;
        case etcdserverpb::ResponseOp::kResponsePut:
          Put(op.response_put());
          break;
        case etcdserverpb::ResponseOp::kResponseRange:
          Get(op.response_range());
          break;
        default:
          Out("\"Unknown\" : " + GoQuote(op.ShortDebugString()) + "\n");
      }
    }
  }
  void MemberList(const etcdserverpb::MemberListResponse& r) override {
    Hdr(r.header());
    for (const auto& m : r.members()) {
      Out(absl::StrCat("\"ID\" : ", m.id(), "\n\"Name\" : ", GoQuote(m.name()), "\n"));
      for (const auto& u : m.peerurls()) Out("\"PeerURL\" : " + GoQuote(u) + "\n");
      for (const auto& u : m.clienturls()) Out("\"ClientURL\" : " + GoQuote(u) + "\n");
      Out("\"IsLearner\" : " + Bool(m.islearner()) + "\n\n");
    }
  }
  void EndpointHealth(const std::vector<EpHealth>& hs) override {
    for (const EpHealth& h : hs) {
      Out("\"Endpoint\" : " + GoQuote(h.ep) + "\n\"Health\" : " + Bool(h.health) +
          "\n\"Took\" : " + h.took + "\n\"Error\" : " + h.error + "\n\n");
    }
  }
  void EndpointStatus(const std::vector<EpStatus>& list) override {
    for (const EpStatus& s : list) {
      const auto& r = s.resp;
      Hdr(r.header());
      Out(absl::StrCat("\"Version\" : ", GoQuote(r.version()), "\n\"DBSize\" : ", r.dbsize(),
                       "\n\"Leader\" : ", r.leader(), "\n\"IsLearner\" : ", Bool(r.islearner()),
                       "\n\"RaftIndex\" : ", r.raftindex(), "\n\"RaftTerm\" : ", r.raftterm(),
                       "\n\"RaftAppliedIndex\" : ", r.raftappliedindex(), "\n\"Errors\" : [",
                       absl::StrJoin(r.errors(), " "), "]\n\"Endpoint\" : ", GoQuote(s.ep),
                       "\n\n"));
    }
  }
  void EndpointHashKV(const std::vector<EpHashKV>& list) override {
    for (const EpHashKV& h : list) {
      Hdr(h.resp.header());
      Out(absl::StrCat("\"Endpoint\" : ", GoQuote(h.ep), "\n\"Hash\" : ", h.resp.hash(), "\n\n"));
    }
  }
};

// ---------------------------------------------------------------- table
class TablePrinter final : public UnsupportedBase {
 public:
  TablePrinter() : UnsupportedBase("table") {}
  void MemberList(const etcdserverpb::MemberListResponse& r) override {
    std::vector<std::string> hdr;
    Rows rows;
    MemberListTable(r, &hdr, &rows);
    Out(RenderTable(hdr, rows));
  }
  void EndpointHealth(const std::vector<EpHealth>& hs) override {
    std::vector<std::string> hdr;
    Rows rows;
    EndpointHealthTable(hs, &hdr, &rows);
    Out(RenderTable(hdr, rows));
  }
  void EndpointStatus(const std::vector<EpStatus>& list) override {
    std::vector<std::string> hdr;
    Rows rows;
    EndpointStatusTable(list, &hdr, &rows);
    Out(RenderTable(hdr, rows));
  }
  void EndpointHashKV(const std::vector<EpHashKV>& list) override {
    std::vector<std::string> hdr;
    Rows rows;
    EndpointHashKVTable(list, &hdr, &rows);
    Out(RenderTable(hdr, rows));
  }
};

// ---------------------------------------------------------------- protobuf
class ProtobufPrinter final : public UnsupportedBase {
 public:
  ProtobufPrinter() : UnsupportedBase("protobuf") {}
  // etcdctl 3.4 writes the marshalled bytes as they are.
  void P(const google::protobuf::Message& m) { Out(m.SerializeAsString()); }
  void Get(const etcdserverpb::RangeResponse& r) override { P(r); }
  void Put(const etcdserverpb::PutResponse& r) override { P(r); }
  void Del(const etcdserverpb::DeleteRangeResponse& r) override { P(r); }
  void Txn(const etcdserverpb::TxnResponse& r) override { P(r); }
  void MemberAdd(const etcdserverpb::MemberAddResponse& r) override { P(r); }
  void MemberRemove(uint64_t, const etcdserverpb::MemberRemoveResponse& r) override { P(r); }
  void MemberUpdate(uint64_t, const etcdserverpb::MemberUpdateResponse& r) override { P(r); }
  void MemberPromote(uint64_t, const etcdserverpb::MemberPromoteResponse& r) override { P(r); }
  void MemberList(const etcdserverpb::MemberListResponse& r) override { P(r); }
  void MoveLeader(uint64_t, uint64_t, const etcdserverpb::MoveLeaderResponse& r) override { P(r); }
};

}  // namespace

std::unique_ptr<Printer> NewPrinter(const std::string& format, bool hex) {
  if (format == "simple") return std::make_unique<SimplePrinter>(hex);
  if (format == "json") return std::make_unique<JsonPrinter>(hex);
  if (format == "fields") return std::make_unique<FieldsPrinter>();
  if (format == "table") return std::make_unique<TablePrinter>();
  if (format == "protobuf") return std::make_unique<ProtobufPrinter>();
  return nullptr;
}

}  // namespace quorum::ctl
