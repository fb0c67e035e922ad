"""Unit tests of the linearizability checker itself (no servers): hand-made linearizable
and non-linearizable histories, plus randomly generated ones that are linearizable by
construction (each op takes effect at a random instant inside its interval) and the
same histories with one read corrupted so that it must fail."""

import random

from linearizability import Op, check_history, check_register


def P(c, key, v, call, ret, status="ok"):
    return Op(c, "put", key, v, call, ret, status)


def G(c, key, v, call, ret, status="ok"):
    return Op(c, "get", key, v, call, ret, status)


# (name, ops, expected linearizable?)
HAND_MADE = [
    ("empty history", [], True),
    ("read of absent key", [G(1, "x", None, 0, 1)], True),
    ("read of a value never written", [G(1, "x", "a", 0, 1)], False),
    ("sequential put then get", [P(1, "x", "a", 0, 1), G(2, "x", "a", 2, 3)], True),
    ("stale read after a completed put",
     [P(1, "x", "a", 0, 1), P(1, "x", "b", 2, 3), G(2, "x", "a", 4, 5)], False),
    ("read of absent key after a completed put",
     [P(1, "x", "a", 0, 1), G(2, "x", None, 2, 3)], False),
    ("read concurrent with put sees old value",
     [P(1, "x", "a", 0, 1), P(1, "x", "b", 2, 6), G(2, "x", "a", 3, 4)], True),
    ("read concurrent with put sees new value",
     [P(1, "x", "a", 0, 1), P(1, "x", "b", 2, 6), G(2, "x", "b", 3, 4)], True),
    ("reads flip new then old while put pending (not linearizable)",
     [P(1, "x", "a", 0, 1), P(1, "x", "b", 2, 10), G(2, "x", "b", 3, 4), G(3, "x", "a", 5, 6)], False),
    ("reads old then new while put pending",
     [P(1, "x", "a", 0, 1), P(1, "x", "b", 2, 10), G(2, "x", "a", 3, 4), G(3, "x", "b", 5, 6)], True),
    ("two concurrent puts, readers agree on order",
     [P(1, "x", "a", 0, 5), P(2, "x", "b", 0, 5), G(3, "x", "b", 6, 7), G(4, "x", "b", 8, 9)], True),
    ("two concurrent puts, readers disagree after both completed",
     [P(1, "x", "a", 0, 5), P(2, "x", "b", 0, 5), G(3, "x", "b", 6, 7), G(4, "x", "a", 8, 9)], False),
    ("two concurrent puts, concurrent readers see both orders (ok: one order each)",
     [P(1, "x", "a", 0, 5), P(2, "x", "b", 0, 5), G(3, "x", "a", 1, 2), G(4, "x", "b", 3, 4)], True),
    ("read-your-write violated",
     [P(1, "x", "a", 0, 1), G(1, "x", None, 2, 3)], False),
    ("indeterminate put never observed",
     [P(1, "x", "a", 0, 1), P(2, "x", "b", 2, None, "info"), G(3, "x", "a", 5, 6)], True),
    ("indeterminate put observed later",
     [P(1, "x", "a", 0, 1), P(2, "x", "b", 2, None, "info"), G(3, "x", "b", 50, 51)], True),
    ("indeterminate put observed, then older value again (not linearizable)",
     [P(1, "x", "a", 0, 1), P(2, "x", "b", 2, None, "info"), G(3, "x", "b", 5, 6), G(3, "x", "a", 7, 8)], False),
    ("indeterminate put cannot take effect before it was invoked",
     [P(1, "x", "a", 0, 1), G(3, "x", "b", 2, 3), P(2, "x", "b", 4, None, "info")], False),
    ("failed (never sent) put is not observable",
     [P(1, "x", "a", 0, 1), P(2, "x", "b", 2, 3, "fail"), G(3, "x", "b", 5, 6)], False),
    ("failed and indeterminate gets are ignored",
     [P(1, "x", "a", 0, 1), G(2, "x", "zzz", 2, None, "info"), G(3, "x", "q", 2, 3, "fail")], True),
    ("touching intervals are concurrent (conservative)",
     [P(1, "x", "a", 0, 2), G(2, "x", None, 2, 3)], True),
    ("lost acknowledged write across keys",
     [P(1, "x", "a", 0, 1), P(1, "y", "c", 0, 1), G(2, "y", "c", 2, 3), G(2, "x", None, 2, 3)], False),
    ("independent keys each linearizable",
     [P(1, "x", "a", 0, 1), P(1, "y", "c", 0, 1), G(2, "y", "c", 2, 3), G(2, "x", "a", 2, 3)], True),
]


