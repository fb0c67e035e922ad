// Wing & Gong's linearizability search with Lowe's memoisation, as in
// Porcupine (github.com/anishathalye/porcupine, checker.go):
//
//   events  = call and return events of one key's operations, in time order
//             (calls before returns on equal times: touching = concurrent),
//             in a doubly linked list;
//   at a call    try to linearize that operation now: it needs a legal model
//                step and a (linearized-set, state) pair not seen before;
//                then its call and return are lifted out of the list, the
//                choice is pushed on a stack and the scan restarts at the head;
//   at a return  of an operation not linearized yet: backtrack (pop, unlift,
//                continue after the popped call);
//   empty list   linearizable; return at an empty stack: not linearizable.
//
// Indeterminate writes return at +infinity: linearizing one last is the same
// as it never taking effect, so "maybe applied" needs no special case.
//
// Pruning (sound, and essential: every indeterminate write that is kept
// doubles the reachable linearized sets). An indeterminate write of a value
// v that appears in no other write of the key, that no get or failed cas
// read back and that no cas compared against can be dropped, unless the key
// has a failed cas with an unknown current value returning after the
// write's call. Proof sketch: in a linearization with the write W applied,
// the ops between W and the next write observe v; only a failed cas without
// a read can do so without naming v, and the condition excludes those; an
// indeterminate cas there can be moved to the end (it never returns). So
// removing W leaves a linearization; conversely a history linearizable
// without W is linearizable with W placed last.
#include "linearizability.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace quorum::integration {
namespace {

constexpr int kAbsent = -1;

struct Node {
  int prev = -1, next = -1;
  int op = -1;
  bool is_call = false;
  int match = -1;  // the call's return node
};

struct Event {
  OpClock::time_point time;
  bool infinite = false;
  bool is_call = false;
  int op = 0;
};

// A configuration (linearized set, state) is remembered by two independent
// 64-bit Zobrist hashes of the set plus the state: constant memory per entry,
// so histories of millions of operations fit. Two different sets collide
// with probability about 2^-128 per pair, which would only prune a branch.
struct CacheKey {
  uint64_t h1 = 0, h2 = 0;
  int state = kAbsent;
  bool operator==(const CacheKey& o) const { return h1 == o.h1 && h2 == o.h2 && state == o.state; }
};
struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    return static_cast<size_t>(k.h1 ^ (static_cast<uint64_t>(k.state + 1) * 0x9E3779B97F4A7C15ull));
  }
};

// The register model over interned values.
struct KeyModel {
  std::unordered_map<std::string, int> ids;
  std::vector<std::string> names;
  int Intern(const std::string& v) {
    auto [it, inserted] = ids.emplace(v, static_cast<int>(names.size()));
    if (inserted) names.push_back(v);
    return it->second;
  }
  int Of(const std::optional<std::string>& v) { return v ? Intern(*v) : kAbsent; }
  std::string Name(int s) const { return s == kAbsent ? "<absent>" : absl::StrCat("\"", names[s], "\""); }
};

// Pre-interned form of one operation.
struct Step {
  OpKind kind;
  bool indeterminate;
  bool succeeded;
  bool has_read;
  int value = kAbsent, expected = kAbsent, read = kAbsent;
};

// Returns the next state, or nullopt when `op` is illegal in `state`.
std::optional<int> Apply(const Step& s, int state) {
  switch (s.kind) {
    case OpKind::kPut:
      return s.value;
    case OpKind::kGet:
      if (state != s.read) return std::nullopt;
      return state;
    case OpKind::kCas:
      if (s.indeterminate) return state == s.expected ? s.value : state;
      if (s.succeeded) {
        if (state != s.expected) return std::nullopt;
        return s.value;
      }
      if (state == s.expected) return std::nullopt;
      if (s.has_read && state != s.read) return std::nullopt;
      return state;
  }
  return std::nullopt;
}

std::string Describe(const Operation& op, OpClock::time_point origin) {
  auto ms = [&](OpClock::time_point t) {
    return absl::StrFormat("%.1f", std::chrono::duration<double, std::milli>(t - origin).count());
  };
  auto val = [](const std::optional<std::string>& v) {
    return v ? absl::StrCat("\"", *v, "\"") : std::string("<absent>");
  };
  std::string what;
  switch (op.kind) {
    case OpKind::kPut:
      what = absl::StrCat("put(", op.key, ", \"", op.value, "\")");
      break;
    case OpKind::kGet:
      what = absl::StrCat("get(", op.key, ")");
      break;
    case OpKind::kCas:
      what = absl::StrCat("cas(", op.key, ", ", val(op.expected), " -> \"", op.value, "\")");
      break;
  }
  std::string result;
  if (op.indeterminate) {
    result = "?? (indeterminate)";
  } else if (op.kind == OpKind::kGet) {
    result = val(op.read);
  } else if (op.kind == OpKind::kCas) {
    result = op.succeeded ? "succeeded" : absl::StrCat("failed", op.read ? absl::StrCat(", saw ", val(op.read))
                                                                        : op.has_failure_read ? ", saw <absent>" : "");
  } else {
    result = "ok";
  }
  return absl::StrFormat("[%s, %s] c%d %s -> %s%s", ms(op.call),
                         op.indeterminate ? std::string("inf") : ms(op.ret), op.client, what, result,
                         op.note.empty() ? "" : absl::StrCat("  (", op.note, ")"));
}

