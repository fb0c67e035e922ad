"""Cluster scenarios for issue #4. Each scenario gets a Ctx, starts its own fresh
cluster(s) through ctx.cluster(), and records named checks. The same scenario runs
against etcd 3.4 (proving the expectation) and quorum.

Bounds: cluster start 30 s; new leader 10 s after kill -9; catch-up 15 s; every client
op has a 3 s timeout; every load is bounded in op count and seconds.
"""

import base64
import json
import os
import re
import signal
import subprocess
import threading
import time

import linearizability
import workload
from cluster import REPO_ROOT

ELECTION_BOUND_S = 10.0
# A restarted follower that missed ~200 writes and a new member that joins after 200+
# writes catch up by log in etcd (it keeps 5000 entries after a snapshot); with a small
# --snapshot-count, a server that compacts its log right after a snapshot has to send
# a snapshot instead, so these two scenarios exercise InstallSnapshot too.
SMALL_SNAPSHOTS = ("--snapshot-count", "100")
CATCHUP_S = 15.0


class Abort(Exception):
    """A required step failed; the rest of the scenario cannot run meaningfully."""


# ---------------------------------------------------------------------------
# helpers (etcdctl-based unless noted)
# ---------------------------------------------------------------------------

def poll(fn, timeout, interval=0.2):
    """Call fn() until it returns a truthy value or timeout; returns (value, elapsed)."""
    t0 = time.monotonic()
    while True:
        v = fn()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 >= timeout:
            return v, time.monotonic() - t0
        time.sleep(interval)


def put(member, key, value):
    r = member.ctl(["put", key, value], timeout=15)
    return r.rc == 0 and r.out.strip() == "OK", r


def get_value(member, key, serializable=False):
    args = ["get", key, "--print-value-only"]
    if serializable:
        args.append("--consistency=s")
    r = member.ctl(args, timeout=15)
    if r.rc != 0:
        return "<error rc=%s: %s>" % (r.rc, (r.err or r.out).strip()[:200])
    out = r.out
    if out.endswith("\n"):
        out = out[:-1]
    return out if out != "" else None


def get_prefix(member, prefix, serializable=False):
    """{key: value} via `get --prefix -w json`, or None on error."""
    args = ["get", prefix, "--prefix", "-w", "json"]
    if serializable:
        args.append("--consistency=s")
    r = member.ctl(args, timeout=20)
    if r.rc != 0:
        return None
    try:
        obj = json.loads(r.out)
    except ValueError:
        return None
    out = {}
    for kv in obj.get("kvs", []) or []:
        k = base64.b64decode(kv["key"]).decode()
        v = base64.b64decode(kv.get("value", "")).decode()
        out[k] = v
    return out


def cluster_status(cluster, via):
    """`endpoint status --cluster -w json` asked through member `via`: list or None."""
    r = via.ctl(["endpoint", "status", "--cluster", "-w", "json"], timeout=20)
    try:
        return json.loads(r.out), r
    except ValueError:
        return None, r


def hashkv_cluster(via):
    r = via.ctl(["endpoint", "hashkv", "--cluster", "-w", "json"], timeout=20)
    try:
        return json.loads(r.out), r
    except ValueError:
        return None, r


def revisions(cluster, members):
    out = {}
    for m in members:
        st = m.status()
        out[m.name] = st["header"]["revision"] if st else None
    return out


def wait_same_revision(cluster, members, timeout=CATCHUP_S):
    def same():
        revs = revisions(cluster, members)
        vals = set(revs.values())
        return revs if len(vals) == 1 and None not in vals else None
    revs, _ = poll(same, timeout, 0.3)
    return revs or revisions(cluster, members)


def one_leader(sts, n):
    """Status list (endpoint status -w json) of n members -> (ok, description)."""
    if not sts:
        return False, "no status"
    if len(sts) != n:
        return False, "%d endpoints answered, want %d: %s" % (len(sts), n, json.dumps(sts))
    leaders = {e["Status"].get("leader", 0) for e in sts}
    terms = {e["Status"].get("raftTerm", 0) for e in sts}
    self_leaders = [e["Endpoint"] for e in sts
                    if e["Status"].get("leader", 0) == e["Status"]["header"]["member_id"]]
    cids = {e["Status"]["header"]["cluster_id"] for e in sts}
    desc = "leaders=%s terms=%s self-leaders=%s cluster_ids=%s" % (
        sorted(leaders), sorted(terms), self_leaders, sorted(cids))
    ok = len(leaders) == 1 and 0 not in leaders and len(self_leaders) == 1 and len(terms) == 1 \
        and len(cids) == 1
    return ok, desc


def summarize_history(hist):
    n = len(hist)
    ok = sum(1 for o in hist if o.status == "ok")
    info = n - ok
    return "%d ops (%d ok, %d indeterminate/failed)" % (n, ok, info)


def _copy_ops(hist):
    return [linearizability.Op(o.client, o.kind, o.key, o.value, o.call, o.ret, o.status, o.note)
            for o in hist]


