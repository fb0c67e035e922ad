// RAFT_CHECK(cond) << "context": crash with a message when a raft invariant is
// broken (STYLE.md §5: broken invariants crash loudly). absl 20220623 has no
// absl/log, hence this minimal stand-in; always on, also in release builds.
#ifndef QUORUM_RAFT_CHECK_H_
#define QUORUM_RAFT_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace quorum::raft::internal {

class CheckFailer {
 public:
  CheckFailer(const char* file, int line, const char* cond) {
    os_ << file << ":" << line << ": RAFT_CHECK failed: " << cond << " ";
  }
  ~CheckFailer() {
    std::fprintf(stderr, "%s\n", os_.str().c_str());
    std::fflush(stderr);
    std::abort();
  }
  std::ostream& stream() { return os_; }

 private:
  std::ostringstream os_;
};

}  // namespace quorum::raft::internal

#define RAFT_CHECK(cond) \
  if (cond) {            \
  } else                 \
    ::quorum::raft::internal::CheckFailer(__FILE__, __LINE__, #cond).stream()

#endif  // QUORUM_RAFT_CHECK_H_
