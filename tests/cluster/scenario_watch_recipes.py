"""Watch recipes on a 3-member cluster (issue #5) with Debian's python3-etcd3, run
against etcd 3.4 and quorum, each while the leader is killed -9 and restarted:

3. configuration manager: get_prefix("/config/app/"), then watch_prefix from the
   returned revision + 1; every event hot-reloads the manager's in-memory config.
4. Kubernetes-style controller: list + watch of /registry/pods/; two writers create
   (Put Pending), update (Put Running) and delete pods in two namespaces; the
   controller's cache follows the Put/Delete events in order.

The watching client is connected to the leader. When the leader dies, its stream
breaks; python3-etcd3 0.12 has no multi-endpoint client, so the recipe does what a
real user would: a new client to the next member and watch_prefix(start_revision =
last seen revision + 1). At the end the sequence of events the client saw must equal
exactly what a fresh watch_prefix(start_revision=first) replays on each of the 3
members (including the restarted one): no event lost, none duplicated, in revision
order. The writers' log must match that history: every acknowledged write is there
at its acknowledged revision; every other event comes from a write whose outcome was
indeterminate during the kill (used at most once).
"""

import signal
import threading
import time

import workload
from scenarios import ELECTION_BOUND_S, poll

_OP_TIMEOUT = 3.0


def _ev(e):
    """python3-etcd3 event -> (PUT|DELETE, key, value, mod_revision)."""
    kind = "DELETE" if type(e).__name__ == "DeleteEvent" else "PUT"
    return (kind, e.key.decode(), e.value.decode() if kind == "PUT" else "", e.mod_revision)


class _ClosedWatchStub:
    """python3-etcd3 0.12's watch thread reopens its stream forever (`while True` in
    Watcher._run): on a dead member it spins, and after close() it dies with "Cannot
    invoke RPC: Channel closed!" on stderr. Swapped in before close(), this stub ends
    that thread quietly (a thread ending with SystemExit prints nothing)."""

    def Watch(self, *args, **kwargs):  # noqa: N802 - the gRPC stub's method name
        raise SystemExit


def _close(cli):
    watcher = getattr(cli, "watcher", None)
    if watcher is not None:
        watcher._watch_stub = _ClosedWatchStub()
    try:
        cli.close()
    except Exception:  # noqa: BLE001
        pass


class ResumingWatch(threading.Thread):
    """watch_prefix(prefix, start_revision) on members[start]; on a stream error (the
    member died) a new client to the next member and watch_prefix(prefix,
    start_revision = last seen + 1). events: [(kind, key, value, rev)];
    connections: [(member name, start revision)]. With `hold` (an Event), it waits
    for it (at most 30 s) before resuming, so the events written in between must come
    from the new member's history. Bounded by max_s; stop() cancels."""

    def __init__(self, members, start, prefix, start_rev, on_event=None, max_s=55.0, name="watch",
                 hold=None):
        super().__init__(daemon=True, name=name)
        self.members = list(members)
        self.i = start % len(self.members)
        self.prefix = prefix
        self.next_rev = start_rev
        self.on_event = on_event
        self.hold = hold
        self.max_s = max_s
        self.events = []
        self.connections = []
        self.errors = []
        self._stop_evt = threading.Event()
        self._lock = threading.Lock()
        self._cancel = None

    def last_rev(self):
        return self.next_rev - 1

    def stop(self):
        self._stop_evt.set()
        with self._lock:
            cancel = self._cancel
        if cancel is not None:
            try:
                cancel()
            except Exception:  # noqa: BLE001 - the stream may already be gone
                pass

    def run(self):
        deadline = time.monotonic() + self.max_s
        while not self._stop_evt.is_set() and time.monotonic() < deadline:
            m = self.members[self.i]
            cli = None
            try:
                cli = workload._client(m, _OP_TIMEOUT)
                it, cancel = cli.watch_prefix(self.prefix, start_revision=self.next_rev)
                with self._lock:
                    self._cancel = cancel
                if self._stop_evt.is_set():
                    cancel()
                self.connections.append((m.name, self.next_rev))
                for e in it:
                    rec = _ev(e)
                    self.events.append(rec)
                    self.next_rev = rec[3] + 1
                    if self.on_event:
                        self.on_event(rec)
                # the iterator ends only when cancelled
            except Exception as e:  # noqa: BLE001 - the member died: resume on the next one
                if len(self.errors) < 20:
                    self.errors.append("%s from rev %d: %s" % (m.name, self.next_rev, workload._err(e)))
                self.i = (self.i + 1) % len(self.members)
                if self.hold is not None and self.connections:
                    t = time.monotonic()
                    while not self._stop_evt.is_set() and not self.hold.is_set() and time.monotonic() - t < 30:
                        self.hold.wait(0.1)
                self._stop_evt.wait(0.1)
            finally:
                with self._lock:
                    self._cancel = None
                if cli is not None:
                    _close(cli)


