"""Lease scenario on a 3-member cluster (issue #5), run against etcd 3.4 and quorum:
followers forward keep-alives and time-to-live to the leader; the leader revokes
expired leases (keys deleted with watch events seen on a follower); a streaming
keep-alive holds a lease past its TTL; leases survive a leader kill -9 (the new leader
extends them and keeps revoking); a lease granted before a leader kill expires later.
"""

import re
import signal
import subprocess
import time

import harness
from scenarios import ELECTION_BOUND_S, get_value, poll

_GRANT_RE = re.compile(r"lease ([0-9a-f]+) granted with TTL\((\d+)s\)")
_TTL_RE = re.compile(r"granted with TTL\((\d+)s\), remaining\((-?\d+)s\)(?:, attached keys\(\[(.*)\]\))?")


def grant(member, ttl):
    r = member.ctl(["lease", "grant", str(ttl)], timeout=15)
    m = _GRANT_RE.search(r.out)
    return (m.group(1) if m else None), r


def timetolive(member, lease, keys=False):
    r = member.ctl(["lease", "timetolive", lease] + (["--keys"] if keys else []), timeout=15)
    m = _TTL_RE.search(r.out)
    if not m:
        return None, r
    return (int(m.group(1)), int(m.group(2)), (m.group(3) or "").split()), r


def gone(member, key):
    return get_value(member, key) is None


def _ctl_proc(member, args):
    """A long-running etcdctl (keep-alive, watch) against one member; stdout in a pipe."""
    argv = [harness.ETCDCTL_BIN, "--endpoints=" + member.endpoint, "--dial-timeout=3s"] + list(args)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=harness._ctl_env(), start_new_session=True)


def _stop(p):
    if p.poll() is None:
        p.kill()
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        out = b""
    return out.decode("utf-8", "replace")