struct KeyOutcome {
  CheckResult::Outcome outcome = CheckResult::Outcome::kLinearizable;
  std::string detail;
};

// Checks one key's operations (already pruned).
KeyOutcome CheckKey(const std::vector<const Operation*>& ops, OpClock::time_point deadline,
                    OpClock::time_point origin) {
  const int n = static_cast<int>(ops.size());
  if (n == 0) return {};
  KeyModel model;
  std::vector<Step> steps(n);
  for (int i = 0; i < n; ++i) {
    const Operation& o = *ops[i];
    Step& s = steps[i];
    s.kind = o.kind;
    s.indeterminate = o.indeterminate;
    s.succeeded = o.succeeded;
    s.has_read = o.kind == OpKind::kGet || o.has_failure_read;
    if (o.kind != OpKind::kGet) s.value = model.Intern(o.value);
    if (o.kind == OpKind::kCas) s.expected = model.Of(o.expected);
    if (s.has_read) s.read = model.Of(o.read);
  }

  std::vector<Event> events;
  events.reserve(2 * n);
  for (int i = 0; i < n; ++i) {
    events.push_back(Event{ops[i]->call, false, true, i});
    events.push_back(Event{ops[i]->ret, ops[i]->indeterminate, false, i});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.infinite != b.infinite) return !a.infinite;
    if (!a.infinite && a.time != b.time) return a.time < b.time;
    return a.is_call && !b.is_call;
  });
  // Node 0 is the head; event k is node k+1.
  std::vector<Node> nodes(events.size() + 1);
  std::vector<int> call_node(n), ret_node(n);
  for (size_t k = 0; k < events.size(); ++k) {
    Node& nd = nodes[k + 1];
    nd.op = events[k].op;
    nd.is_call = events[k].is_call;
    nd.prev = static_cast<int>(k);
    nd.next = k + 1 < events.size() ? static_cast<int>(k + 2) : -1;
    (nd.is_call ? call_node : ret_node)[nd.op] = static_cast<int>(k + 1);
  }
  nodes[0].next = events.empty() ? -1 : 1;
  for (int i = 0; i < n; ++i) nodes[call_node[i]].match = ret_node[i];

  auto unlink = [&](int x) {
    nodes[nodes[x].prev].next = nodes[x].next;
    if (nodes[x].next != -1) nodes[nodes[x].next].prev = nodes[x].prev;
  };
  auto relink = [&](int x) {
    nodes[nodes[x].prev].next = x;
    if (nodes[x].next != -1) nodes[nodes[x].next].prev = x;
  };
  auto lift = [&](int call) {
    unlink(call);
    unlink(nodes[call].match);
  };
  auto unlift = [&](int call) {
    relink(nodes[call].match);
    relink(call);
  };

  std::mt19937_64 rng(0x5eed);
  std::vector<std::pair<uint64_t, uint64_t>> zobrist(n);
  for (auto& z : zobrist) z = {rng(), rng()};
  CacheKey cur;
  auto flip = [&](int op) {
    cur.h1 ^= zobrist[op].first;
    cur.h2 ^= zobrist[op].second;
  };
  std::unordered_set<CacheKey, CacheKeyHash> cache;
  struct Frame {
    int call_node;
    int prev_state;
  };
  std::vector<Frame> stack;

  // The deepest point reached, for the report.
  size_t best_depth = 0;
  std::vector<int> best_order;
  int best_stuck = -1;
  int best_state = kAbsent;

  uint64_t iterations = 0;
  int entry = nodes[0].next;
  while (nodes[0].next != -1) {
    if ((++iterations & 0xfff) == 0 && OpClock::now() > deadline) {
      return {CheckResult::Outcome::kUndecided,
              absl::StrCat("search budget exhausted after ", iterations, " steps, ", cache.size(),
                           " cached configurations, deepest ", best_depth, " of ", n, " ops")};
    }
    const Node& nd = nodes[entry];
    if (nd.is_call) {
      const int op = nd.op;
      std::optional<int> next = Apply(steps[op], cur.state);
      if (next) {
        const int prev_state = cur.state;
        flip(op);
        cur.state = *next;
        if (cache.insert(cur).second) {
          stack.push_back(Frame{entry, prev_state});
          lift(entry);
          entry = nodes[0].next;
          continue;
        }
        flip(op);
        cur.state = prev_state;
      }
      entry = nd.next;
      continue;
    }
    // A return event of an operation that is not linearized yet.
    if (stack.size() >= best_depth) {
      best_depth = stack.size();
      best_order.clear();
      for (const Frame& f : stack) best_order.push_back(nodes[f.call_node].op);
      best_stuck = nd.op;
      best_state = cur.state;
    }
    if (stack.empty()) break;
    const Frame f = stack.back();
    stack.pop_back();
    cur.state = f.prev_state;
    flip(nodes[f.call_node].op);
    unlift(f.call_node);
    entry = nodes[f.call_node].next;
  }
  if (nodes[0].next == -1) return {};

  std::string d = absl::StrCat("longest linearizable prefix: ", best_depth, " of ", n,
                               " operations; then the register holds ", model.Name(best_state),
                               " and this operation cannot be linearized before it returns:\n  ",
                               Describe(*ops[best_stuck], origin), "\nlast operations of that prefix, in linearization order:\n");
  const size_t from = best_order.size() > 12 ? best_order.size() - 12 : 0;
  for (size_t i = from; i < best_order.size(); ++i) {
    absl::StrAppend(&d, "  ", Describe(*ops[best_order[i]], origin), "\n");
  }
  return {CheckResult::Outcome::kViolation, d};
}

}  // namespace