class OpWriter(threading.Thread):
    """Runs ("put", key, value) / ("delete", key, None) ops one at a time through a
    failover client (3 s timeout each; next member after an error). log: one dict per
    op with status "ok" (rev = the event revision it made, or None for a delete that
    deleted nothing) or "indeterminate"."""

    def __init__(self, name, members, start, ops, stop, max_s=40.0, pause=0.02):
        super().__init__(daemon=True, name=name)
        self.fo = workload._Failover(members, start, _OP_TIMEOUT)
        self.ops = ops
        self.stop_evt = stop
        self.max_s = max_s
        self.pause = pause
        self.log = []

    def acked(self):
        return sum(1 for e in self.log if e["status"] == "ok")

    def run(self):
        deadline = time.monotonic() + self.max_s
        try:
            for kind, key, value in self.ops:
                if self.stop_evt.is_set() or time.monotonic() > deadline:
                    break
                entry = {"kind": kind, "key": key, "value": value, "member": self.fo.member.name}
                try:
                    cli = self.fo.get()
                    if kind == "put":
                        resp = cli.put(key, value)
                        entry.update(status="ok", rev=resp.header.revision)
                    else:
                        resp = cli.delete(key, return_response=True)
                        entry.update(status="ok", rev=resp.header.revision if resp.deleted else None)
                except Exception as e:  # noqa: BLE001 - outcome unknown
                    entry.update(status="indeterminate", rev=None, err=workload._err(e))
                    self.fo.rotate()
                    time.sleep(0.05)
                self.log.append(entry)
                if self.pause:
                    time.sleep(self.pause)
        finally:
            self.fo.close()