def check_linearizable(ctx, name, hist):
    hist = list(hist)
    res = linearizability.check_history(_copy_ops(hist), budget_s=60)
    ok = ctx.check(name, res.ok and len(hist) > 0,
                   "%s; history %s\n%s" % (res.summary(), summarize_history(hist), res.details()),
                   info="%s; %s" % (summarize_history(hist), res.summary()))
    if ok:
        # negative control: the same real history with one read made stale (it returns a
        # value overwritten by a put that completed before the read began) must be rejected
        import random
        import test_checker
        bad = _copy_ops(hist)
        kind = test_checker.corrupt(bad, random.Random(len(bad)))
        res2 = linearizability.check_history(bad, budget_s=60)
        ctx.check(name + " (control: an injected bad read is detected)", res2.ok is False,
                  "injected a %s read; checker: %s" % (kind, res2.summary()), info="injected a %s read" % kind)


def check_acked_readable(ctx, name, member, prefix, acked, indeterminate, serializable=False):
    """Every acknowledged put is readable with its value; an indeterminate one, if
    present, has its value; nothing else is under the prefix."""
    got = get_prefix(member, prefix, serializable)
    if got is None:
        return ctx.check(name, False, "get --prefix %s on %s failed" % (prefix, member.name))
    missing = [k for k in acked if got.get(k) != acked[k]]
    extra = [k for k in got if k not in acked and (k not in indeterminate or got[k] != indeterminate[k])]
    return ctx.check(name, not missing and not extra,
                     "%d acked, %d read; missing or wrong: %s; unexpected: %s" % (
                         len(acked), len(got), missing[:10], extra[:10]),
                     info="%d acknowledged writes readable on %s" % (len(acked), member.name))


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------

def scenario_basic(ctx):
    """3 members: replication, reads on every member, member list, one leader."""
    c = ctx.cluster()
    a, b, d = c.members
    ok, r = put(a, "basic/k", "v1")
    ctx.require("put on m1", ok, repr(r))
    for m in (b, d):
        ctx.check("linearizable get on %s sees the write at once" % m.name,
                  get_value(m, "basic/k") == "v1", "got %r" % get_value(m, "basic/k"))
    for m in (b, d):
        v, el = poll(lambda m=m: get_value(m, "basic/k", serializable=True) == "v1", 5)
        ctx.check("serializable get on %s sees the write (within 5 s)" % m.name, v,
                  "got %r" % get_value(m, "basic/k", serializable=True))
    ok, r = put(b, "basic/k2", "from-m2")
    ctx.check("put on a follower-or-leader m2", ok, repr(r))
    ctx.check("write on m2 read linearizably on m1 and m3",
              get_value(a, "basic/k2") == "from-m2" and get_value(d, "basic/k2") == "from-m2",
              "m1=%r m3=%r" % (get_value(a, "basic/k2"), get_value(d, "basic/k2")))
    r = d.ctl(["txn"], stdin='value("basic/k") = "v1"\n\nput basic/t yes\n\nput basic/t no\n\n')
    ctx.check("txn on m3 takes the success branch", r.rc == 0 and r.out.splitlines()[:1] == ["SUCCESS"],
              repr(r))
    ctx.check("txn result visible on m1", get_value(a, "basic/t") == "yes", repr(get_value(a, "basic/t")))

    members, r = c.member_list([a])
    ok = members is not None and len(members) == 3
    ctx.check("member list shows 3 members", ok, repr(r))
    if members:
        want = {(m.name, m.peer_url, m.endpoint) for m in c.members}
        got = {(x.get("name"), ",".join(x.get("peerURLs", [])), ",".join(x.get("clientURLs", [])))
               for x in members}
        ctx.check("member list names, peer and client URLs match the flags", want == got,
                  "want %s\ngot  %s" % (sorted(want), sorted(got)))
        ids = [x.get("ID") for x in members]
        ctx.check("member ids are distinct and non-zero", len(set(ids)) == 3 and 0 not in ids, repr(ids))
        for m in (b, d):
            other, _ = c.member_list([m])
            ctx.check("member list via %s agrees" % m.name,
                      other is not None and sorted(x.get("ID") for x in other) == sorted(ids), repr(other))

    sts, r = cluster_status(c, a)
    ctx.check("endpoint status --cluster lists 3 endpoints", sts is not None and len(sts) == 3, repr(r))
    ok, desc = one_leader(sts, 3)
    ctx.check("exactly one leader, same raft term and cluster id everywhere", ok, desc, info=desc)
    r = a.ctl(["endpoint", "health", "--cluster"], timeout=20)
    ctx.check("endpoint health --cluster: 3 healthy", r.rc == 0 and (r.out + r.err).count("is healthy") == 3, repr(r))
    revs = wait_same_revision(c, c.members)
    ctx.check("all members at the same revision", len(set(revs.values())) == 1, repr(revs))
    hk, r = hashkv_cluster(a)
    hashes = {e["HashKV"]["hash"] for e in hk} if hk else set()
    ctx.check("endpoint hashkv --cluster: 3 equal hashes", hk is not None and len(hk) == 3 and len(hashes) == 1,
              repr(hk) if hk else repr(r))

    leader, sts = c.leader(timeout=10)
    ctx.require("a leader is known", leader is not None, repr(sts))
    target = [m for m in c.members if m is not leader][0]
    r = leader.ctl(["move-leader", "%x" % target.id], timeout=20)
    ctx.check("etcdctl move-leader to a follower", r.rc == 0 and "Leadership transferred" in r.out, repr(r))
    new, sts = c.leader(timeout=10, exclude=leader)
    ctx.check("all members report the new leader after move-leader", new is target,
              "want %s got %s: %s" % (target.name, new and new.name,
                                      {m.name: st and st.get("leader", 0) for m, st in sts.items()}))
    ok, r = put(leader, "basic/after-move", "1")
    ctx.check("writes through the old leader after move-leader",
              ok and get_value(target, "basic/after-move") == "1", repr(r))


