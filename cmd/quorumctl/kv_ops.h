// Argument handling shared by the get/put/del commands and the txn reader
// (etcdctl's getGetOp / getPutOp / getDelOp): flag tables, and the mapping
// from parsed flags + positional arguments to client options. Invalid input
// exits the way etcdctl does (ExitWithError).
#ifndef QUORUM_CMD_QUORUMCTL_KV_OPS_H_
#define QUORUM_CMD_QUORUMCTL_KV_OPS_H_

#include <string>
#include <vector>

#include "client/kv.h"
#include "cmd/quorumctl/ctl.h"

namespace quorum::ctl {

std::vector<FlagSpec> GetFlags();
std::vector<FlagSpec> PutFlags();
std::vector<FlagSpec> DelFlags();

struct GetOp {
  std::string key;
  client::GetOptions opts;
};
struct PutOp {
  std::string key, value;
  client::PutOptions opts;
};
struct DelOp {
  std::string key;
  client::DeleteOptions opts;
};

GetOp BuildGetOp(const FlagValues& f, const std::vector<std::string>& args);
// stdin_ok: a missing value may be read from stdin (not inside txn).
PutOp BuildPutOp(const FlagValues& f, const std::vector<std::string>& args, bool stdin_ok);
DelOp BuildDelOp(const FlagValues& f, const std::vector<std::string>& args);

// etcdctl's argify (txn_command.cc): splits a line into arguments, honouring
// "double quoted" (Go escapes) and 'single quoted' words. Also used by
// `watch -i`.
std::vector<std::string> Argify(const std::string& s);

// The txn command (txn_command.cc).
void RunTxn(Context& ctx, const FlagValues& f, const std::vector<std::string>& args);

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_KV_OPS_H_