def _retry(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except Exception:  # noqa: BLE001
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _put_rev(member, key, value):
    """A put through `member`, retried while the cluster settles: (its revision, log
    entries for the writers' log: the failed attempts are indeterminate)."""
    log = []

    def do():
        cli = workload._client(member, _OP_TIMEOUT)
        try:
            rev = cli.put(key, value).header.revision
            log.append({"kind": "put", "key": key, "value": value, "status": "ok", "rev": rev})
            return rev
        except Exception:
            log.append({"kind": "put", "key": key, "value": value, "status": "indeterminate", "rev": None})
            raise
        finally:
            cli.close()
    return _retry(do), log


def _replay(member, prefix, start_rev, until_rev, timeout=10.0):
    """What a fresh watch_prefix(start_revision=start_rev) on `member` delivers up to
    until_rev (bounded)."""
    w = ResumingWatch([member], 0, prefix, start_rev, max_s=timeout + 5, name="replay-" + member.name)
    w.start()
    poll(lambda: w.last_rev() >= until_rev, timeout, 0.05)
    w.stop()
    w.join(5)
    return [e for e in w.events if e[3] <= until_rev], w


def _match_log(history, logs):
    """Explain every event of `history` by the writers' logs. Returns (missing acked
    ops, unexplained events, indeterminate ops found applied, indeterminate total)."""
    by_rev = {e[3]: e for e in history}
    used = set()
    missing = []
    for log in logs:
        for op in log:
            if op["status"] != "ok" or op["rev"] is None:
                continue
            e = by_rev.get(op["rev"])
            want_kind = "PUT" if op["kind"] == "put" else "DELETE"
            if e is None or e[0] != want_kind or e[1] != op["key"] or (want_kind == "PUT" and e[2] != op["value"]):
                missing.append((op["kind"], op["key"], op["value"], op["rev"], e))
            else:
                used.add(e[3])
    indet = [op for log in logs for op in log if op["status"] != "ok"]
    taken = set()
    unexplained = []
    applied = 0
    for e in history:
        if e[3] in used:
            continue
        hit = None
        for j, op in enumerate(indet):
            if j in taken:
                continue
            if e[0] == "PUT" and op["kind"] == "put" and op["key"] == e[1] and op["value"] == e[2]:
                hit = j
                break
            if e[0] == "DELETE" and op["kind"] == "delete" and op["key"] == e[1]:
                hit = j
                break
        if hit is None:
            unexplained.append(e)
        else:
            taken.add(hit)
            applied += 1
    return missing, unexplained, applied, len(indet)


def _kill_leader_during(ctx, c, tag, victim, progress, more=30):
    """kill -9 `victim` (the leader), a new leader among the others within the bound,
    `more` further acknowledged writes, then restart it with its original flags."""
    survivors = [m for m in c.members if m is not victim]
    before = progress()
    t = time.monotonic()
    victim.kill(signal.SIGKILL)
    new_leader, sts = c.leader(members=survivors, timeout=ELECTION_BOUND_S, exclude=victim)
    el = time.monotonic() - t
    ctx.require("%s: new leader within %.0f s of kill -9 of the leader %s" % (tag, ELECTION_BOUND_S, victim.name),
                new_leader is not None, "after %.1fs: %r" % (el, sts))
    ctx.runner.note("%s: killed %s, new leader %s after %.2fs" % (tag, victim.name, new_leader.name, el))
    target = progress() + more
    _, el2 = poll(lambda: progress() >= target, 15, 0.05)
    ctx.check("%s: writes continue after the kill (%d more acknowledged within 15 s)" % (tag, more),
              progress() >= target, "acked %d at the kill, %d now" % (before, progress()))
    victim.start()
    try:
        c.wait_healthy([victim], 30)
        err = ""
    except Exception as e:  # noqa: BLE001
        err = str(e)
    ctx.require("%s: %s restarts with its original flags" % (tag, victim.name), not err, err)
    return new_leader


def _check_watch(ctx, tag, c, w, victim, prefix, first_rev, end_rev, logs):
    """The common checks: the watcher resumed elsewhere, saw every event once in order,
    exactly what each member replays; the writers' logs explain the history."""
    got, el = poll(lambda: w.last_rev() >= end_rev, 15, 0.05)
    w.stop()
    w.join(5)
    ctx.check("%s: the watching client reaches the final revision %d (within 15 s)" % (tag, end_rev),
              w.last_rev() >= end_rev, "last seen %d; connections %r; errors %r" % (
                  w.last_rev(), w.connections, w.errors[:5]))
    ctx.check("%s: its stream on the killed leader broke and it resumed on another member from last+1" % tag,
              len(w.connections) >= 2 and w.connections[0][0] == victim.name
              and w.connections[-1][0] != victim.name,
              "connections (member, start revision) %r; errors %r" % (w.connections, w.errors[:5]),
              info="connections %r" % w.connections)
    seen = [e for e in w.events if e[3] <= end_rev]
    revs = [e[3] for e in w.events]
    ctx.check("%s: events in strictly increasing revision order (no duplicate)" % tag,
              all(a < b for a, b in zip(revs, revs[1:])),
              "revisions %r" % revs)
    histories = {}
    for m in c.members:
        histories[m.name], rw = _replay(m, prefix, first_rev, end_rev)
        ctx.check("%s: fresh watch_prefix(start_revision=%d) on %s replays up to %d" % (tag, first_rev, m.name, end_rev),
                  rw.last_rev() >= end_rev, "last %d; errors %r" % (rw.last_rev(), rw.errors[:3]))
    ref = histories[c.members[0].name]
    ctx.check("%s: the history under %s is the same on all 3 members (incl. the restarted one)" % (tag, prefix),
              all(h == ref for h in histories.values()),
              "\n".join("%s: %d events, first difference %r" % (
                  n, len(h), next(((a, b) for a, b in zip(h, ref) if a != b), None))
                        for n, h in histories.items()))
    diff = next((i for i, (a, b) in enumerate(zip(seen, ref)) if a != b), min(len(seen), len(ref)))
    ctx.check("%s: the client saw exactly the replayed history (%d events, none lost, none duplicated)"
              % (tag, len(ref)), seen == ref and len(ref) > 0,
              "client %d events, history %d; first difference at %d: client %r history %r" % (
                  len(seen), len(ref), diff, seen[diff:diff + 3], ref[diff:diff + 3]),
              info="%d events over %d connections" % (len(seen), len(w.connections)))
    missing, unexplained, applied, n_indet = _match_log(ref, logs)
    n_acked = sum(1 for log in logs for op in log if op["status"] == "ok")
    ctx.check("%s: every acknowledged write is in the history at its revision; every other event is an "
              "indeterminate write" % tag, not missing and not unexplained,
              "missing/wrong %r; unexplained %r" % (missing[:5], unexplained[:5]),
              info="%d acknowledged, %d indeterminate of which %d applied" % (n_acked, n_indet, applied))
    return seen


def _scenario_config(ctx, c):
    """Recipe 3: configuration manager with hot reload through a leader kill."""
    tag = "config"
    prefix = "/config/app/"
    leader, sts = c.leader(timeout=10)
    ctx.require("%s: a leader is elected" % tag, leader is not None, repr(sts))
    names = ["db_url", "pool_size", "log_level", "feature_x", "timeout_ms"]
    seed = {prefix + n: "initial-%s" % n for n in names}
    f = [m for m in c.members if m is not leader][0]
    for k, v in seed.items():
        _put_rev(f, k, v)  # before the watch's start revision
    # the manager: load with get_prefix (on the leader), then watch from its revision + 1
    cli = workload._client(leader, _OP_TIMEOUT)
    config = {}
    rev = 0
    for value, meta in cli.get_prefix(prefix):
        config[meta.key.decode()] = value.decode()
        rev = meta.response_header.revision
    cli.close()
    ctx.check("%s: get_prefix loads the initial config" % tag, config == seed and rev > 0,
              "%r at revision %d" % (config, rev))
    reloads = []

    def reload(e):  # hot reload: apply the change to the live config
        if e[0] == "PUT":
            config[e[1]] = e[2]
        else:
            config.pop(e[1], None)
        reloads.append(e)
    idx = c.members.index(leader)
    # the manager comes back only after the writes that follow the kill (a client
    # backing off): those it must get from the new member's history
    hold = threading.Event()
    w = ResumingWatch(c.members, idx, prefix, rev + 1, on_event=reload, name="config-manager", hold=hold)
    w.start()

    def ops():
        for i in range(100000):
            key = prefix + names[i % len(names)]
            if i % 11 == 10:
                yield ("delete", key, None)
            else:
                yield ("put", key, "v%d" % i)
    stop = threading.Event()
    # the operator's writes go through the leader first (indeterminate at the kill)
    wr = OpWriter("config-writer", c.members, idx, ops(), stop)
    wr.start()
    try:
        _, el = poll(lambda: wr.acked() >= 30, 15, 0.05)
        ctx.require("%s: updates running before the kill (>= 30 acknowledged)" % tag, wr.acked() >= 30,
                    "acked %d; log tail %r" % (wr.acked(), wr.log[-3:]))
        _kill_leader_during(ctx, c, tag, leader, wr.acked)
        missed_until = max(e["rev"] or 0 for e in wr.log)
        hold.set()
        target = wr.acked() + 20
        poll(lambda: wr.acked() >= target, 15, 0.05)
    finally:
        stop.set()
        wr.join(10)
    # a last change through a survivor marks the end of the history
    survivor = [m for m in c.members if m is not leader][0]
    end_rev, end_log = _put_rev(survivor, prefix + "version", "final")
    log = wr.log + end_log
    seen = _check_watch(ctx, tag, c, w, leader, prefix, rev + 1, end_rev, [log])
    resumed = w.connections[-1][1] if len(w.connections) >= 2 else None
    missed = [e for e in seen if resumed is not None and resumed <= e[3] <= missed_until]
    ctx.check("%s: on resuming, the manager got the >= 30 changes made while it was away" % tag,
              len(missed) >= 30, "resumed from %r; %d events in [%r, %d]" % (resumed, len(missed), resumed,
                                                                            missed_until),
              info="%d missed changes replayed from revision %r" % (len(missed), resumed))
    ctx.check("%s: one hot reload per change" % tag, len(reloads) == len(w.events) and reloads == w.events,
              "%d reloads, %d events" % (len(reloads), len(w.events)))
    rcli = workload._client(survivor, _OP_TIMEOUT)
    final = {m.key.decode(): v.decode() for v, m in _retry(lambda: list(rcli.get_prefix(prefix)))}
    rcli.close()
    ctx.check("%s: the hot-reloaded config equals get_prefix on the cluster at the end" % tag,
              config == final and config.get(prefix + "version") == "final",
              "manager %r\ncluster %r" % (config, final), info="%d keys after %d changes" % (len(final), len(seen)))


def _scenario_controller(ctx, c):
    """Recipe 4: Kubernetes-style controller (list + watch of /registry/pods/) through a
    leader kill."""
    tag = "controller"
    prefix = "/registry/pods/"
    leader, sts = c.leader(timeout=10)
    ctx.require("%s: a leader is elected" % tag, leader is not None, repr(sts))
    idx = c.members.index(leader)
    # list (empty) and watch from the list's revision + 1, as an informer does
    cli = workload._client(leader, _OP_TIMEOUT)
    resp = cli.get_prefix_response(prefix)
    rev = resp.header.revision
    cli.close()
    ctx.check("%s: list of %s is empty at the start" % (tag, prefix), resp.count == 0 and rev > 0, repr(resp))
    cache = {}
    per_pod = {}

    def handle(e):  # the controller's reconcile input
        if e[0] == "PUT":
            cache[e[1]] = e[2]
        else:
            cache.pop(e[1], None)
        per_pod.setdefault(e[1], []).append((e[0], e[2]))
    w = ResumingWatch(c.members, idx, prefix, rev + 1, on_event=handle, name="controller")
    w.start()

    def pod_ops(ns):
        for i in range(100000):
            key = "%s%s/pod-%04d" % (prefix, ns, i)
            yield ("put", key, '{"name":"pod-%04d","namespace":"%s","phase":"Pending"}' % (i, ns))
            yield ("put", key, '{"name":"pod-%04d","namespace":"%s","phase":"Running"}' % (i, ns))
            if i % 4 != 3:  # every fourth pod keeps running
                yield ("delete", key, None)
    stop = threading.Event()
    writers = [OpWriter("pods-default", c.members, idx, pod_ops("default"), stop),
               OpWriter("pods-kube-system", c.members, idx + 1, pod_ops("kube-system"), stop)]
    for t in writers:
        t.start()
    acked = lambda: sum(t.acked() for t in writers)  # noqa: E731
    try:
        _, el = poll(lambda: acked() >= 40, 15, 0.05)
        ctx.require("%s: pod churn running before the kill (>= 40 acknowledged)" % tag, acked() >= 40,
                    "acked %d" % acked())
        _kill_leader_during(ctx, c, tag, leader, acked)
        target = acked() + 30
        poll(lambda: acked() >= target, 15, 0.05)
    finally:
        stop.set()
        for t in writers:
            t.join(10)
    survivor = [m for m in c.members if m is not leader][0]
    marker = prefix + "default/zz-end-marker"
    end_rev, end_log = _put_rev(survivor, marker, "end")
    logs = [t.log for t in writers] + [end_log]
    seen = _check_watch(ctx, tag, c, w, leader, prefix, rev + 1, end_rev, logs)
    # per pod: the events are a subsequence of Put Pending, Put Running, Delete, in that order
    order = ["Pending", "Running", "DELETE"]
    bad = {}
    for key, evs in per_pod.items():
        if key == marker:
            continue
        steps = ["DELETE" if k == "DELETE" else ('Running' if '"Running"' in v else 'Pending') for k, v in evs]
        pos = [order.index(s) for s in steps]
        if not all(a < b for a, b in zip(pos, pos[1:])):
            bad[key] = steps
    ctx.check("%s: every pod's events are Put(Pending), Put(Running), Delete in that order" % tag,
              not bad and len(per_pod) > 10, "%d pods; out of order: %r" % (len(per_pod), dict(list(bad.items())[:5])),
              info="%d pods" % len(per_pod))
    rcli = workload._client(survivor, _OP_TIMEOUT)
    final = {m.key.decode(): v.decode() for v, m in _retry(lambda: list(rcli.get_prefix(prefix)))}
    rcli.close()
    ctx.check("%s: the controller's cache equals the pods listed at the end" % tag,
              cache == final and marker in final,
              "cache %d keys, list %d keys; only in cache %r; only in list %r" % (
                  len(cache), len(final), sorted(set(cache) - set(final))[:5], sorted(set(final) - set(cache))[:5]),
              info="%d pods running, %d events" % (len(final) - 1, len(seen)))


def scenario_watch_recipes(ctx):
    """python3-etcd3 watch recipes on 3 members, each through a kill -9 of the leader the
    watcher is connected to (resume on another member from last revision + 1):
    configuration manager (get_prefix + watch_prefix hot reload) and Kubernetes-style
    controller (/registry/pods/<ns>/<name> Put/Delete in order); the events seen equal
    the replayed history on every member."""
    c = ctx.cluster()
    _scenario_config(ctx, c)
    _scenario_controller(ctx, c)