def scenario_lease(ctx):
    """Leases on 3 members: follower forwarding, expiry with watch events, streaming
    keep-alive past the TTL, leader kill -9 with and without keep-alive."""
    c = ctx.cluster()
    leader, sts = c.leader(timeout=10)
    ctx.require("a leader is elected", leader is not None, repr(sts))
    f1, f2 = [m for m in c.members if m is not leader]

    # --- grant / attach / keep-alive / time-to-live through followers
    lid, r = grant(f1, 6)
    ctx.require("lease grant 6 on a follower", lid is not None, repr(r))
    watch = _ctl_proc(f2, ["watch", "lease/", "--prefix"])
    time.sleep(0.5)
    r = f2.ctl(["put", "lease/a", "1", "--lease=" + lid], timeout=15)
    ctx.check("put --lease on the other follower", r.rc == 0 and r.out.strip() == "OK", repr(r))
    r = f1.ctl(["lease", "keep-alive", "--once", lid], timeout=15)
    ctx.check("keep-alive --once on a follower is forwarded to the leader",
              r.rc == 0 and ("keepalived with TTL(6)" in r.out), repr(r))
    t, r = timetolive(f2, lid, keys=True)
    ctx.check("timetolive --keys on a follower: granted 6, 0 < remaining <= 6, keys [lease/a]",
              t is not None and t[0] == 6 and 0 < t[1] <= 6 and t[2] == ["lease/a"], repr(r))
    for m in c.members:
        r = m.ctl(["lease", "list"], timeout=15)
        ctx.check("lease list on %s shows the lease" % m.name, r.rc == 0 and lid in r.out.split(), repr(r))

    # --- a streaming keep-alive (through a follower) holds the lease past its TTL
    ka = _ctl_proc(f1, ["lease", "keep-alive", lid])
    time.sleep(10)
    ctx.check("streaming keep-alive via a follower keeps the key past the 6 s TTL",
              get_value(leader, "lease/a") == "1", repr(get_value(leader, "lease/a")))
    ka_out = _stop(ka)
    ctx.check("keep-alive stream answered repeatedly", ka_out.count("keepalived with TTL(6)") >= 2,
              ka_out[-500:])
    # --- expiry: the leader revokes; the delete reaches a watcher on a follower
    v, el = poll(lambda: gone(f1, "lease/a"), 15)
    ctx.check("key deleted after keep-alive stopped (within 15 s)", v, "after %.1fs" % el)
    t, r = timetolive(f1, lid)
    ctx.check("timetolive of the expired lease on a follower: already expired",
              "already expired" in r.out, repr(r))
    time.sleep(0.5)
    wout = _stop(watch)
    ctx.check("watch on a follower saw PUT then DELETE of lease/a",
              "PUT\nlease/a\n1" in wout and "DELETE\nlease/a" in wout, wout[-500:])

    # --- leader kill -9 while a keep-alive streams to a follower
    lid2, r = grant(f1, 8)
    ctx.require("lease grant 8", lid2 is not None, repr(r))
    r = f1.ctl(["put", "lease/b", "1", "--lease=" + lid2], timeout=15)
    ctx.check("put lease/b --lease", r.rc == 0, repr(r))
    lid3, r = grant(f2, 12)
    ctx.require("lease grant 12 (no keep-alive)", lid3 is not None, repr(r))
    r = f2.ctl(["put", "lease/c", "1", "--lease=" + lid3], timeout=15)
    ctx.check("put lease/c --lease", r.rc == 0, repr(r))
    t_granted = time.monotonic()
    ka = _ctl_proc(f1, ["lease", "keep-alive", lid2])
    time.sleep(1)
    leader.kill(signal.SIGKILL)
    new_leader, sts = c.leader(members=[f1, f2], timeout=ELECTION_BOUND_S, exclude=leader)
    ctx.require("new leader after kill -9 of the leader", new_leader is not None, repr(sts))
    # lease/c: 12 s TTL; the new leader re-grants the remaining TTL plus an election
    # timeout, so it must still exist shortly before 12 s and go away afterwards.
    time.sleep(max(0.0, 10 - (time.monotonic() - t_granted)))
    ctx.check("lease without keep-alive survives the election until its TTL",
              get_value(new_leader, "lease/c") == "1", repr(get_value(new_leader, "lease/c")))
    v, el = poll(lambda: gone(new_leader, "lease/c"), 20)
    ctx.check("the new leader revokes it after expiry (within 20 s of the check)", v, "after %.1fs" % el)
    ctx.check("lease with a streaming keep-alive survives the leader kill (> 8 s TTL)",
              get_value(new_leader, "lease/b") == "1", repr(get_value(new_leader, "lease/b")))
    ka_out = _stop(ka)
    v, el = poll(lambda: gone(f2, "lease/b"), 20)
    ctx.check("after the keep-alive stops the key goes (within 20 s)", v, "after %.1fs; ka: %s" % (el, ka_out[-300:]))

    # --- the killed member restarts with the same leases
    leader.start()
    try:
        c.wait_healthy([leader], 30)
        err = ""
    except Exception as e:  # noqa: BLE001
        err = str(e)
    ctx.require("killed member restarts", not err, err)
    lid4, r = grant(new_leader, 30)
    ctx.require("grant 30 after restart", lid4 is not None, repr(r))
    v, el = poll(lambda: lid4 in leader.ctl(["lease", "list"], timeout=10).out.split(), 15)
    ctx.check("restarted member lists the new lease", v, "after %.1fs" % el)
    r = leader.ctl(["lease", "list"], timeout=10)
    ctx.check("restarted member no longer lists the revoked leases",
              lid not in r.out.split() and lid2 not in r.out.split() and lid3 not in r.out.split(), repr(r))


# ---------------------------------------------------------------------------
# python3-etcd3 recipes (issue #5): session storage, service registry, rate limiter.
# Clients talk to followers; the leader is killed in the middle of the registry and
# rate-limit recipes, and one client that was on the killed leader reconnects.
# ---------------------------------------------------------------------------

def _client(member):
    import etcd3
    return etcd3.client(host="127.0.0.1", port=member.client_port, timeout=5)