def random_history(seed, n_clients=5, n_ops=120, n_keys=2, p_info=0.1):
    """Linearizable by construction: each op takes effect at a random point of its
    interval; indeterminate puts take effect or not at random."""
    rng = random.Random(seed)
    t = [0.0] * n_clients
    raw = []
    for _ in range(n_ops):
        c = rng.randrange(n_clients)
        call = t[c] + rng.random()
        ret = call + rng.random() * 3
        point = rng.uniform(call, ret)
        t[c] = ret
        key = "k%d" % rng.randrange(n_keys)
        kind = "put" if rng.random() < 0.5 else "get"
        raw.append([point, c, kind, key, call, ret])
    raw.sort()
    state = {}
    ops = []
    seq = 0
    for point, c, kind, key, call, ret in raw:
        if kind == "put":
            seq += 1
            v = "v%d" % seq
            if rng.random() < p_info:
                if rng.random() < 0.5:
                    state[key] = v  # took effect; the client never learned it
                ops.append(Op(c, "put", key, v, call, None, "info"))
            else:
                state[key] = v
                ops.append(Op(c, "put", key, v, call, ret, "ok"))
        else:
            ops.append(Op(c, "get", key, state.get(key), call, ret, "ok"))
    return ops


def corrupt(ops, rng):
    """Make a read return a value that was overwritten by a put that completed before
    the read was invoked (or a value never written): never linearizable. Only a read
    that succeeded: the checker rightly ignores failed ones, so corrupting one of those
    would prove nothing."""
    gets = [o for o in ops if o.kind == "get" and o.status == "ok"]
    rng.shuffle(gets)
    for g in gets:
        done = [o for o in ops if o.key == g.key and o.kind == "put" and o.status == "ok"
                and o.ret is not None and o.ret < g.call]
        if len(done) >= 2:
            last = max(done, key=lambda o: o.ret)
            # a completed put strictly earlier than `last`'s invocation: overwritten for sure
            older = [o for o in done if o.ret < last.call and o.value != g.value]
            if older:
                g.value = older[0].value
                return "stale"
    g = gets[0]
    g.value = "never-written"
    return "never-written"


def run(record):
    """record(name, ok, detail) for each unit case."""
    for name, ops, expect in HAND_MADE:
        res = check_history(ops, budget_s=10)
        got = res.ok
        record("checker/" + name, got == expect,
               "" if got == expect else "expected %s, checker said %s\n%s" % (
                   expect, res.summary(), res.details()))
    # random linearizable histories, then the same ones corrupted
    bad_pass = []
    bad_fail = []
    for seed in range(60):
        ops = random_history(seed)
        res = check_history(ops, budget_s=10)
        if not res.ok:
            bad_fail.append("seed %d: %s\n%s" % (seed, res.summary(), res.details()))
        ops = random_history(seed)
        corrupt(ops, random.Random(seed))
        res = check_history(ops, budget_s=10)
        if res.ok:
            bad_pass.append("seed %d" % seed)
    record("checker/60 random linearizable histories accepted", not bad_fail, "\n".join(bad_fail[:3]))
    record("checker/60 corrupted histories rejected", not bad_pass, "accepted: " + ", ".join(bad_pass))
    # a large history stays fast (4 clients, 4000 ops, 3 keys, 5% indeterminate)
    import time
    ops = random_history(12345, n_clients=4, n_ops=4000, n_keys=3, p_info=0.05)
    t = time.monotonic()
    res = check_history(ops, budget_s=30)
    el = time.monotonic() - t
    record("checker/4000-op history checked in < 10 s", res.ok and el < 10,
           "ok=%s elapsed %.1fs %s" % (res.ok, el, res.summary()))
    # the report names the offending key and prints the history around the problem
    ops = [P(1, "x", "a", 0, 1), P(1, "x", "b", 2, 3), G(2, "x", "a", 4, 5)]
    res = check_history(ops)
    det = res.details()
    record("checker/violation report shows key and stuck op",
           "key 'x'" in det and "get(x) -> 'a'" in det, det)
    ok, _ = check_register([], None)
    record("checker/check_register on nothing", ok is True, "")
    # the negative control corrupts an acknowledged read, never a failed one (the
    # checker ignores those, so the control would pass a correct checker by luck)
    bad_picks = []
    for seed in range(20):
        ops = [P(1, "x", "a", 0, 1), P(1, "x", "b", 2, 3), G(2, "x", None, 4, None, "info"),
               G(2, "x", "b", 5, 6)]
        corrupt(ops, random.Random(seed))
        if ops[2].value is not None or check_history(ops).ok:
            bad_picks.append(seed)
    record("checker/control corrupts an acknowledged read", not bad_picks,
           "seeds where a failed read was corrupted: %s" % bad_picks)


if __name__ == "__main__":
    import sys
    fails = []

    def rec(name, ok, detail):
        print("%s %s" % ("PASS" if ok else "FAIL", name))
        if not ok:
            fails.append(name)
            print("  " + detail.replace("\n", "\n  "))
    run(rec)
    sys.exit(1 if fails else 0)
