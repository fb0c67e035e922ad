// Tests: every record of a backend's state column families (those a state
// snapshot holds), to compare two states whole.
#ifndef QUORUM_SERVER_MEMBER_STATE_CONTENTS_FOR_TEST_H_
#define QUORUM_SERVER_MEMBER_STATE_CONTENTS_FOR_TEST_H_

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>

#include "mvcc/backend/backend.h"
#include "server/member/state_snapshot_reader.h"

namespace quorum::server {

// (column family, key) -> value.
using StateContents = std::map<std::pair<int, std::string>, std::string>;

inline StateContents ReadStateContents(const mvcc::Backend& b) {
  StateContents out;
  for (mvcc::Cf cf : kSnapshotStateCfs) {
    EXPECT_TRUE(b.Scan(cf, "", "", [&](std::string_view k, std::string_view v) {
                   out[{static_cast<int>(cf), std::string(k)}] = std::string(v);
                   return true;
                 }).ok());
  }
  return out;
}

}  // namespace quorum::server

#endif  // QUORUM_SERVER_MEMBER_STATE_CONTENTS_FOR_TEST_H_
