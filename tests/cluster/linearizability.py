"""Linearizability checker for histories of concurrent put/get operations on keys.

Model: every key is an independent read/write register whose initial value is None
(key absent). Linearizability is compositional (Herlihy & Wing: a history is
linearizable iff its projection on every object is), so each key is checked alone.

Search: Wing & Gong's algorithm with Lowe's memoisation ("Testing for
linearizability", G. Lowe, 2017), the same algorithm Porcupine uses. The history is
turned into a doubly linked list of call/return events ordered by time. The search
walks the list: at a call it tries to linearize that operation now (model step
legal and (linearized-set, state) not seen before), lifting the op's call and
return out of the list; at a return whose operation is not yet linearized it
backtracks. The history is linearizable when the list empties.

Operations:
  Op(client, kind, key, value, call, ret, status)
    kind   "put" (value = the value written) or "get" (value = the value read, None
           when the key was absent)
    call   monotonic time the request was sent (time.monotonic())
    ret    monotonic time the response arrived; None when it never did
    status "ok"   completed and acknowledged
           "fail" definitely had no effect (never sent)
           "info" indeterminate: timed out / connection lost / error; a put may or
                  may not have taken effect, at any time after its call

Indeterminate puts get ret = +infinity (they may be linearized anywhere after their
call, including after everything, which is the same as never). Failed and
indeterminate gets are dropped (reads have no effect). With unique written values an
indeterminate put whose value nobody read can be dropped too: it is linearizable with
it iff without it (place it last), and dropping it keeps the search small.

Times: an operation that returns at exactly the time another is invoked is treated as
concurrent with it (calls sort before returns), the conservative choice.
"""

import collections
import math
import time

INF = math.inf


class Op:
    __slots__ = ("client", "kind", "key", "value", "call", "ret", "status", "idx", "note")

    def __init__(self, client, kind, key, value, call, ret=None, status="ok", note=""):
        assert kind in ("put", "get"), kind
        assert status in ("ok", "fail", "info"), status
        self.client = client
        self.kind = kind
        self.key = key
        self.value = value
        self.call = call
        self.ret = ret
        self.status = status
        self.idx = -1
        self.note = note

    def describe(self, t0=0.0):
        end = "  ...  " if self.ret is None or self.ret == INF else "%8.4f" % (self.ret - t0)
        if self.kind == "put":
            what = "put(%s, %r)" % (self.key, self.value)
        else:
            what = "get(%s) -> %r" % (self.key, self.value) if self.status == "ok" \
                else "get(%s) -> ?" % (self.key,)
        return "[%8.4f, %s] client %-4s %-5s %s%s" % (
            self.call - t0, end, self.client, self.status, what,
            ("  (" + self.note + ")") if self.note else "")

    def __repr__(self):
        return "Op(%s)" % self.describe()


class KeyResult:
    def __init__(self, key, ok, n_ops, n_checked, elapsed, detail="", unknown=False):
        self.key = key
        self.ok = ok                # True / False; None when the search gave up (budget)
        self.n_ops = n_ops          # operations recorded for the key
        self.n_checked = n_checked  # operations left after dropping ones without effect
        self.elapsed = elapsed
        self.detail = detail
        self.unknown = unknown


class CheckResult:
    def __init__(self, keys):
        self.keys = keys  # list of KeyResult

    @property
    def ok(self):
        return all(k.ok is True for k in self.keys)

    @property
    def violations(self):
        return [k for k in self.keys if k.ok is False]

    @property
    def unknown(self):
        return [k for k in self.keys if k.ok is None]

    def summary(self):
        n = sum(k.n_ops for k in self.keys)
        c = sum(k.n_checked for k in self.keys)
        s = "%d keys, %d ops (%d checked after dropping failed/unobserved ones)" % (len(self.keys), n, c)
        if self.ok:
            return "linearizable: " + s
        parts = []
        if self.violations:
            parts.append("NOT linearizable on key(s) %s" % ", ".join(repr(k.key) for k in self.violations))
        if self.unknown:
            parts.append("undecided (time budget) on key(s) %s" % ", ".join(repr(k.key) for k in self.unknown))
        return "; ".join(parts) + ": " + s

    def details(self, limit=6000):
        out = [k.detail for k in self.keys if k.ok is not True and k.detail]
        text = "\n".join(out)
        if len(text) > limit:
            text = text[:limit] + "\n... (%d more chars)" % (len(text) - limit)
        return text


def _prepare(ops):
    """Drop operations that cannot matter; give indeterminate puts ret = +inf."""
    read_values = {op.value for op in ops if op.kind == "get" and op.status == "ok"}
    keep = []
    for op in ops:
        if op.status == "fail":
            continue
        if op.kind == "get" and op.status != "ok":
            continue
        if op.kind == "put" and op.status == "info":
            if op.value not in read_values:
                continue
            op.ret = INF
        elif op.ret is None:
            raise ValueError("completed operation without a return time: %r" % op)
        keep.append(op)
    return keep


