"""Lock and election on a 3-member cluster (issue #6), run against etcd 3.4 and quorum.

mutex: processes mixing `etcdctl lock --ttl=3` holders (etcdctl's client-side
recipe), `quorumctl lock --ttl=3` holders (the server's v3lockpb.Lock service) and
C++ Mutex users (bin/quorum-recipe counter) increment a shared counter under one lock
while the raft leader is killed -9. Every increment is a compare-and-swap of "ctr"
that also writes hist/<count> = the holder's fencing revision (ETCD_LOCK_REV for
etcdctl and quorumctl, the Mutex's header revision for C++): the final count must be
exact, no holder may find
the counter moved while it held the lock ("overlap"), and the fencing revisions in
hist/ must strictly increase with the count.

election: a C++ candidate (session TTL 3 s) leads; an `etcdctl elect` candidate waits
and an `etcdctl elect -l` observer watches. kill -9 of the leader's process: the
waiting candidate leads within TTL + election bound, and the observers (`etcdctl
elect -l` and `quorumctl elect -l`) saw both leaders in order.

Every wait is bounded; processes are killed by pid.
"""

import os
import signal
import subprocess
import threading
import time

import harness
from scenarios import ELECTION_BOUND_S, get_value, poll, put

_ROUNDS_CPP = 15
_ROUNDS_CTL = 8
_TTL = 3


def _recipe_bin(ctx):
    base = ctx.binary if ctx.target == "quorum" else harness.DEFAULT_QUORUM_BIN
    return os.path.join(os.path.dirname(os.path.abspath(base)), "quorum-recipe")


class _Proc:
    """A background process whose output lines are collected by a thread."""

    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=env or harness._ctl_env(), start_new_session=True)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self, sig=signal.SIGKILL):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.t.join(timeout=5)


_TRANSIENT = ("request timed out", "leader changed", "no leader", "context deadline exceeded",
              "Unavailable", "connection refused")


def _quorumctl_bin(ctx):
    return os.path.join(os.path.dirname(_recipe_bin(ctx)), "quorumctl")


def _ctl_lock_loop(eps, recipe, rounds, results, idx, ctl_bin=None):
    """Until `rounds` increments are done (at most rounds + 6 attempts): etcdctl (or
    quorumctl) lock --ttl=3 ctr-lock -- quorum-recipe incr (fence from ETCD_LOCK_REV). Records
    (rc, output) per attempt. Around the leader kill an attempt may fail transiently
    (e.g. the unlock after the command times out), with etcd as with quorum."""
    done = 0
    for _ in range(rounds + 6):
        if done >= rounds:
            break
        argv = [ctl_bin or harness.ETCDCTL_BIN, "--endpoints=" + eps, "--dial-timeout=3s", "lock",
                "--ttl=%d" % _TTL, "ctr-lock", "--", recipe, "incr", "--endpoints=" + eps]
        # Its own process group, so a timeout kills the lock holder's command
        # (quorum-recipe incr) too, not only the lock client.
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=harness._ctl_env(), start_new_session=True)
        try:
            raw, _ = p.communicate(timeout=120)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raw, _ = p.communicate()
            rc = "timeout"
        # An increment printed before a timeout happened: count it.
        out = (raw or b"").decode("utf-8", "replace").strip()
        results[idx].append((rc, out))
        done += sum(1 for line in out.splitlines() if line.startswith("inc "))


def _incs(res):
    return sum(1 for _, out in res for line in out.splitlines() if line.startswith("inc "))