def _refresher(member, lease_id, stop, errors, period=1.0):
    """Refreshes a lease every `period` s through `member` until stop is set; on an error
    it retries with a new connection (another member when `member` is a list)."""
    import threading
    members = member if isinstance(member, list) else [member]

    def run():
        i = 0
        c = _client(members[i % len(members)])
        while not stop.is_set():
            try:
                resp = list(c.refresh_lease(lease_id))
                if not resp or resp[0].TTL <= 0:
                    errors.append("lease %x lost: %r" % (lease_id, resp))
                    return
            except Exception as e:  # noqa: BLE001 - reconnect elsewhere and retry
                errors.append("refresh via %s: %s" % (members[i % len(members)].name, e))
                i += 1
                c = _client(members[i % len(members)])
                continue
            stop.wait(period)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _retry(fn, timeout=10):
    """fn() retried while the cluster settles after a kill ("leader changed", ...)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except Exception:  # noqa: BLE001
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _incr(c, key, window, retries=50):
    """Rate-limit counter: +1 in a txn (create-with-lease or compare mod_revision)."""
    for _ in range(retries):
        value, meta = c.get(key)
        if value is None:
            lease = c.lease(window)
            ok, _ = c.transaction(compare=[c.transactions.version(key) == 0],
                                  success=[c.transactions.put(key, "1", lease=lease.id)], failure=[])
            if ok:
                return 1
            c.revoke_lease(lease.id)
            continue
        n = int(value) + 1
        ok, _ = c.transaction(compare=[c.transactions.mod(key) == meta.mod_revision],
                              success=[c.transactions.put(key, str(n), lease=meta.lease_id)], failure=[])
        if ok:
            return n
    raise RuntimeError("too many conflicts on %s" % key)


def scenario_lease_recipes(ctx):
    """python3-etcd3 recipes on 3 members: session with TTL, service registry with
    refresh and watch_prefix discovery (through a leader kill -9), rate-limit counter
    with a lease and txn increments (through a leader kill -9)."""
    import threading
    c = ctx.cluster()
    leader, sts = c.leader(timeout=10)
    ctx.require("a leader is elected", leader is not None, repr(sts))
    f1, f2 = [m for m in c.members if m is not leader]
    a, b = _client(f1), _client(f2)

    # 1. session storage with TTL
    t0 = time.monotonic()  # before the grant: expiry cannot come before t0 + TTL
    lease = a.lease(4)
    a.put("/sessions/s1", "user=alice", lease=lease)
    v, _ = b.get("/sessions/s1")
    ctx.check("session: readable on another member", v == b"user=alice", repr(v))
    ctx.check("session: TTL as granted", lease.granted_ttl == 4, repr(lease.granted_ttl))
    found, el = poll(lambda: b.get("/sessions/s1")[0] is None, 15)
    el = time.monotonic() - t0
    ctx.check("session: key vanishes after the TTL (not before 3 s, within 15 s)", found and el >= 3,
              "after %.1fs" % el)

    # 2. service registry + discovery, through a leader kill
    events, cancel = b.watch_prefix("/services/web/")
    seen = []

    def consume():
        for e in events:
            seen.append((type(e).__name__, e.key.decode()))
    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    time.sleep(0.5)
    stops = {n: threading.Event() for n in ("i1", "i2")}
    errors = {n: [] for n in ("i1", "i2")}
    leases = {}
    for n in ("i1", "i2"):
        leases[n] = a.lease(3)
        a.put("/services/web/%s" % n, "10.0.0.%s:80" % n[1], lease=leases[n])
    # i1 refreshes through a follower only; i2 through the leader, then the other members.
    threads = {"i1": _refresher(f1, leases["i1"].id, stops["i1"], errors["i1"]),
               "i2": _refresher([leader, f1, f2], leases["i2"].id, stops["i2"], errors["i2"])}
    time.sleep(4)
    leader.kill(signal.SIGKILL)
    new_leader, sts = c.leader(members=[f1, f2], timeout=ELECTION_BOUND_S, exclude=leader)
    ctx.require("registry: new leader after kill -9", new_leader is not None, repr(sts))
    time.sleep(5)  # > TTL: both instances must have survived on refreshes alone
    keys = sorted(m.key.decode() for _, m in _retry(lambda: list(a.get_prefix("/services/web/"))))
    ctx.check("registry: both instances alive 5 s after the leader kill (3 s TTL, refreshed)",
              keys == ["/services/web/i1", "/services/web/i2"], "%r; errors %r" % (keys, errors))
    stops["i1"].set()
    threads["i1"].join(5)
    gone_i1, el = poll(lambda: ("DeleteEvent", "/services/web/i1") in seen, 15)
    ctx.check("registry: discovery watch sees i1 deleted after it stops refreshing", gone_i1,
              "after %.1fs; seen %r" % (el, seen))
    i2 = _retry(lambda: a.get("/services/web/i2"))
    ctx.check("registry: i2 still registered", i2[0] is not None, repr(i2))
    stops["i2"].set()
    threads["i2"].join(5)
    gone_i2, el = poll(lambda: ("DeleteEvent", "/services/web/i2") in seen, 15)
    ctx.check("registry: discovery sees i2 go too once it stops", gone_i2, "seen %r" % seen)
    cancel()
    ctx.check("registry: discovery saw exactly put i1, put i2, delete i1, delete i2",
              seen == [("PutEvent", "/services/web/i1"), ("PutEvent", "/services/web/i2"),
                       ("DeleteEvent", "/services/web/i1"), ("DeleteEvent", "/services/web/i2")],
              repr(seen))
    leader.start()
    try:
        c.wait_healthy([leader], 30)
    except Exception as e:  # noqa: BLE001
        ctx.require("registry: killed member restarts", False, str(e))

    # 3. rate-limit counter (lease = window, txn increments), through a leader kill
    leader2, _ = c.leader(timeout=10)
    others = [m for m in c.members if m is not leader2]
    counts = []
    errs = []

    def worker(m, n):
        cl = _client(m)
        for _ in range(n):
            try:
                counts.append(_incr(cl, "/ratelimit/alice", 30))
            except Exception as e:  # noqa: BLE001
                errs.append(str(e))
    ws = [threading.Thread(target=worker, args=(m, 10)) for m in others]
    for w in ws:
        w.start()
    time.sleep(0.3)
    leader2.kill(signal.SIGKILL)
    for w in ws:
        w.join(60)
    # A txn caught by the kill may have been applied without an answer: count the
    # acknowledged increments, the stored value can only be >= them.
    v, meta = _retry(lambda: _client(others[0]).get("/ratelimit/alice"))
    ctx.check("rate-limit: 20 increments from two members through a leader kill",
              len(counts) + len(errs) == 20 and v is not None and int(v) >= len(counts)
              and len(set(counts)) == len(counts),
              "acked %d (%r) errors %r value %r" % (len(counts), sorted(counts), errs[:3], v))
    ctx.check("rate-limit: the counter key carries its window lease",
              meta is not None and meta.lease_id != 0, repr(meta and meta.lease_id))
    cl = _client(others[1])
    failed = []

    def revoke():  # the window ends; "not found" after a failed attempt: it applied
        try:
            cl.revoke_lease(meta.lease_id)
        except Exception as e:  # noqa: BLE001
            if failed and "not found" in str(e):
                return
            failed.append(e)
            raise
    _retry(revoke)
    after = _retry(lambda: cl.get("/ratelimit/alice"))
    ctx.check("rate-limit: window over (lease revoked) -> key gone", after[0] is None, repr(after))
    # Not retried: an increment that failed ambiguously may have applied, and a
    # second one would count it twice.
    try:
        first = _incr(cl, "/ratelimit/alice", 30)
    except Exception as e:  # noqa: BLE001
        first = e
    ctx.check("rate-limit: next increment starts a new window at 1", first == 1, repr(first))
