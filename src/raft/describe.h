// Deterministic, human-readable one-line renderings of raft types, used by
// scenario tests (expected output), the simulation trace and debug logs.
// Formats are stable: tests compare them textually.
#ifndef QUORUM_RAFT_DESCRIBE_H_
#define QUORUM_RAFT_DESCRIBE_H_

#include <string>

#include "raft/ready.h"
#include "raft/types.h"

namespace quorum::raft {

std::string DescribeMessageType(MessageType t);
// e.g. "1->2 MsgApp Term:2 Log:1/5 Commit:5 Entries:[2/6 EntryNormal "x"]"
std::string DescribeMessage(const Message& m);
// e.g. "2/6 EntryNormal \"x\"" (term/index)
std::string DescribeEntry(const Entry& e);
std::string DescribeEntries(const EntryVec& ents);
std::string DescribeHardState(const HardState& hs);
std::string DescribeSoftState(const SoftState& ss);
std::string DescribeConfState(const ConfState& cs);
std::string DescribeSnapshot(const Snapshot& s);
// Multi-line rendering of a Ready, one item per line.
std::string DescribeReady(const Ready& rd);

}  // namespace quorum::raft

#endif  // QUORUM_RAFT_DESCRIBE_H_