def scenario_leader_kill(ctx):
    """kill -9 the leader under load, twice (the second time the new leader): a new
    leader within 10 s, writes continue, the killed member restarts with its original
    flags and catches up while the load goes on; no acknowledged write lost; the
    recorded history is linearizable."""
    c = ctx.cluster()
    leader, sts = c.leader(timeout=10)
    ctx.require("a leader is elected", leader is not None, repr(sts))
    ids_before = sorted(m.id for m in c.members)

    stop = threading.Event()
    hist = []
    keys = ["lk/r%d" % i for i in range(4)]
    regs = [workload.RegisterClient(i, c.members, keys, hist, stop, max_ops=6000, max_s=80,
                                    seed=1000 + i, pause=0.002) for i in range(4)]
    progress = [0]
    writers = [workload.Writer(i, c.members, "lk/w", 100000, stop, max_s=80, progress=progress,
                               pause=0.01) for i in range(2)]
    for t in regs + writers:
        t.start()
    acked = lambda: sum(len(w.acked) for w in writers)  # noqa: E731
    try:
        _, el = poll(lambda: acked() >= 60, 15, 0.05)
        ctx.require("load running before the kill (>= 60 acknowledged writes)", acked() >= 60,
                    "acked %d in %.1fs; errors %s" % (acked(), el, [w.errors[:3] for w in writers]))
        for rnd in (1, 2):
            _, sts = c.leader(timeout=10)
            old_term = max(st.get("raftTerm", 0) for st in sts.values() if st)
            survivors = [m for m in c.members if m is not leader]
            before_kill = acked()
            t_kill = time.monotonic()
            leader.kill(signal.SIGKILL)
            new_leader, sts2 = c.leader(members=survivors, timeout=ELECTION_BOUND_S, exclude=leader)
            el = time.monotonic() - t_kill
            ok = new_leader is not None
            ctx.require("kill #%d (%s): new leader elected among survivors within %.0f s"
                        % (rnd, leader.name, ELECTION_BOUND_S), ok,
                        "after %.1fs: %s" % (el, {m.name: st and (st.get("leader", 0), st.get("raftTerm", 0))
                                                  for m, st in sts2.items()}))
            ctx.runner.note("kill #%d: %s -> new leader %s after %.2fs" % (rnd, leader.name, new_leader.name, el))
            new_term = max(st.get("raftTerm", 0) for st in sts2.values() if st)
            ctx.check("kill #%d: raft term increased" % rnd, new_term > old_term,
                      "old %d new %d" % (old_term, new_term))
            target = acked() + 60
            _, el2 = poll(lambda: acked() >= target, 15, 0.05)
            ctx.check("kill #%d: writes continue (60 more acknowledged within 15 s)" % rnd, acked() >= target,
                      "acked %d -> %d; writer errors %s" % (before_kill, acked(), [w.errors[:3] for w in writers]))
            ok, r = put(survivors[0], "lk/after%d" % rnd, "x%d" % rnd)
            ctx.check("kill #%d: etcdctl put on a survivor" % rnd, ok, repr(r))
            # restart with exactly the original flags (--initial-cluster-state new)
            leader.start()
            try:
                c.wait_healthy([leader], 30)
                err = ""
            except Exception as e:  # noqa: BLE001
                err = str(e)
            ctx.require("kill #%d: %s restarts with its original flags (--initial-cluster-state new)"
                        % (rnd, leader.name), not err, err)
            ok, r = put(survivors[1], "lk/latest", "after-restart-%d" % rnd)
            ctx.check("kill #%d: put after the restart" % rnd, ok, repr(r))
            v, el = poll(lambda: get_value(leader, "lk/latest", serializable=True) == "after-restart-%d" % rnd,
                         CATCHUP_S)
            ctx.check("kill #%d: restarted member catches up: serializable get returns the latest value" % rnd,
                      v, "got %r after %.1fs" % (get_value(leader, "lk/latest", serializable=True), el))
            leader = new_leader
            time.sleep(1.0)  # the load goes on against all three members
    finally:
        stop.set()
        left = workload.join_all(regs + writers, 20)
    ctx.check("load threads stopped", not left, repr(left))

    all_acked = {}
    indet = {}
    for w in writers:
        all_acked.update(w.acked)
        indet.update(w.indeterminate)
    for m in c.members:
        check_acked_readable(ctx, "every acknowledged write readable on %s (linearizable)" % m.name,
                             m, "lk/w/", all_acked, indet)
    wait_same_revision(c, c.members)
    for m in c.members:
        check_acked_readable(ctx, "every acknowledged write on %s (serializable)" % m.name,
                             m, "lk/w/", all_acked, indet, serializable=True)
    members, r = c.member_list()
    ctx.check("restarted members kept their identity (same 3 member ids)",
              members is not None and sorted(x.get("ID") for x in members) == ids_before,
              "before %s after %s" % (ids_before, members))
    l3, sts3 = c.leader(timeout=10)
    ctx.check("all 3 agree on one leader at the end", l3 is not None,
              repr({m.name: st and (st.get("leader", 0), st.get("raftTerm", 0)) for m, st in sts3.items()}))
    check_linearizable(ctx, "history across both leader kills is linearizable", hist)


