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
