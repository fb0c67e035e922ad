#include "raft/describe.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace quorum::raft {

std::string DescribeMessageType(MessageType t) { return pb::MessageType_Name(t); }

std::string DescribeEntry(const Entry& e) {
  std::string out = absl::StrCat(e.term(), "/", e.index(), " ", pb::EntryType_Name(e.type()));
  if (e.type() == pb::EntryConfChange) {
    ConfChange cc;
    if (cc.ParseFromString(e.data())) {
      absl::StrAppend(&out, " ", pb::ConfChangeType_Name(cc.type()), " ", cc.node_id());
      return out;
    }
  }
  if (!e.data().empty()) absl::StrAppend(&out, " \"", absl::CEscape(e.data()), "\"");
  return out;
}

std::string DescribeEntries(const EntryVec& ents) {
  std::string out = "[";
  for (size_t i = 0; i < ents.size(); ++i) {
    if (i) out += ", ";
    out += DescribeEntry(ents[i]);
  }
  return out + "]";
}

std::string DescribeMessage(const Message& m) {
  std::string out = absl::StrCat(m.from(), "->", m.to(), " ", DescribeMessageType(m.type()),
                                 " Term:", m.term(), " Log:", m.log_term(), "/", m.index());
  if (m.reject()) absl::StrAppend(&out, " Rejected (Hint: ", m.reject_hint(), ")");
  if (m.commit() != 0) absl::StrAppend(&out, " Commit:", m.commit());
  if (m.entries_size() > 0) {
    absl::StrAppend(&out, " Entries:");
    EntryVec ents(m.entries().begin(), m.entries().end());
    absl::StrAppend(&out, DescribeEntries(ents));
  }
  if (!m.context().empty()) absl::StrAppend(&out, " Context:\"", absl::CEscape(m.context()), "\"");
  if (m.has_snapshot() && !IsEmptySnap(m.snapshot())) {
    absl::StrAppend(&out, " Snapshot: ", DescribeSnapshot(m.snapshot()));
  }
  return out;
}

std::string DescribeHardState(const HardState& hs) {
  return absl::StrCat("Term:", hs.term(), " Vote:", hs.vote(), " Commit:", hs.commit());
}

std::string DescribeSoftState(const SoftState& ss) {
  return absl::StrCat("Lead:", ss.lead, " State:", StateTypeName(ss.raft_state));
}

std::string DescribeConfState(const ConfState& cs) {
  std::string out = absl::StrCat("Voters:[", absl::StrJoin(cs.voters(), " "), "]");
  if (cs.learners_size() > 0) absl::StrAppend(&out, " Learners:[", absl::StrJoin(cs.learners(), " "), "]");
  return out;
}

std::string DescribeSnapshot(const Snapshot& s) {
  return absl::StrCat("Index:", s.metadata().index(), " Term:", s.metadata().term(),
                      " ConfState:", DescribeConfState(s.metadata().conf_state()));
}

std::string DescribeReady(const Ready& rd) {
  std::string out;
  if (rd.soft_state) absl::StrAppend(&out, DescribeSoftState(*rd.soft_state), "\n");
  if (rd.hard_state) absl::StrAppend(&out, "HardState ", DescribeHardState(*rd.hard_state), "\n");
  if (!rd.entries.empty()) {
    absl::StrAppend(&out, "Entries:\n");
    for (const Entry& e : rd.entries) absl::StrAppend(&out, "  ", DescribeEntry(e), "\n");
  }
  if (!IsEmptySnap(rd.snapshot)) absl::StrAppend(&out, "Snapshot ", DescribeSnapshot(rd.snapshot), "\n");
  if (!rd.committed_entries.empty()) {
    absl::StrAppend(&out, "CommittedEntries:\n");
    for (const Entry& e : rd.committed_entries) absl::StrAppend(&out, "  ", DescribeEntry(e), "\n");
  }
  if (!rd.messages.empty()) {
    absl::StrAppend(&out, "Messages:\n");
    for (const Message& m : rd.messages) absl::StrAppend(&out, "  ", DescribeMessage(m), "\n");
  }
  for (const ReadState& rs : rd.read_states) {
    absl::StrAppend(&out, "ReadState Index:", rs.index, " Ctx:\"", absl::CEscape(rs.request_ctx), "\"\n");
  }
  return out;
}

}  // namespace quorum::raft
