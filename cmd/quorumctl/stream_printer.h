// Output of the watch and lease commands in each -w format, byte-compatible
// with etcdctl 3.4. etcdctl prints clientv3's Go structs here, not the wire
// messages, which shows in every format:
//   simple   - "PUT\n<key>\n<value>\n", "lease <%016x> granted with TTL(10s)" ...
//   json     - clientv3.WatchResponse {"Header","Events","CompactRevision",
//              "Canceled","Created"}; lease responses with the header's fields
//              promoted to the top level (embedded *ResponseHeader)
//   fields   - header lines, then "Type"/"ID"/"TTL"/"Key" lines
//   protobuf - pb.WatchResponse for watch; for lease responses only the
//              ResponseHeader's bytes (the Marshal method promoted from the
//              embedded header); revoke fails: "marshal unsupported for type"
//   table    - not supported: "Error: table not supported as output format" (4)
// Every function writes to stdout and flushes, so output streamed by a
// long-running command (watch, keep-alive) survives a Ctrl-C.
#ifndef QUORUM_CMD_QUORUMCTL_STREAM_PRINTER_H_
#define QUORUM_CMD_QUORUMCTL_STREAM_PRINTER_H_

#include <cstdint>
#include <string>

#include "etcdserverpb/rpc.pb.h"

namespace quorum::ctl {

class StreamPrinter {
 public:
  StreamPrinter(std::string format, bool hex) : format_(std::move(format)), hex_(hex) {}

  // A watch response: events, a progress notification or the final
  // canceled/compacted response.
  void Watch(const etcdserverpb::WatchResponse& r) const;
  void LeaseGrant(const etcdserverpb::LeaseGrantResponse& r) const;
  void LeaseRevoke(int64_t id, const etcdserverpb::LeaseRevokeResponse& r) const;
  void LeaseKeepAlive(const etcdserverpb::LeaseKeepAliveResponse& r) const;
  void LeaseTimeToLive(const etcdserverpb::LeaseTimeToLiveResponse& r, bool keys) const;
  void LeaseList(const etcdserverpb::LeaseLeasesResponse& r) const;

  bool IsSimple() const { return format_ == "simple"; }

 private:
  // Exits with etcdctl's unsupported-format error for table (and unknowns).
  void CheckSupported() const;

  std::string format_;
  bool hex_;
};

// Go's fmt "%016x" of an int64 lease id (a negative id keeps its sign).
std::string LeaseHex(int64_t id);

}  // namespace quorum::ctl

#endif  // QUORUM_CMD_QUORUMCTL_STREAM_PRINTER_H_