def scenario_leader_pause(ctx):
    """SIGSTOP the leader for 4 s (longer than the election timeout) under load, then
    SIGCONT it, twice: the others elect a new leader, the paused one must step down
    when it wakes up and must not serve stale linearizable reads; the members
    converge (revision, hashkv); the recorded history is linearizable."""
    c = ctx.cluster()
    leader, sts = c.leader(timeout=10)
    ctx.require("a leader is elected", leader is not None, repr(sts))
    stop = threading.Event()
    hist = []
    keys = ["lp/r%d" % i for i in range(3)]
    # 6 register clients, two per member, so some are talking to the paused leader
    regs = [workload.RegisterClient(i, c.members, keys, hist, stop, max_ops=5000, max_s=60,
                                    seed=3000 + i, op_timeout=2.0, pause=0.003) for i in range(6)]
    writers = [workload.Writer(i, c.members, "lp/w", 100000, stop, max_s=60, pause=0.01) for i in range(2)]
    for t in regs + writers:
        t.start()
    acked = lambda: sum(len(w.acked) for w in writers)  # noqa: E731
    paused = None
    try:
        poll(lambda: acked() >= 40, 15, 0.05)
        for rnd in (1, 2):
            survivors = [m for m in c.members if m is not leader]
            paused = leader
            os.kill(paused.proc.pid, signal.SIGSTOP)
            t0 = time.monotonic()
            new_leader, sts2 = c.leader(members=survivors, timeout=ELECTION_BOUND_S, exclude=paused)
            ctx.check("pause #%d (%s): the others elect a new leader within %.0f s"
                      % (rnd, paused.name, ELECTION_BOUND_S), new_leader is not None,
                      repr({m.name: st and (st.get("leader", 0), st.get("raftTerm", 0)) for m, st in sts2.items()}))
            n0 = acked()
            poll(lambda: acked() >= n0 + 30, 10, 0.05)
            ctx.check("pause #%d: writes continue while the old leader is paused" % rnd, acked() >= n0 + 30,
                      "acked %d -> %d" % (n0, acked()))
            time.sleep(max(0.0, 4.0 - (time.monotonic() - t0)))
            os.kill(paused.proc.pid, signal.SIGCONT)
            paused = None
            time.sleep(2.0)  # load continues against all three, including the woken one
            l2, sts3 = c.leader(timeout=10)
            ctx.check("pause #%d: after SIGCONT all 3 agree on one leader" % rnd, l2 is not None,
                      repr({m.name: st and (st.get("leader", 0), st.get("raftTerm", 0)) for m, st in sts3.items()}))
            leader = l2 or new_leader or leader
    finally:
        if paused is not None:
            try:
                os.kill(paused.proc.pid, signal.SIGCONT)
            except OSError:
                pass
        stop.set()
        left = workload.join_all(regs + writers, 20)
    ctx.check("load threads stopped", not left, repr(left))
    all_acked, indet = {}, {}
    for w in writers:
        all_acked.update(w.acked)
        indet.update(w.indeterminate)
    revs = wait_same_revision(c, c.members)
    ctx.check("all members reach the same revision", len(set(revs.values())) == 1 and None not in revs.values(),
              repr(revs))
    r = c.ctl(["endpoint", "hashkv", "-w", "json"], timeout=20)
    try:
        hk = json.loads(r.out)
    except ValueError:
        hk = None
    ctx.check("hashkv equal on all 3", hk is not None and len(hk) == 3 and len({e["HashKV"]["hash"] for e in hk}) == 1,
              json.dumps(hk) if hk else repr(r))
    for m in c.members:
        check_acked_readable(ctx, "every acknowledged write on %s (serializable)" % m.name, m, "lp/w/",
                             all_acked, indet, serializable=True)
    check_linearizable(ctx, "history across both leader pauses is linearizable", hist)


