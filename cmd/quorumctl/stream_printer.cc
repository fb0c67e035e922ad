#include "cmd/quorumctl/stream_printer.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/json.h"
#include "cmd/quorumctl/printer.h"

namespace quorum::ctl {

std::string LeaseHex(int64_t id) {
  if (id >= 0) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(id));
    return buf;
  }
  // Go pads after the sign, the sign counting toward the width.
  std::string mag = Hex(static_cast<uint64_t>(0) - static_cast<uint64_t>(id));
  if (mag.size() < 15) mag.insert(0, 15 - mag.size(), '0');
  return "-" + mag;
}

namespace {

void Flush(const std::string& s) {
  Out(s);
  std::fflush(stdout);
}

std::string FieldsKV(const std::string& pfx, const mvccpb::KeyValue& kv) {
  return absl::StrCat("\"", pfx, "Key\" : ", GoQuote(kv.key()), "\n\"", pfx,
                      "CreateRevision\" : ", kv.create_revision(), "\n\"", pfx,
                      "ModRevision\" : ", kv.mod_revision(), "\n\"", pfx, "Version\" : ",
                      kv.version(), "\n\"", pfx, "Value\" : ", GoQuote(kv.value()), "\n\"", pfx,
                      "Lease\" : ", kv.lease(), "\n");
}

// encoding/json of a clientv3 struct embedding *pb.ResponseHeader: the
// header's (omitempty) fields first, then `rest` ("\"ID\":1,...").
std::string PromotedHeaderJson(const etcdserverpb::ResponseHeader& h, const std::string& rest) {
  std::string hdr = GoJson(h);
  std::string inner = hdr.substr(1, hdr.size() - 2);
  return "{" + inner + (inner.empty() ? "" : ",") + rest + "}\n";
}

const char* EventType(const mvccpb::Event& e) {
  return e.type() == mvccpb::Event::DELETE ? "DELETE" : "PUT";
}

}  // namespace

void StreamPrinter::CheckSupported() const {
  if (format_ == "simple" || format_ == "json" || format_ == "fields" || format_ == "protobuf") {
    return;
  }
  ExitWithError(kExitBadFeature, format_ + " not supported as output format");
}

void StreamPrinter::Watch(const etcdserverpb::WatchResponse& r) const {
  CheckSupported();
  if (format_ == "simple") {
    std::string out;
    auto kv = [&](const mvccpb::KeyValue& k) {
      out += (hex_ ? HexBytes(k.key()) : k.key()) + "\n" +
             (hex_ ? HexBytes(k.value()) : k.value()) + "\n";
    };
    for (const auto& e : r.events()) {
      out += std::string(EventType(e)) + "\n";
      if (e.has_prev_kv()) kv(e.prev_kv());
      kv(e.kv());
    }
    return Flush(out);
  }
  if (format_ == "json") {
    std::string events;
    for (const auto& e : r.events()) events += (events.empty() ? "" : ",") + GoJson(e);
    return Flush(absl::StrCat("{\"Header\":", GoJson(r.header()), ",\"Events\":[", events,
                              "],\"CompactRevision\":", r.compact_revision(),
                              ",\"Canceled\":", r.canceled() ? "true" : "false",
                              ",\"Created\":", r.created() ? "true" : "false", "}\n"));
  }
  if (format_ == "fields") {
    std::string out = FieldsHeader(r.header());
    for (const auto& e : r.events()) {
      out += absl::StrCat("\"Type\" : ", EventType(e), "\n");
      if (e.has_prev_kv()) out += FieldsKV("Prev", e.prev_kv());
      out += FieldsKV("", e.kv());
    }
    return Flush(out);
  }
  // protobuf: the pb.WatchResponse etcdctl rebuilds from clientv3's struct.
  etcdserverpb::WatchResponse pb;
  *pb.mutable_header() = r.header();
  *pb.mutable_events() = r.events();
  pb.set_compact_revision(r.compact_revision());
  pb.set_canceled(r.canceled());
  pb.set_created(r.created());
  Flush(pb.SerializeAsString());
}

void StreamPrinter::LeaseGrant(const etcdserverpb::LeaseGrantResponse& r) const {
  CheckSupported();
  if (format_ == "simple") {
    return Flush(absl::StrCat("lease ", LeaseHex(r.id()), " granted with TTL(", r.ttl(), "s)\n"));
  }
  if (format_ == "json") {
    return Flush(PromotedHeaderJson(r.header(), absl::StrCat("\"ID\":", r.id(), ",\"TTL\":", r.ttl(),
                                                             ",\"Error\":", GoJsonString(r.error()))));
  }
  if (format_ == "fields") {
    return Flush(
        absl::StrCat(FieldsHeader(r.header()), "\"ID\" : ", r.id(), "\n\"TTL\" : ", r.ttl(), "\n"));
  }
  Flush(r.header().SerializeAsString());
}

