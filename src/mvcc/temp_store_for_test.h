// Test-only helpers: a fresh RocksDB directory under /tmp and a KvStore on
// it, so unit tests of the store and of what sits on it (applier, watch
// events) share one setup instead of copying it.
#ifndef QUORUM_MVCC_TEMP_STORE_FOR_TEST_H_
#define QUORUM_MVCC_TEMP_STORE_FOR_TEST_H_

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "mvcc/backend/backend.h"
#include "mvcc/kv_store.h"

namespace quorum::mvcc::test_util {

// Creates /tmp/quorum-<name>-XXXXXX; "" when that fails.
inline std::string MakeTempDir(const std::string& name) {
  std::string tmpl = "/tmp/quorum-" + name + "-XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
}

inline void RemoveTempDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Tests do not need durability: fsync off.
inline BackendOptions NoFsyncOptions() {
  BackendOptions o;
  o.unsafe_no_fsync = true;
  return o;
}

// Opens the backend in `dir` and a KvStore on it.
inline absl::Status OpenStore(const std::string& dir, std::unique_ptr<Backend>* backend,
                              std::unique_ptr<KvStore>* store,
                              const BackendOptions& opts = NoFsyncOptions()) {
  auto b = Backend::Open(dir, opts);
  if (!b.ok()) return b.status();
  auto s = KvStore::Open(b->get());
  if (!s.ok()) return s.status();
  *backend = std::move(*b);
  *store = std::move(*s);
  return absl::OkStatus();
}

}  // namespace quorum::mvcc::test_util

#endif  // QUORUM_MVCC_TEMP_STORE_FOR_TEST_H_