def scenario_follower_kill(ctx):
    """kill -9 a follower during 500 puts from 4 threads, restart it; revisions and
    hashkv equal afterwards; every acknowledged write on every member; linearizable."""
    c = ctx.cluster(extra_args=SMALL_SNAPSHOTS)
    leader, sts = c.leader(timeout=10)
    ctx.require("a leader is elected", leader is not None, repr(sts))
    follower = [m for m in c.members if m is not leader][0]
    stop = threading.Event()
    wstop = threading.Event()
    progress = [0]
    writers = [workload.Writer(i, c.members, "fk/w", 125, wstop, max_s=60, progress=progress,
                               pause=0.04)
               for i in range(4)]
    hist = []
    keys = ["fk/r%d" % i for i in range(3)]
    regs = [workload.RegisterClient(10 + i, c.members, keys, hist, stop, max_ops=2000, max_s=60,
                                    seed=2000 + i, pause=0.01) for i in range(3)]
    for t in writers + regs:
        t.start()
    killed_at = restarted_at = None
    restart_err = None
    try:
        poll(lambda: progress[0] >= 100, 20, 0.02)
        killed_at = progress[0]
        follower.kill(signal.SIGKILL)
        poll(lambda: progress[0] >= 300, 20, 0.05)
        restarted_at = progress[0]
        follower.start()
        try:
            c.wait_healthy([follower], 30)
        except Exception as e:  # noqa: BLE001
            restart_err = str(e)
        left = workload.join_all(writers, 60)
    finally:
        wstop.set()
        stop.set()
        left = workload.join_all(writers + regs, 20)
    ctx.check("load threads finished", not left, repr(left))
    ctx.check("follower restarted and healthy", restart_err is None, restart_err or "",
              info="killed after %s puts, restarted after %s" % (killed_at, restarted_at))
    acked = {}
    indet = {}
    for w in writers:
        acked.update(w.acked)
        indet.update(w.indeterminate)
    attempted = len(acked) + len(indet)
    ctx.check("500 puts attempted, most acknowledged (>= 400)", attempted == 500 and len(acked) >= 400,
              "attempted %d acked %d; errors %s" % (attempted, len(acked), [w.errors[:2] for w in writers]),
              info="%d/500 acknowledged" % len(acked))
    revs = wait_same_revision(c, c.members)
    ctx.check("all members reach the same revision after the load", len(set(revs.values())) == 1
              and None not in revs.values(), repr(revs), info=repr(revs))
    hk, r = hashkv_cluster(c.members[0])
    hashes = {e["HashKV"]["hash"] for e in hk} if hk else set()
    hrevs = {e["HashKV"]["header"]["revision"] for e in hk} if hk else set()
    ctx.check("endpoint hashkv --cluster: 3 equal hashes at one revision",
              hk is not None and len(hk) == 3 and len(hashes) == 1 and len(hrevs) == 1,
              json.dumps(hk) if hk else repr(r))
    # the same without --cluster (endpoints given explicitly): independent of the
    # client URLs each member publishes in the member list
    r = c.ctl(["endpoint", "hashkv", "-w", "json"], timeout=20)
    try:
        hk2 = json.loads(r.out)
    except ValueError:
        hk2 = None
    hashes2 = {e["HashKV"]["hash"] for e in hk2} if hk2 else set()
    ctx.check("endpoint hashkv on all 3 endpoints (explicit --endpoints): equal hashes",
              hk2 is not None and len(hk2) == 3 and len(hashes2) == 1, json.dumps(hk2) if hk2 else repr(r))
    for m in c.members:
        check_acked_readable(ctx, "every acknowledged write on %s%s (serializable)" % (
            m.name, " (the restarted follower)" if m is follower else ""), m, "fk/w/", acked, indet,
            serializable=True)
    check_linearizable(ctx, "history across the follower kill is linearizable", hist)


_ADD_RE = re.compile(r'^ETCD_(\w+)="(.*)"$')


