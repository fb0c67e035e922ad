// Output printers, one per -w/--write-out format, reproducing etcdctl 3.4's
// bytes for the same server response:
//   simple   - human format (printKV, "OK", "SUCCESS", member rows ...)
//   json     - Go encoding/json of the response (see json.h)
//   fields   - "\"Key\" : value" lines with Go %q quoting
//   table    - tablewriter boxes (member list, endpoint status/health/hashkv)
//   protobuf - the response's wire bytes, passed through fmt.Printf as etcdctl does
// A format that etcdctl does not support for a response exits with
// "Error: <format> not supported as output format" (code 4), after the call.
#ifndef QUORUM_CMD_QUORUMCTL_PRINTER_H_
#define QUORUM_CMD_QUORUMCTL_PRINTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "etcdserverpb/rpc.pb.h"

namespace quorum::ctl {

struct EpHealth {
  std::string ep;
  bool health = false;
  std::string took;
  std::string error;
};
struct EpStatus {
  std::string ep;
  etcdserverpb::StatusResponse resp;
};
struct EpHashKV {
  std::string ep;
  etcdserverpb::HashKVResponse resp;
};

class Printer {
 public:
  virtual ~Printer() = default;
  virtual void Get(const etcdserverpb::RangeResponse& r) = 0;
  virtual void Put(const etcdserverpb::PutResponse& r) = 0;
  virtual void Del(const etcdserverpb::DeleteRangeResponse& r) = 0;
  virtual void Txn(const etcdserverpb::TxnResponse& r) = 0;
  virtual void MemberAdd(const etcdserverpb::MemberAddResponse& r) = 0;
  virtual void MemberRemove(uint64_t id, const etcdserverpb::MemberRemoveResponse& r) = 0;
  virtual void MemberUpdate(uint64_t id, const etcdserverpb::MemberUpdateResponse& r) = 0;
  virtual void MemberPromote(uint64_t id, const etcdserverpb::MemberPromoteResponse& r) = 0;
  virtual void MemberList(const etcdserverpb::MemberListResponse& r) = 0;
  virtual void EndpointHealth(const std::vector<EpHealth>& r) = 0;
  virtual void EndpointStatus(const std::vector<EpStatus>& r) = 0;
  virtual void EndpointHashKV(const std::vector<EpHashKV>& r) = 0;
  virtual void MoveLeader(uint64_t leader, uint64_t target,
                          const etcdserverpb::MoveLeaderResponse& r) = 0;

  // Set by `get --print-value-only` (simple only).
  bool value_only = false;
  bool is_simple = false;
  bool is_fields = false;
};

// nullptr for an unknown format name.
std::unique_ptr<Printer> NewPrinter(const std::string& format, bool hex);

// etcdctl's table layout (olekukonko/tablewriter settings) for any rows.
std::string RenderTable(const std::vector<std::string>& hdr,
                        const std::vector<std::vector<std::string>>& rows);

// Writes raw bytes to stdout.
void Out(const std::string& s);

// etcdctl --hex: every byte as \xNN.
std::string HexBytes(const std::string& s);
// The response header lines of `-w fields`.
std::string FieldsHeader(const etcdserverpb::ResponseHeader& h);

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_PRINTER_H_