def check_register(ops, init=None, budget_s=30.0):
    """Check one key's history against a register. Returns (ok, info):
    ok True/False/None(gave up); info = dict(best=max ops linearized, stuck=op)."""
    ops = _prepare(list(ops))
    n = len(ops)
    if n == 0:
        return True, {"best": 0, "stuck": None, "n": 0}
    for i, op in enumerate(ops):
        op.idx = i
    # events: (time, 0 call / 1 return, op index)
    events = []
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))
        events.append((op.ret, 1, i))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    # nodes 1..2n in event order; 0 = head sentinel, 2n+1 = tail sentinel
    m = 2 * n
    nxt = list(range(1, m + 2)) + [m + 1]
    prv = [0] + list(range(0, m + 1))
    is_call = [False] * (m + 2)
    op_of = [-1] * (m + 2)
    call_node = [0] * n
    ret_node = [0] * n
    for pos, (_, kind, i) in enumerate(events, start=1):
        op_of[pos] = i
        if kind == 0:
            is_call[pos] = True
            call_node[i] = pos
        else:
            ret_node[i] = pos
    tail = m + 1

    kinds = [op.kind == "put" for op in ops]
    values = [op.value for op in ops]

    def lift(c):
        r = ret_node[op_of[c]]
        nxt[prv[c]] = nxt[c]
        prv[nxt[c]] = prv[c]
        nxt[prv[r]] = nxt[r]
        prv[nxt[r]] = prv[r]

    def unlift(c):
        r = ret_node[op_of[c]]
        nxt[prv[r]] = r
        prv[nxt[r]] = r
        nxt[prv[c]] = c
        prv[nxt[c]] = c

    cache = set()
    stack = []  # (call node, state before)
    state = init
    linearized = 0
    entry = nxt[0]
    best = 0
    stuck = None
    steps = 0
    deadline = time.monotonic() + budget_s
    while nxt[0] != tail:
        steps += 1
        if (steps & 0x3FFF) == 0 and time.monotonic() > deadline:
            return None, {"best": best, "stuck": stuck, "n": n, "steps": steps}
        if is_call[entry]:
            i = op_of[entry]
            if kinds[i]:
                legal, new_state = True, values[i]
            else:
                legal, new_state = values[i] == state, state
            if legal:
                new_lin = linearized | (1 << i)
                ck = (new_lin, new_state)
                if ck not in cache:
                    cache.add(ck)
                    stack.append((entry, state))
                    state = new_state
                    linearized = new_lin
                    lift(entry)
                    if len(stack) > best:
                        best = len(stack)
                        stuck = None
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            # a return whose operation is not linearized yet: backtrack
            if stuck is None and len(stack) == best:
                stuck = op_of[entry]
            if not stack:
                return False, {"best": best, "stuck": stuck, "n": n, "steps": steps}
            entry, state = stack.pop()
            linearized &= ~(1 << op_of[entry])
            unlift(entry)
            entry = nxt[entry]
    return True, {"best": n, "stuck": None, "n": n, "steps": steps}


def _explain(key, all_ops, info, t0, max_lines=60):
    ops = [o for o in all_ops]
    lines = ["key %r: no linearization exists (longest linearizable prefix: %d of %d ops)"
             % (key, info.get("best", 0), info.get("n", 0))]
    stuck_op = None
    if info.get("stuck") is not None:
        # info["stuck"] indexes the prepared list; find the Op object through idx
        for o in ops:
            if o.idx == info["stuck"]:
                stuck_op = o
                break
    if stuck_op is not None:
        lines.append("first operation that cannot be linearized: " + stuck_op.describe(t0))
        lo = stuck_op.call - 2.0
        hi = (stuck_op.ret if stuck_op.ret not in (None, INF) else stuck_op.call) + 0.5
        window = [o for o in ops if (o.ret if o.ret not in (None, INF) else INF) >= lo and o.call <= hi]
    else:
        window = ops
    window.sort(key=lambda o: o.call)
    if len(window) > max_lines:
        # keep the operations nearest the stuck one
        if stuck_op is not None and stuck_op in window:
            k = window.index(stuck_op)
            a = max(0, k - max_lines * 2 // 3)
            window = window[a:a + max_lines]
        else:
            window = window[:max_lines]
    lines.append("history of key %r around it (times in s; [invoke, complete]):" % (key,))
    lines += ["  " + o.describe(t0) for o in window]
    return "\n".join(lines)


def check_history(ops, budget_s=60.0, init=None):
    """Check a whole multi-key history. Returns a CheckResult."""
    by_key = collections.OrderedDict()
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    t0 = min((op.call for op in ops), default=0.0)
    deadline = time.monotonic() + budget_s
    results = []
    for key, kops in by_key.items():
        remaining = max(0.5, deadline - time.monotonic())
        t = time.monotonic()
        for o in kops:
            o.idx = -1
        ok, info = check_register(kops, init=init, budget_s=remaining)
        elapsed = time.monotonic() - t
        detail = ""
        if ok is False:
            detail = _explain(key, kops, info, t0)
        elif ok is None:
            detail = "key %r: search exceeded its time budget after %d steps (undecided)" % (
                key, info.get("steps", 0))
        results.append(KeyResult(key, ok, len(kops), info.get("n", 0), elapsed, detail))
    return CheckResult(results)