def scenario_member_add_remove(ctx):
    """member add m4, start it with --initial-cluster-state existing, it catches up;
    member remove it; the 3 members keep serving."""
    c = ctx.cluster(extra_args=SMALL_SNAPSHOTS)
    a, b, d = c.members
    # some data for the new member to catch up on
    w = workload.Writer(0, [a], "ma/data", 200, threading.Event(), max_s=30)
    w.run()
    ctx.require("200 puts before the add", len(w.acked) == 200, repr(w.errors[:3]))
    ok, r = put(a, "ma/before", "1")
    m4 = c.add_member_object("m4", initial_cluster="", state="existing")
    # etcd refuses reconfiguration ("etcdserver: unhealthy cluster") until every member
    # has been connected for 5 s (--strict-reconfig-check); retry that error, bounded.
    deadline = time.monotonic() + 20
    while True:
        r = a.ctl(["member", "add", "m4", "--peer-urls=" + m4.peer_url], timeout=20)
        if r.rc == 0 or "unhealthy cluster" not in r.err or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    env = {}
    for line in r.out.splitlines():
        mm = _ADD_RE.match(line.strip())
        if mm:
            env[mm.group(1)] = mm.group(2)
    ctx.require("etcdctl member add m4 succeeds and prints ETCD_INITIAL_CLUSTER",
                r.rc == 0 and "INITIAL_CLUSTER" in env and re.search(r"Member\s+[0-9a-f]+ added to cluster", r.out),
                repr(r))
    ctx.check("member add prints ETCD_NAME, ETCD_INITIAL_CLUSTER_STATE=existing",
              env.get("NAME") == "m4" and env.get("INITIAL_CLUSTER_STATE") == "existing"
              and env.get("INITIAL_ADVERTISE_PEER_URLS") == m4.peer_url, repr(env))
    want_ic = {"m1=" + a.peer_url, "m2=" + b.peer_url, "m3=" + d.peer_url, "m4=" + m4.peer_url}
    ctx.check("ETCD_INITIAL_CLUSTER names all 4 members", set(env["INITIAL_CLUSTER"].split(",")) == want_ic,
              env["INITIAL_CLUSTER"])
    members, r = c.member_list([b])
    ctx.check("member list shows 4 (m4 not started yet)", members is not None and len(members) == 4, repr(r))
    m4.initial_cluster = env["INITIAL_CLUSTER"]
    m4.start()
    try:
        c.wait_healthy([m4], 30)
        started = True
    except Exception as e:  # noqa: BLE001
        started = False
        ctx.require("m4 starts with --initial-cluster-state existing and becomes healthy", False, str(e))
    ctx.check("m4 starts with --initial-cluster-state existing and becomes healthy", started, "")
    v, el = poll(lambda: get_value(m4, "ma/before", serializable=True) == "1", CATCHUP_S)
    ctx.check("m4 catches up (serializable get of an earlier write)", v,
              "got %r" % get_value(m4, "ma/before", serializable=True), info="%.1fs" % el)
    check_acked_readable(ctx, "m4 has all 200 earlier writes (serializable)", m4, "ma/data/", w.acked, {},
                         serializable=True)
    ok, r = put(m4, "ma/from-m4", "hello")
    ctx.check("write through m4, linearizable read on m1", ok and get_value(a, "ma/from-m4") == "hello", repr(r))
    members, r = c.member_list([a])
    mine = [x for x in (members or []) if x.get("name") == "m4"]
    ctx.check("member list shows 4 started members, m4 with its client URL",
              members is not None and len(members) == 4 and all(x.get("name") for x in members)
              and mine and mine[0].get("clientURLs") == [m4.endpoint], repr(members))
    sts, r = cluster_status(c, a)
    ok, desc = one_leader(sts, 4)
    ctx.check("endpoint status --cluster: 4 endpoints, one leader, one term", ok, desc)
    wait_same_revision(c, c.members)
    hk, r = hashkv_cluster(a)
    hashes = {e["HashKV"]["hash"] for e in hk} if hk else set()
    ctx.check("hashkv equal on all 4", hk is not None and len(hk) == 4 and len(hashes) == 1,
              json.dumps(hk) if hk else repr(r))
    if not mine:
        raise Abort("m4 not in member list; cannot remove it")
    m4_id = "%x" % mine[0]["ID"]
    r = a.ctl(["member", "remove", m4_id], timeout=20)
    ctx.check("etcdctl member remove m4", r.rc == 0 and "removed from cluster" in r.out, repr(r))
    members, r = c.member_list([b])
    ctx.check("member list shows 3 again, without m4",
              members is not None and sorted(x.get("name") for x in members) == ["m1", "m2", "m3"], repr(r))
    gone, el = poll(lambda: not m4.alive(), 15)
    ctx.check("the removed member shuts itself down (within 15 s)", gone,
              "still running after %.0fs; log tail:\n%s" % (el, m4.log_tail(8)))
    c.members.remove(m4)
    c.removed.append(m4)
    ok, r = put(b, "ma/after-remove", "2")
    ctx.check("3-member cluster keeps serving writes after the remove",
              ok and get_value(d, "ma/after-remove") == "2", repr(r))
    r = a.ctl(["endpoint", "health", "--cluster"], timeout=20)
    ctx.check("endpoint health --cluster: 3 healthy after the remove",
              r.rc == 0 and (r.out + r.err).count("is healthy") == 3, repr(r))