std::string DescribeOperation(const Operation& op, OpClock::time_point origin) {
  return Describe(op, origin);
}

std::string DescribeHistory(const std::vector<Operation>& ops) {
  if (ops.empty()) return "(empty history)\n";
  std::vector<const Operation*> sorted;
  for (const auto& o : ops) sorted.push_back(&o);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Operation* a, const Operation* b) { return a->call < b->call; });
  std::string out;
  for (const Operation* o : sorted) absl::StrAppend(&out, "  ", Describe(*o, sorted[0]->call), "\n");
  return out;
}

CheckResult CheckLinearizable(const std::vector<Operation>& history, CheckOptions opts) {
  CheckResult result;
  if (history.empty()) return result;
  OpClock::time_point origin = history[0].call;
  for (const auto& o : history) origin = std::min(origin, o.call);
  const OpClock::time_point deadline = OpClock::now() + opts.budget;

  std::map<std::string, std::vector<const Operation*>> by_key;
  for (const auto& o : history) by_key[o.key].push_back(&o);

  for (auto& [key, all] : by_key) {
    // What was observed, and which writes share a value.
    std::unordered_map<std::string, int> writes_of, observed;
    for (const Operation* o : all) {
      if (o->kind != OpKind::kGet) ++writes_of[o->value];
      if (o->kind == OpKind::kCas && o->expected) ++observed[*o->expected];
      if (o->indeterminate) continue;
      if ((o->kind == OpKind::kGet || o->has_failure_read) && o->read) ++observed[*o->read];
    }
    std::vector<OpClock::time_point> blind_failed_cas_returns;
    for (const Operation* o : all) {
      if (o->kind == OpKind::kCas && !o->indeterminate && !o->succeeded && !o->has_failure_read) {
        blind_failed_cas_returns.push_back(o->ret);
      }
    }
    const OpClock::time_point last_blind =
        blind_failed_cas_returns.empty()
            ? OpClock::time_point::min()
            : *std::max_element(blind_failed_cas_returns.begin(), blind_failed_cas_returns.end());

    std::vector<const Operation*> kept;
    for (const Operation* o : all) {
      if (o->indeterminate) {
        if (o->kind == OpKind::kGet) {
          ++result.operations_dropped;
          continue;
        }
        if (writes_of[o->value] == 1 && !observed.contains(o->value) && !(last_blind > o->call)) {
          ++result.operations_dropped;
          continue;
        }
      }
      kept.push_back(o);
    }
    result.operations_checked += kept.size();
    KeyOutcome k = CheckKey(kept, deadline, origin);
    if (k.outcome == CheckResult::Outcome::kLinearizable) continue;
    result.outcome = k.outcome;
    result.key = key;
    std::vector<Operation> key_ops;
    for (const Operation* o : all) key_ops.push_back(*o);
    std::stable_sort(key_ops.begin(), key_ops.end(),
                     [](const Operation& a, const Operation& b) { return a.call < b.call; });
    result.report = absl::StrCat(
        k.outcome == CheckResult::Outcome::kViolation ? "NOT LINEARIZABLE" : "UNDECIDED",
        ": key \"", key, "\" (", all.size(), " operations, ", kept.size(),
        " after dropping failed gets and unobservable indeterminate writes)\n", k.detail,
        "history of key \"", key, "\" (times in ms since the first call of the whole history):\n");
    for (const auto& o : key_ops) absl::StrAppend(&result.report, "  ", Describe(o, origin), "\n");
    return result;
  }
  return result;
}

}  // namespace quorum::integration