def scenario_recipes(ctx):
    """Mutual exclusion through a leader kill; election failover after kill -9 of the leader."""
    recipe = _recipe_bin(ctx)
    ctx.require("quorum-recipe is built (%s)" % recipe, os.access(recipe, os.X_OK))
    quorumctl = _quorumctl_bin(ctx)
    ctx.require("quorumctl is built (%s)" % quorumctl, os.access(quorumctl, os.X_OK))
    c = ctx.cluster()
    leader, sts = c.leader(timeout=10)
    ctx.require("a leader is elected", leader is not None, repr(sts))
    eps = c.endpoints()
    ok, r = put(leader, "ctr", "0")
    ctx.require("put ctr=0", ok, repr(r))

    # --- mutual exclusion: 2 C++ Mutex users + 2 etcdctl lock loops + 2 quorumctl lock loops
    cpp = [_Proc([recipe, "counter", "--endpoints=" + eps, "--name=ctr-lock",
                  "--rounds=%d" % _ROUNDS_CPP, "--ttl=%d" % _TTL]) for _ in range(2)]
    ctl_bins = [None, None, quorumctl, quorumctl]
    ctl_names = ["etcdctl", "etcdctl", "quorumctl", "quorumctl"]
    ctl_results = [[] for _ in ctl_bins]
    ctl = [threading.Thread(target=_ctl_lock_loop,
                            args=(eps, recipe, _ROUNDS_CTL, ctl_results, i, ctl_bins[i]), daemon=True)
           for i in range(len(ctl_bins))]
    for t in ctl:
        t.start()
    total = 2 * _ROUNDS_CPP + len(ctl_bins) * _ROUNDS_CTL

    def count():
        v = get_value(c.live()[0], "ctr")
        try:
            return int(v)
        except (TypeError, ValueError):
            return 0
    v, _ = poll(lambda: count() >= total // 4, timeout=60, interval=0.3)
    ctx.check("a quarter of the increments before the kill", v, "ctr=%s" % count())
    leader, _ = c.leader(timeout=10)
    t_kill = time.monotonic()
    if leader is not None:
        leader.kill()
    for p in cpp:
        p.wait(timeout=180)
    for t in ctl:
        t.join(timeout=max(1.0, 240 - (time.monotonic() - t_kill)))
    for i, p in enumerate(cpp):
        ctx.check("C++ Mutex user %d finished all rounds" % i,
                  p.p.returncode == 0 and sum(1 for l in p.lines if l.startswith("inc ")) == _ROUNDS_CPP,
                  "rc=%s lines=%s" % (p.p.returncode, p.lines[-5:]))
        p.kill()
    for i, res in enumerate(ctl_results):
        bad = [x for x in res if x[0] != 0 and not any(t in x[1] for t in _TRANSIENT)]
        failed = [x for x in res if x[0] != 0]
        ctx.check("%s lock loop %d: %d increments, failures only transient" % (ctl_names[i], i, _ROUNDS_CTL),
                  _incs(res) == _ROUNDS_CTL and not bad, repr(bad[:3] or res[-2:]),
                  info=("%d transient failures: %r" % (len(failed), [x[1][-160:] for x in failed][:3]))
                  if failed else "")
    survivors = c.live()
    r = c.ctl(["get", "ctr", "--print-value-only"], endpoints=survivors, timeout=15)
    ctx.check("final count is exact (%d)" % total, r.rc == 0 and r.out.strip() == str(total), repr(r))
    r = c.ctl(["get", "hist/", "--prefix", "-w", "fields"], endpoints=survivors, timeout=15)
    fences = []
    key = None
    for line in r.out.splitlines():
        if line.startswith('"Key" : '):
            key = line.split(" : ", 1)[1].strip('"')
        elif line.startswith('"Value" : ') and key:
            fences.append((key, int(line.split(" : ", 1)[1].strip('"'))))
    backwards = [(fences[i], fences[i + 1]) for i in range(len(fences) - 1)
                 if fences[i][1] >= fences[i + 1][1]]
    ctx.check("every increment recorded, fencing revisions strictly increase",
              len(fences) == total and not backwards,
              "n=%d of %d; not increasing: %r; all: %r" % (len(fences), total, backwards[:5], fences))
    overlaps = [l for p in cpp for l in p.lines if "overlap" in l] + \
               [x for res in ctl_results for x in res if "overlap" in x[1]]
    ctx.check("no holder saw another write while holding", not overlaps, repr(overlaps[:3]))

    # --- election failover after kill -9 of the leader's process
    live_eps = c.endpoints(c.live())
    holder = _Proc([recipe, "elect", "--endpoints=" + live_eps, "--name=el", "--value=first",
                    "--ttl=%d" % _TTL])
    v, _ = poll(lambda: any(l.startswith("leader ") for l in holder.lines), timeout=30)
    ctx.require("C++ candidate leads", v, repr(holder.lines))
    ctl_argv = [harness.ETCDCTL_BIN, "--endpoints=" + live_eps, "--dial-timeout=3s", "elect"]
    observer = _Proc(ctl_argv + ["-l", "el"])
    qobserver = _Proc([quorumctl, "--endpoints=" + live_eps, "--dial-timeout=3s", "elect", "-l", "el"])
    v, _ = poll(lambda: len(observer.lines) >= 2, timeout=15)
    ctx.check("observer sees the first leader", v and observer.lines[1:2] == ["first"], repr(observer.lines))
    v, _ = poll(lambda: len(qobserver.lines) >= 2, timeout=15)
    ctx.check("quorumctl observer sees the first leader", v and qobserver.lines[1:2] == ["first"],
              repr(qobserver.lines))
    second = _Proc(ctl_argv + ["el", "second"])
    time.sleep(1.0)
    ctx.check("second candidate waits while the first leads", not second.lines, repr(second.lines))
    t0 = time.monotonic()
    holder.kill(signal.SIGKILL)
    bound = _TTL + ELECTION_BOUND_S
    v, el = poll(lambda: len(second.lines) >= 2, timeout=bound + 10, interval=0.1)
    ctx.check("second candidate leads within TTL + election bound (%.0fs)" % bound,
              v and el <= bound and second.lines[1] == "second", "after %.1fs: %r" % (el, second.lines),
              info="%.1fs" % el)
    v, _ = poll(lambda: len(observer.lines) >= 4, timeout=10)
    ctx.check("observer saw both leaders in order",
              v and observer.lines[1] == "first" and observer.lines[3] == "second"
              and observer.lines[0] != observer.lines[2], repr(observer.lines))
    v, _ = poll(lambda: len(qobserver.lines) >= 4, timeout=10)
    ctx.check("quorumctl observer saw both leaders in order",
              v and qobserver.lines[1] == "first" and qobserver.lines[3] == "second"
              and qobserver.lines[0] != qobserver.lines[2], repr(qobserver.lines))
    for p in (second, observer, qobserver):
        p.kill(signal.SIGINT)