def scenario_learner(ctx):
    """member add --learner, start it (existing), it catches up, member promote,
    then member update of its peer URLs is visible in member list."""
    c = ctx.cluster(extra_args=SMALL_SNAPSHOTS)
    a, b, d = c.members
    w = workload.Writer(0, [b], "ln/data", 150, threading.Event(), max_s=30)
    w.run()
    ctx.require("150 puts before the add", len(w.acked) == 150, repr(w.errors[:3]))
    m4 = c.add_member_object("m4", initial_cluster="", state="existing")
    deadline = time.monotonic() + 20
    while True:
        r = a.ctl(["member", "add", "m4", "--learner", "--peer-urls=" + m4.peer_url], timeout=20)
        if r.rc == 0 or "unhealthy cluster" not in r.err or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    env = dict(mm.groups() for mm in (_ADD_RE.match(l.strip()) for l in r.out.splitlines()) if mm)
    ctx.require("etcdctl member add m4 --learner", r.rc == 0 and "INITIAL_CLUSTER" in env
                and "added to cluster" in r.out, repr(r))
    members, r = c.member_list([a])
    lrn = [x for x in (members or []) if x.get("peerURLs") == [m4.peer_url]]
    ctx.check("member list shows m4 as a learner", lrn and lrn[0].get("isLearner") is True, repr(members))
    m4.initial_cluster = env["INITIAL_CLUSTER"]
    m4.start()
    # a learner does not serve linearizable requests (etcd: "rpc not supported for learner"),
    # so wait for its serializable view rather than `endpoint health`
    v, el = poll(lambda: m4.alive() and get_prefix(m4, "ln/data/", serializable=True) == w.acked, 30, 0.3)
    ctx.require("learner m4 starts and catches up (serializable reads show all 150 writes)", v,
                "after %.0fs; alive=%s; log tail:\n%s" % (el, m4.alive(), m4.log_tail(10)))
    r = m4.ctl(["put", "ln/x", "1"], timeout=20)
    ctx.check("a learner refuses client writes", r.rc != 0, repr(r))
    lid = "%x" % lrn[0]["ID"] if lrn else "0"
    deadline = time.monotonic() + 20
    while True:
        r = a.ctl(["member", "promote", lid], timeout=20)
        if r.rc == 0 or time.monotonic() > deadline or "not in sync" not in (r.err + r.out):
            break
        time.sleep(0.5)
    ctx.check("etcdctl member promote m4", r.rc == 0 and "promoted" in r.out, repr(r))
    members, r = c.member_list([b])
    mine = [x for x in (members or []) if x.get("name") == "m4"]
    ctx.check("member list: m4 is a voting member now", mine and not mine[0].get("isLearner", False), repr(members))
    ok, r = put(m4, "ln/from-m4", "voter")
    ctx.check("the promoted member serves writes and linearizable reads",
              ok and get_value(m4, "ln/from-m4") == "voter" and get_value(a, "ln/from-m4") == "voter", repr(r))
    sts, r = cluster_status(c, a)
    ok, desc = one_leader(sts, 4)
    ctx.check("endpoint status --cluster: 4 endpoints, one leader", ok, desc)
    # member update: re-advertise m3 under "localhost" instead of 127.0.0.1 (same listener)
    new_url = "http://localhost:%d" % d.peer_port
    m3 = [x for x in (members or []) if x.get("name") == "m3"]
    m3_id = "%x" % m3[0]["ID"] if m3 else "0"
    r = a.ctl(["member", "update", m3_id, "--peer-urls=" + new_url], timeout=20)
    ctx.check("etcdctl member update m3 --peer-urls", r.rc == 0 and "updated in cluster" in r.out, repr(r))
    members, r = c.member_list([b])
    m3 = [x for x in (members or []) if x.get("name") == "m3"]
    ctx.check("member list shows m3's new peer URL", m3 and m3[0].get("peerURLs") == [new_url], repr(members))
    ok, r = put(d, "ln/after-update", "1")
    ctx.check("cluster keeps working after the update", ok and get_value(a, "ln/after-update") == "1", repr(r))


def scenario_full_restart(ctx):
    """kill -9 all three members at once and restart them with the same flags: the
    cluster comes back with the same ids and every acknowledged write."""
    c = ctx.cluster()
    w = workload.Writer(0, c.members, "fr", 150, threading.Event(), max_s=30)
    w.run()
    ctx.require("150 puts", len(w.acked) == 150, repr(w.errors[:3]))
    members_before, _ = c.member_list()
    sts, _ = cluster_status(c, c.members[0])
    cid = {e["Status"]["header"]["cluster_id"] for e in sts} if sts else set()
    for m in c.members:
        m.kill(signal.SIGKILL)
    for m in c.members:
        m.start()
    try:
        c.wait_healthy(c.members, 30)
        ok = True
        err = ""
    except Exception as e:  # noqa: BLE001
        ok = False
        err = str(e)
    ctx.require("all 3 restart (same flags, --initial-cluster-state new) and become healthy", ok, err)
    members_after, _ = c.member_list()
    ctx.check("same member ids after the restart",
              members_before is not None and members_after is not None
              and sorted(x["ID"] for x in members_before) == sorted(x["ID"] for x in members_after),
              "before %s\nafter %s" % (members_before, members_after))
    sts2, _ = cluster_status(c, c.members[1])
    cid2 = {e["Status"]["header"]["cluster_id"] for e in sts2} if sts2 else set()
    ctx.check("same cluster id after the restart", cid and cid == cid2, "%s -> %s" % (cid, cid2))
    ok, desc = one_leader(sts2, 3)
    ctx.check("one leader after the restart (endpoint status --cluster)", ok, desc)
    for m in c.members:
        check_acked_readable(ctx, "acknowledged writes survive on %s" % m.name, m, "fr/", w.acked, {})