void StreamPrinter::LeaseRevoke(int64_t id, const etcdserverpb::LeaseRevokeResponse& r) const {
  CheckSupported();
  if (format_ == "simple") return Flush("lease " + LeaseHex(id) + " revoked\n");
  if (format_ == "json") return Flush(GoJson(r) + "\n");
  if (format_ == "fields") return Flush(FieldsHeader(r.header()));
  // etcdctl 3.4 hands clientv3's struct to the protobuf printer, which cannot
  // marshal it; the message shows the struct with %v (gogoproto's compact text).
  const etcdserverpb::ResponseHeader& h = r.header();
  std::string text;
  auto field = [&](const char* name, uint64_t v) {
    if (v != 0) absl::StrAppend(&text, name, ":", v, " ");
  };
  field("cluster_id", h.cluster_id());
  field("member_id", h.member_id());
  field("revision", static_cast<uint64_t>(h.revision()));
  field("raft_term", h.raft_term());
  ExitWithError(kExitBadFeature,
                "marshal unsupported for type clientv3.LeaseRevokeResponse ({" + text + "})");
}

void StreamPrinter::LeaseKeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) const {
  CheckSupported();
  if (format_ == "simple") {
    return Flush(absl::StrCat("lease ", LeaseHex(r.id()), " keepalived with TTL(", r.ttl(), ")\n"));
  }
  if (format_ == "json") {
    return Flush(
        PromotedHeaderJson(r.header(), absl::StrCat("\"ID\":", r.id(), ",\"TTL\":", r.ttl())));
  }
  if (format_ == "fields") {
    return Flush(
        absl::StrCat(FieldsHeader(r.header()), "\"ID\" : ", r.id(), "\n\"TTL\" : ", r.ttl(), "\n"));
  }
  Flush(r.header().SerializeAsString());
}

void StreamPrinter::LeaseTimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r,
                                    bool keys) const {
  CheckSupported();
  if (format_ == "simple") {
    if (r.grantedttl() == 0 && r.ttl() == -1) {
      return Flush("lease " + LeaseHex(r.id()) + " already expired\n");
    }
    std::string txt = absl::StrCat("lease ", LeaseHex(r.id()), " granted with TTL(", r.grantedttl(),
                                   "s), remaining(", r.ttl(), "s)");
    if (keys) txt += ", attached keys([" + absl::StrJoin(r.keys(), " ") + "])";
    return Flush(txt + "\n");
  }
  if (format_ == "json") {
    std::string ks = "null";
    if (r.keys_size() > 0) {
      ks.clear();
      for (const std::string& k : r.keys()) ks += (ks.empty() ? "[\"" : ",\"") + Base64(k) + "\"";
      ks += "]";
    }
    return Flush(PromotedHeaderJson(
        r.header(), absl::StrCat("\"id\":", r.id(), ",\"ttl\":", r.ttl(),
                                 ",\"granted-ttl\":", r.grantedttl(), ",\"keys\":", ks)));
  }
  if (format_ == "fields") {
    std::string out = absl::StrCat(FieldsHeader(r.header()), "\"ID\" : ", r.id(), "\n\"TTL\" : ",
                                   r.ttl(), "\n\"GrantedTTL\" : ", r.grantedttl(), "\n");
    for (const std::string& k : r.keys()) out += "\"Key\" : " + GoQuote(k) + "\n";
    return Flush(out);
  }
  Flush(r.header().SerializeAsString());
}

void StreamPrinter::LeaseList(const etcdserverpb::LeaseLeasesResponse& r) const {
  CheckSupported();
  if (format_ == "simple") {
    std::string out = absl::StrCat("found ", r.leases_size(), " leases\n");
    for (const auto& l : r.leases()) out += LeaseHex(l.id()) + "\n";
    return Flush(out);
  }
  if (format_ == "json") {
    std::string ls;
    for (const auto& l : r.leases()) ls += absl::StrCat(ls.empty() ? "" : ",", "{\"id\":", l.id(), "}");
    return Flush(PromotedHeaderJson(r.header(), "\"leases\":[" + ls + "]"));
  }
  if (format_ == "fields") {
    std::string out = FieldsHeader(r.header());
    for (const auto& l : r.leases()) out += absl::StrCat("\"ID\" : ", l.id(), "\n");
    return Flush(out);
  }
  Flush(r.header().SerializeAsString());
}

}  // namespace quorum::ctl
