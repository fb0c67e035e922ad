// Linearizability checker for histories recorded against a key-value store
// (Wing & Gong's search with Lowe's memoisation, the algorithm Porcupine
// uses), over a model of independent registers with put / get / cas.
//
// Model. Each key is a register that starts absent. put(k, v) sets it;
// get(k) returns its value (or absent); cas(k, expected, v) sets it to v and
// returns succeeded=true iff its value equals `expected` (absent when
// `expected` is nullopt), else returns false and changes nothing. That is
// etcd's `txn compare(value(k) == expected) then put(k, v)` (or
// create_revision(k) == 0 for "absent"). Linearizability is compositional,
// so each key's sub-history is checked on its own.
//
// History. Each Operation carries its call and return time (steady clock,
// taken just before the request and just after the response). An
// operation whose outcome is unknown (deadline exceeded, unavailable, ...)
// has `indeterminate = true`: a write may have taken effect at any point
// after its call, so its return time is treated as +infinity; an
// indeterminate get has no effect and is dropped. Intervals that only touch
// are treated as concurrent (the conservative choice).
//
// Written values should be unique per history (the nemesis test makes them
// "c<client>-<seq>"). The checker uses that only to drop indeterminate
// writes nobody can have observed (see linearizability.cc); with duplicate
// values it is still correct, just slower.
//
// Thread-safety: CheckLinearizable is a pure function. History is a
// thread-safe recorder.
#ifndef QUORUM_TESTS_INTEGRATION_LINEARIZABILITY_H_
#define QUORUM_TESTS_INTEGRATION_LINEARIZABILITY_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace quorum::integration {

using OpClock = std::chrono::steady_clock;

enum class OpKind { kPut, kGet, kCas };

struct Operation {
  int client = 0;
  OpKind kind = OpKind::kGet;
  std::string key;
  // put: the value written; cas: the new value; get: unused.
  std::string value;
  // cas: the value compared against (nullopt: the key must be absent).
  std::optional<std::string> expected;

  OpClock::time_point call{};
  OpClock::time_point ret{};
  // The outcome is unknown: the operation may or may not have taken effect.
  bool indeterminate = false;
  // get: the value read (nullopt: absent).
  std::optional<std::string> read;
  // cas: whether the comparison held.
  bool succeeded = false;
  // cas that failed: `read` holds the value it saw (the txn's failure branch
  // ranges over the key). Without it a failed cas only says "not equal".
  bool has_failure_read = false;
  // Free text for reports (member, error message).
  std::string note;
};

struct CheckOptions {
  // The search gives up (outcome kUndecided) after this much time in total.
  std::chrono::milliseconds budget{60000};
};

struct CheckResult {
  enum class Outcome { kLinearizable, kViolation, kUndecided };
  Outcome outcome = Outcome::kLinearizable;
  std::string key;     // the offending key (violation/undecided)
  std::string report;  // that key's history and where the search got stuck
  size_t operations_checked = 0;
  size_t operations_dropped = 0;  // failed gets and unobservable indeterminate writes
  bool ok() const { return outcome == Outcome::kLinearizable; }
};

CheckResult CheckLinearizable(const std::vector<Operation>& history, CheckOptions opts = {});

// One line per operation, times in ms relative to `origin`.
std::string DescribeOperation(const Operation& op, OpClock::time_point origin);
std::string DescribeHistory(const std::vector<Operation>& ops);

// Thread-safe recorder of a concurrent history.
class History {
 public:
  void Add(Operation op) {
    absl::MutexLock lock(&mu_);
    ops_.push_back(std::move(op));
  }
  std::vector<Operation> Snapshot() const {
    absl::MutexLock lock(&mu_);
    return ops_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return ops_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Operation> ops_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quorum::integration

#endif  // QUORUM_TESTS_INTEGRATION_LINEARIZABILITY_H_