def scenario_tls(ctx):
    """Client and peer TLS with certificates from scripts/gen-certs.sh."""
    import tempfile
    certs = tempfile.mkdtemp(prefix="quorum-cluster-certs-")
    other = tempfile.mkdtemp(prefix="quorum-cluster-othercerts-")
    ctx.cleanup_dirs += [certs, other]
    gen = os.path.join(REPO_ROOT, "scripts", "gen-certs.sh")
    for d, what in ((certs, "cluster PKI"), (other, "an unrelated second PKI")):
        p = subprocess.run([gen, d], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        files = sorted(os.listdir(d))
        want = sorted(n + s for n in ("ca", "server", "peer", "client") for s in (".crt", ".key"))
        ctx.require("scripts/gen-certs.sh makes %s (CA, server, peer, client)" % what,
                    p.returncode == 0 and all(f in files for f in want), p.stdout.decode() + repr(files))
    c = ctx.cluster(tls=certs)
    a, b, d = c.members
    ok, r = put(a, "tls/k", "secret")
    ctx.check("put over TLS with a client certificate", ok, repr(r))
    ctx.check("linearizable get over TLS on another member", get_value(b, "tls/k") == "secret",
              repr(get_value(b, "tls/k")))
    members, r = c.member_list([d])
    ctx.check("member list shows https peer and client URLs",
              members is not None and len(members) == 3 and all(
                  x["peerURLs"][0].startswith("https://") and x["clientURLs"][0].startswith("https://")
                  for x in members), repr(r))
    sts, r = cluster_status(c, a)
    ok, desc = one_leader(sts, 3)
    ctx.check("endpoint status --cluster over TLS: 3 endpoints, one leader", ok, desc)
    fast = ["--dial-timeout=1s", "--command-timeout=2s"]  # refusals should not take 8 s each
    r = c.ctl(["get", "tls/k"] + fast, endpoints=[a], client_cert=False, timeout=20)
    ctx.check("a client without a certificate is refused (client-cert-auth)", r.rc != 0 and "secret" not in r.out,
              repr(r))
    r = harness_ctl_with(c, a, ["get", "tls/k"] + fast, other)
    ctx.check("a client certificate from another CA is refused", r.rc != 0 and "secret" not in r.out, repr(r))
    r = harness_plain(a, ["get", "tls/k"] + fast)
    ctx.check("plaintext client on the TLS port is refused", r.rc != 0 and "secret" not in r.out, repr(r))
    import etcd3
    try:
        cli = etcd3.client(host="127.0.0.1", port=b.client_port, timeout=8,
                           ca_cert=os.path.join(certs, "ca.crt"), cert_key=os.path.join(certs, "client.key"),
                           cert_cert=os.path.join(certs, "client.crt"))
        cli.put("tls/py", "from-python")
        v, _ = cli.get("tls/py")
        cli.close()
        ctx.check("python3-etcd3 over TLS put/get", v == b"from-python", repr(v))
    except Exception as e:  # noqa: BLE001
        ctx.check("python3-etcd3 over TLS put/get", False, repr(e))


def harness_ctl_with(c, member, args, certdir):
    import harness
    return harness.etcdctl(member.endpoint, list(args) + [
        "--cacert", os.path.join(c.tls, "ca.crt"), "--cert", os.path.join(certdir, "client.crt"),
        "--key", os.path.join(certdir, "client.key")], timeout=20)


def harness_plain(member, args):
    import harness
    return harness.etcdctl("http://127.0.0.1:%d" % member.client_port, args, timeout=20)


SCENARIOS = [
    ("basic", scenario_basic),
    ("leader-kill", scenario_leader_kill),
    ("leader-pause", scenario_leader_pause),
    ("follower-kill", scenario_follower_kill),
    ("member-add-remove", scenario_member_add_remove),
    ("learner", scenario_learner),
    ("full-restart", scenario_full_restart),
    ("tls", scenario_tls),
]

# Issue #5: leases on a cluster (tests/cluster/scenario_lease.py).
from scenario_lease import scenario_lease  # noqa: E402  (needs the helpers above)
SCENARIOS.append(("lease", scenario_lease))
from scenario_lease import scenario_lease_recipes  # noqa: E402
SCENARIOS.append(("lease-recipes", scenario_lease_recipes))
from scenario_watch_recipes import scenario_watch_recipes  # noqa: E402  (#5: config manager, controller)
SCENARIOS.append(("watch-recipes", scenario_watch_recipes))

# Issue #6: lock and election on a cluster (tests/cluster/scenario_recipes.py).
from scenario_recipes import scenario_recipes  # noqa: E402
SCENARIOS.append(("lock-election", scenario_recipes))
