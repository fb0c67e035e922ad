"""Differential Watch cases: etcdctl 3.4 `watch` (run in the background while other
steps write), raw gRPC Watch streams built from OUR protos (private descriptor pool,
see grpcutil.py), and Debian's python3-etcd3 watch iterators.

Both servers start fresh, so revisions line up and are compared exactly; only
cluster/member ids and raft terms are masked. Every background process is bounded by
a timeout and killed (process group) at the end of its step.

Timing: a watch is given WATCH_SETTLE seconds to be created before the writes start
(etcdctl prints nothing on creation), and output is collected until it has been
quiet for QUIET seconds (bounded by MAX_WAIT).
"""

import os
import queue
import re
import signal
import subprocess
import threading
import time

import harness
from framework import Check, Ctl, Group, Py, Step, _grpc_lib_text
from harness import etcdctl, norm_stderr

WATCH_SETTLE = 1.0
QUIET = 0.7
MAX_WAIT = 10.0
MASK = ("cluster_id", "member_id", "raft_term")


# ---------------------------------------------------------------------------
# etcdctl watch in the background

class CtlWatch(Step):
    """`etcdctl watch ARGS` in the background; `writes` (etcdctl arg lists) run after
    the watch is up; `stdin` lines are written first (watch -i) and stdin stays open.
    Output: the watch's exit status ("killed" when we had to stop it), stdout, stderr."""

    def __init__(self, name, args, writes=(), stdin=None, expect=(), rc=None):
        self.name = name
        self.args = list(args)
        self.writes = [list(w) for w in writes]
        self.stdin = stdin
        self.expect = tuple(expect)
        self.expect_rc = rc

    def describe(self):
        s = "etcdctl " + " ".join(self.args)
        if self.stdin:
            s += " <<< %r" % self.stdin
        return s + "  while: " + "; ".join(" ".join(w) for w in self.writes)

    def run(self, server):
        argv = [harness.ETCDCTL_BIN, "--endpoints=" + server.endpoint, "--dial-timeout=3s"] + self.args
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=harness._ctl_env(), start_new_session=True)
        out, err = [], []
        last = [time.monotonic()]

        def pump(f, acc):
            for chunk in iter(lambda: f.read1(4096), b""):
                acc.append(chunk)
                last[0] = time.monotonic()

        readers = [threading.Thread(target=pump, args=(p.stdout, out), daemon=True),
                   threading.Thread(target=pump, args=(p.stderr, err), daemon=True)]
        for t in readers:
            t.start()
        problems = []
        try:
            if self.stdin:
                p.stdin.write(self.stdin.encode())
                p.stdin.flush()
            time.sleep(WATCH_SETTLE)
            for w in self.writes:
                r = etcdctl(server.endpoint, w)
                if r.rc != 0:
                    problems.append("write %s failed: rc=%s %s" % (w, r.rc, r.err.strip()))
            done = time.monotonic()
            deadline = done + MAX_WAIT
            while time.monotonic() < deadline and p.poll() is None:
                now = time.monotonic()
                if now - last[0] >= QUIET and now - done >= QUIET:
                    break
                time.sleep(0.05)
            rc = p.poll()
            if rc is None:
                rc = "killed"
        finally:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                p.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            p.wait(timeout=10)
            for t in readers:
                t.join(timeout=5)
        stdout = re.sub(r'"(cluster_id|member_id|raft_term)":\d+', r'"\1":"<set>"',
                        b"".join(out).decode("utf-8", "replace").rstrip("\n"))
        text = "rc=%s\n--- stdout\n%s\n--- stderr\n%s%s" % (
            rc, stdout,
            norm_stderr(b"".join(err).decode("utf-8", "replace")),
            "".join("\n" + x for x in problems))
        return text, rc


def put(k, v):
    return ["put", k, v]


# ---------------------------------------------------------------------------
# raw gRPC Watch streams

class WatchSession:
    """One etcdserverpb.Watch stream plus a unary client for writes."""

    def __init__(self, server, paused=False, timeout=60):
        import grpcutil
        self.pb = grpcutil.pb
        self.client = grpcutil.Client(server.grpc_target)
        self.lines = []
        self._req = queue.Queue()
        self._resp = queue.Queue()
        method = self.client.channel.stream_stream(
            "/etcdserverpb.Watch/Watch",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.pb.WatchResponse.FromString)

        def requests():
            while True:
                r = self._req.get()
                if r is None:
                    return
                yield r

        self.call = method(requests(), timeout=timeout)

        self.reading = threading.Event()
        if not paused:
            self.reading.set()

        def read():
            try:
                self.reading.wait(timeout=120)
                for r in self.call:
                    self._resp.put(r)
            except Exception as e:  # noqa: BLE001 - cancellation at close, or a real error
                self._resp.put(e)

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()

    # requests
    def create(self, key, end=b"", **kw):
        self._req.put(self.pb.WatchRequest(create_request=self.pb.WatchCreateRequest(
            key=key, range_end=end, **kw)))

    def cancel(self, wid):
        self._req.put(self.pb.WatchRequest(cancel_request=self.pb.WatchCancelRequest(watch_id=wid)))

    def progress(self):
        self._req.put(self.pb.WatchRequest(progress_request=self.pb.WatchProgressRequest()))

    def put(self, k, v):
        st, r = self.client.call("KV", "Put", self.pb.PutRequest(key=k, value=v))
        assert st == "OK", r

    def delete(self, k, end=b""):
        st, r = self.client.call("KV", "DeleteRange", self.pb.DeleteRangeRequest(key=k, range_end=end))
        assert st == "OK", r

    def compact(self, rev):
        st, r = self.client.call("KV", "Compact", self.pb.CompactionRequest(revision=rev, physical=True))
        assert st == "OK", r

    # responses
    def drain(self, quiet=QUIET, max_wait=MAX_WAIT):
        """Responses until none arrived for `quiet` seconds."""
        got = []
        deadline = time.monotonic() + max_wait
        while time.monotonic() < deadline:
            try:
                r = self._resp.get(timeout=quiet)
            except queue.Empty:
                break
            got.append(r)
        return got

    def take(self, n, timeout=MAX_WAIT):
        """Exactly the next n responses (fewer if they do not come in time)."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            try:
                got.append(self._resp.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                break
        return got

    def take_events(self, n, timeout=MAX_WAIT, watch_id=None):
        """Responses until they carry n events (of `watch_id`, or of any watcher)
        or the timeout. A response may carry several revisions' events (both
        servers batch when a watcher is behind), so count events, not responses."""
        got = []
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < n and time.monotonic() < deadline:
            try:
                r = self._resp.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            got.append(r)
            if not isinstance(r, Exception) and (watch_id is None or r.watch_id == watch_id):
                seen += len(r.events)
        return got

    def log(self, title, resps=None, render=None, sort=False):
        """Renders drained responses into the step output. sort=True where the order
        across watchers is unspecified (etcd fans one event out in Go map order)."""
        if resps is None:
            resps = self.drain()
        self.lines.append("## " + title + (" (sorted)" if sort else ""))
        rendered = [(render or self.render)(r) for r in resps]
        self.lines.extend(sorted(rendered) if sort else rendered)

    def render(self, r):
        import grpcutil
        if isinstance(r, Exception):
            return "STREAM ERROR %s" % _rpc_error(r)
        return _grpc_lib_text(grpcutil.render("OK", r, mask_keys=MASK)).replace("\n", "")

    def close(self):
        self.reading.set()
        self._req.put(None)
        self.call.cancel()
        self._reader.join(timeout=5)
        self.client.close()


def _rpc_error(e):
    if hasattr(e, "code") and hasattr(e, "details"):
        try:
            return "%s: %s" % (e.code().name, e.details())
        except Exception:  # noqa: BLE001
            pass
    return repr(e)


class GrpcWatch(Step):
    """fn(session) drives a WatchSession; the output is everything it logged."""

    def __init__(self, name, fn, expect=()):
        self.name = name
        self.fn = fn
        self.expect = tuple(expect)

    def describe(self):
        return "grpc Watch stream: " + (self.fn.__doc__ or self.name).strip()

    def run(self, server):
        import grpcutil
        if grpcutil.pb is None:
            return "SETUP ERROR " + str(grpcutil.import_error), None
        s = WatchSession(server)
        try:
            extra = self.fn(s)
            if extra:
                s.lines.append(str(extra))
        except Exception as e:  # noqa: BLE001 - the failure text is the output
            s.lines.append("EXCEPTION %s: %s" % (type(e).__name__, _rpc_error(e)))
        finally:
            s.close()
        return "\n".join(s.lines), None


def g_two_watchers_cancel(s):
    """two watchers on one stream (key a, prefix b), events, cancel one, more events"""
    s.create(b"a")
    s.log("create a")
    s.create(b"b", b"c")
    s.log("create prefix b")
    s.put(b"a", b"1")
    s.put(b"b1", b"2")
    s.put(b"c", b"3")
    s.log("puts a, b1, c")
    s.cancel(0)
    s.log("cancel 0")
    s.put(b"a", b"4")
    s.put(b"b2", b"5")
    s.log("puts a, b2")
    s.cancel(42)
    s.log("cancel of an unknown id (etcd: no answer)")


def g_client_ids(s):
    """client-chosen watch_id, a duplicate of it, then auto ids skip the taken ones"""
    s.create(b"k", watch_id=7)
    s.log("create id 7")
    s.create(b"k", watch_id=7)
    s.log("create id 7 again")
    s.create(b"k", watch_id=1)
    s.log("create id 1")
    s.create(b"k")
    s.log("create auto (0)")
    s.create(b"k")
    s.log("create auto (2)")
    s.put(b"k", b"v")
    s.log("put k: one response per watcher", sort=True)


def g_empty_range(s):
    """range_end <= key is rejected with a canceled created response; from-key is not"""
    s.create(b"b", b"a")
    s.log("create [b, a)")
    s.create(b"b", b"b")
    s.log("create [b, b)")
    s.create(b"b", b"\0")
    s.log("create from b")
    s.put(b"z", b"1")
    s.log("put z")


def g_filters(s):
    """NOPUT and NODELETE filters"""
    s.create(b"f", filters=[s.pb.WatchCreateRequest.NOPUT])
    s.log("create NOPUT")
    s.create(b"f", filters=[s.pb.WatchCreateRequest.NODELETE])
    s.log("create NODELETE")
    s.create(b"f", filters=[s.pb.WatchCreateRequest.NOPUT, s.pb.WatchCreateRequest.NODELETE])
    s.log("create NOPUT+NODELETE")
    s.put(b"f", b"1")
    s.delete(b"f")
    s.put(b"f", b"2")
    s.log("put, del, put")


def g_prev_kv_and_history(s):
    """prev_kv live and replayed; start_revision in the past then live"""
    s.put(b"p", b"1")
    s.put(b"p", b"2")
    s.delete(b"p")
    s.create(b"p", prev_kv=True)
    s.log("create prev_kv")
    s.put(b"p", b"3")
    s.put(b"p", b"4")
    s.delete(b"p")
    s.log("put, put, del")
    s.create(b"p", start_revision=2, prev_kv=True)
    s.log("create from rev 2 with prev_kv (history)")
    s.put(b"p", b"5")
    s.log("live put after history: one response per watcher", sort=True)


def g_progress_request(s):
    """ProgressRequest answers with watch_id -1 and the current revision"""
    s.put(b"x", b"1")
    s.create(b"x")
    s.log("create")
    s.progress()
    s.log("progress request")
    s.put(b"x", b"2")
    s.progress()
    s.log("put, progress request")


def g_half_close(s):
    """the client half-closes after its create: events keep coming until the call ends"""
    s.create(b"hc")
    s.log("create")
    s._req.put(None)  # ends the request iterator: the client's side is closed
    time.sleep(0.3)
    s.put(b"hc", b"1")
    s.put(b"hc", b"2")
    s.log("puts after the half-close")


def g_compacted(s):
    """start_revision below the compaction: created, then canceled with compact_revision"""
    for i in range(5):
        s.put(b"c", b"%d" % i)
    s.compact(4)
    s.create(b"c", start_revision=2)
    s.log("create from 2 after compact 4")
    s.create(b"c", start_revision=4)
    s.log("create from 4 (the compact revision itself)")
    s.put(b"c", b"live")
    s.log("put")


def g_compacted_id_kept(s):
    """a client-chosen id whose watch was cancelled for compaction: cancel it, reuse it"""
    for i in range(5):
        s.put(b"ck", b"%d" % i)
    s.compact(4)
    s.create(b"ck", start_revision=2, watch_id=7)
    s.log("create id 7 from 2 after compact 4")
    s.create(b"ck", watch_id=7)
    s.log("create id 7 again")
    s.cancel(7)
    s.log("cancel 7")
    s.create(b"ck", watch_id=7)
    s.log("create id 7 after the cancel")


def g_created_header(s):
    """the created response carries the current revision; events start after it"""
    s.put(b"h", b"1")
    s.put(b"other", b"1")
    s.create(b"h")
    s.log("create")
    s.put(b"h", b"2")
    s.log("put")


BIG = 100 * 1024
N_BIG = 25


def _fragment_render(resps):
    lines = []
    evs = []
    flags = []
    sizes = []
    for r in resps:
        if isinstance(r, Exception):
            lines.append("STREAM ERROR %s" % _rpc_error(r))
            continue
        if r.created:
            lines.append("created watch_id=%d rev=%d" % (r.watch_id, r.header.revision))
            continue
        flags.append(r.fragment)
        sizes.append(len(r.events))
        for e in r.events:
            evs.append("%s %s mod=%d len=%d" % (e.type, e.kv.key.decode(), e.kv.mod_revision,
                                                len(e.kv.value)))
    lines.append("events (concatenated): %d" % len(evs))
    lines.extend(evs)
    lines.append("responses: %d, with fragment=true: %d, last fragment flag: %s" % (
        len(flags), sum(flags), flags[-1] if flags else None))
    lines.append("events per response: %s" % sizes)
    return lines


def g_fragment(s):
    """25 values of 100 KiB replayed in one response: with fragment=true it is split
    (etcd's threshold: --max-request-bytes + 512 KiB gRPC overhead); without, one message"""
    for i in range(N_BIG):
        s.put(b"big/%02d" % i, bytes([65 + i % 26]) * BIG)
    s.create(b"big/", b"big0", start_revision=2, fragment=True)
    s.lines.append("## fragment=true")
    s.lines.extend(_fragment_render(s.drain()))
    s.create(b"big/", b"big0", start_revision=2)
    s.lines.append("## fragment=false")
    s.lines.extend(_fragment_render(s.drain()))


def g_progress_notify(s):
    """progress_notify: idle watchers get empty responses at the configured interval"""
    s.put(b"pn", b"1")
    s.create(b"pn", progress_notify=True)
    s.log("create progress_notify", s.take(1))
    s.create(b"other")
    s.log("create without progress_notify", s.take(1))
    s.create(b"pn2", progress_notify=True)  # each idle watcher gets its own
    s.log("second progress_notify watcher", s.take(1))
    got = s.drain(quiet=2.5, max_wait=2.6)
    s.lines.append("## idle 2.5s")
    prog = [r for r in got if not isinstance(r, Exception) and not r.events]
    ids = sorted(set(r.watch_id for r in prog))
    s.lines.append("progress responses: %s, watch ids: %s, revisions: %s" % (
        "none" if not prog else ">=1", ids, sorted(set(r.header.revision for r in prog))))


def g_progress_notify_busy_stream(s):
    """progress_notify is per watcher: a quiet watcher gets progress while another
    watcher of its stream receives events all the time (puts back to back, 2.5 s)"""
    s.create(b"hot")
    s.create(b"quiet", progress_notify=True)
    s.take(2)
    got = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        for _ in range(20):
            s.put(b"hot", b"x")
        got.extend(s.drain(quiet=0.001, max_wait=0.01))
    got.extend(s.drain(quiet=0.3, max_wait=1))
    ok = [r for r in got if not isinstance(r, Exception)]
    quiet = [r for r in ok if r.watch_id == 1 and not r.events]
    hot = [r for r in ok if r.watch_id == 0 and r.events]
    s.lines.append("hot watcher got events: %s" % ("yes" if hot else "no"))
    s.lines.append("quiet watcher progress responses: %s" % ("none" if not quiet else ">=1"))


MANY_WATCHERS = 100
MANY_PUTS = 10


def g_many_watchers_one_stream(s):
    """100 watchers of one key on one stream, 10 puts about 10 ms apart: each put
    reaches each watcher in a response of its own (etcd sends events at once while
    it keeps up; a server holding a stream's events back to merge revisions would
    merge them here, and delay every event by its window)"""
    for _ in range(MANY_WATCHERS):
        s.create(b"mw")
    created = s.take(MANY_WATCHERS)
    s.lines.append("created: %d" % sum(
        1 for r in created if not isinstance(r, Exception) and r.created))
    for i in range(MANY_PUTS):
        s.put(b"mw", b"%d" % i)
        time.sleep(0.01)
    got = s.take_events(MANY_WATCHERS * MANY_PUTS)
    errors = [r for r in got if isinstance(r, Exception)]
    ev = [r for r in got if not isinstance(r, Exception) and r.events]
    s.lines.append("events: %d in %d responses; events per response: %s; errors: %d" % (
        sum(len(r.events) for r in ev), len(ev), sorted(set(len(r.events) for r in ev)),
        len(errors)))


CONCURRENT_PUTS = 20


def g_concurrent_puts(s):
    """20 clients put one key at once, so several puts commit in one raft batch:
    a synced watcher still gets one response per revision, headed by that revision
    (etcd notifies watchers per write txn)"""
    import grpcutil
    s.create(b"cp")
    created = s.take(1)
    s.lines.append("created: %d" % sum(1 for r in created if not isinstance(r, Exception) and r.created))
    clients = [grpcutil.Client(s.client.target) for _ in range(CONCURRENT_PUTS)]
    start = threading.Barrier(CONCURRENT_PUTS)
    failures = []

    def one(i):
        try:
            start.wait(timeout=10)
            st, r = clients[i].call("KV", "Put", s.pb.PutRequest(key=b"cp", value=b"%d" % i))
            if st != "OK":
                failures.append(st)
        except Exception as e:  # noqa: BLE001
            failures.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CONCURRENT_PUTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    for c in clients:
        c.close()
    got = s.take_events(CONCURRENT_PUTS)
    ev = [r for r in got if not isinstance(r, Exception) and r.events]
    one_rev = all(len({e.kv.mod_revision for e in r.events}) == 1 and
                  r.header.revision == r.events[0].kv.mod_revision for r in ev)
    s.lines.append("put failures: %d" % len(failures))
    s.lines.append("events: %d in %d responses; each response one revision, in its header: %s" % (
        sum(len(r.events) for r in ev), len(ev), one_rev))


SLOW_EVENTS = 1500
SLOW_VALUE = 8192


class SlowConsumer(Step):
    """A stream that stops reading while 1500 x 8 KiB events are written (gRPC flow
    control backs up into the server's queue, so the watcher is parked and replayed);
    when it reads again it must get every event once, in order; writes never stall."""

    def __init__(self, name, expect=()):
        self.name = name
        self.expect = tuple(expect)

    def describe(self):
        return self.__doc__.strip()

    def run(self, server):
        s = WatchSession(server, paused=True, timeout=240)
        try:
            # Start at the next revision explicitly: the paused stream cannot
            # wait for "created", so the first put may reach the server before
            # the create request (a start_revision of 0 would then skip it).
            st, rr = s.client.call("KV", "Range", s.pb.RangeRequest(key=b"slow/"))
            if st != "OK":
                return "RANGE ERROR %s" % st, None
            s.create(b"slow/", b"slow0", start_revision=rr.header.revision + 1)
            val = b"x" * SLOW_VALUE
            t0 = time.monotonic()
            for i in range(SLOW_EVENTS):
                s.put(b"slow/%d" % (i % 7), val)
            write_secs = time.monotonic() - t0
            s.reading.set()
            revs = []
            created = 0
            deadline = time.monotonic() + 60
            while len(revs) < SLOW_EVENTS and time.monotonic() < deadline:
                need = SLOW_EVENTS - len(revs)
                for r in s.take_events(need, timeout=max(0.1, deadline - time.monotonic())):
                    if isinstance(r, Exception):
                        return "STREAM ERROR %s" % _rpc_error(r), None
                    created += r.created
                    revs.extend(e.kv.mod_revision for e in r.events)
            s.put(b"slow/after", b"1")
            after = [e.kv.mod_revision for r in s.take(1, timeout=10) if not isinstance(r, Exception)
                     for e in r.events]
            print("  slow consumer [%s]: %d puts in %.1fs while the stream was not read"
                  % (server.kind, SLOW_EVENTS, write_secs), flush=True)
            lines = ["created: %d" % created,
                     "events: %d, first rev %s, last rev %s" % (len(revs), revs[0] if revs else None,
                                                              revs[-1] if revs else None),
                     "in order without gaps or duplicates: %s" % (
                         revs == list(range(revs[0], revs[0] + len(revs))) if revs else False),
                     "next live event: %s" % after]
            return "\n".join(lines), None
        finally:
            s.close()


PROGRESS_HISTORY = 3000


def progress_after_replay_check(server):
    """A ProgressRequest sent while the stream's watcher still replays 3,000 revisions
    of history (the client not reading) is answered after every replayed event, at the
    last event's revision, as etcd 3.5.8+ defers it; etcd 3.4 answers at once with the
    current revision, ahead of the events, so it is no oracle here"""
    s = WatchSession(server, paused=True, timeout=120)
    try:
        st, rr = s.client.call("KV", "Range", s.pb.RangeRequest(key=b"ph/"))
        if st != "OK":
            return "RANGE ERROR %s" % st
        start = rr.header.revision + 1
        for i in range(PROGRESS_HISTORY):
            s.put(b"ph/%d" % (i % 10), b"v%d" % i)
        s.create(b"ph/", b"ph0", start_revision=start)
        s.progress()
        time.sleep(0.5)  # both requests are read while the watcher is far behind
        s.reading.set()
        resps = s.drain(quiet=1.0, max_wait=60)
        events, last_rev, progress, before, errors = 0, None, [], None, 0
        for r in resps:
            if isinstance(r, Exception):
                errors += 1
                continue
            if r.events:
                events += len(r.events)
                last_rev = r.events[-1].kv.mod_revision
            elif r.watch_id == -1 and not r.created and not r.canceled:
                progress.append(r.header.revision)
                if before is None:
                    before = (events, last_rev)
        lines = ["events: %d; errors: %d" % (events, errors),
                 "progress responses: %d" % len(progress)]
        if progress:
            lines.append("events before the progress response: %d" % before[0])
            lines.append("progress revision is the last event's: %s" % (progress[0] == before[1]))
        return "\n".join(lines)
    finally:
        s.close()


RACE_WATCHERS = 100
RACE_EVENTS = 3


def created_race_check(server):
    """100 watchers (start_revision 0), one after another, on a key written at every
    revision by a concurrent writer: each watcher's first event is at most its created
    header revision + 1 (no silent gap after `created`) and its first 3 events are
    contiguous revisions; then it is cancelled (so the client is never the bottleneck)"""
    import grpcutil
    pb = grpcutil.pb
    stop = threading.Event()
    writer = grpcutil.Client(server.grpc_target)

    def write():
        n = 0
        while not stop.is_set():
            st, _ = writer.call("KV", "Put", pb.PutRequest(key=b"race", value=b"%d" % n))
            if st != "OK":
                return
            n += 1

    t = threading.Thread(target=write, daemon=True)
    s = WatchSession(server, timeout=180)
    created = {}
    events = {}
    canceled = set()

    def absorb(r):
        if isinstance(r, Exception):
            raise r
        if r.created:
            created[r.watch_id] = r.header.revision
        elif r.canceled:
            canceled.add(r.watch_id)
        for e in r.events:
            events.setdefault(r.watch_id, []).append(e.kv.mod_revision)

    try:
        t.start()
        time.sleep(0.3)
        for i in range(RACE_WATCHERS):
            s.create(b"race")
            deadline = time.monotonic() + 10
            while len(events.get(i, ())) < RACE_EVENTS and time.monotonic() < deadline:
                for r in s.take(1, timeout=1):
                    absorb(r)
            s.cancel(i)
            while i not in canceled and time.monotonic() < deadline:
                for r in s.take(1, timeout=1):
                    absorb(r)
    finally:
        stop.set()
        t.join(timeout=10)
        writer.close()
        s.close()
    late = [w for w, rev in created.items() if not events.get(w) or events[w][0] > rev + 1]
    gaps = [w for w, revs in events.items() if revs != list(range(revs[0], revs[0] + len(revs)))]
    return "created %d watchers; first event after created revision + 1: %s; with gaps: %s" % (
        len(created), sorted(late), sorted(gaps))


def _vmrss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


SCALE_STREAMS = 100
SCALE_PER_STREAM = 100
SCALE_PUTS = 8


def scale_check(server):
    """10,000 watchers over 100 streams (4 keys + prefix watchers) all receive every event
    of a burst; prints the server's VmRSS growth per watcher (not compared)"""
    rss0 = _vmrss_kb(server.proc.pid)
    sessions = [WatchSession(server) for _ in range(SCALE_STREAMS)]
    try:
        for s in sessions:
            for i in range(SCALE_PER_STREAM):
                if i % 10 == 9:
                    s.create(b"s/", b"s0")
                else:
                    s.create(b"s/%d" % (i % 4))
        created = sum(1 for s in sessions for r in s.take(SCALE_PER_STREAM, timeout=30)
                      if not isinstance(r, Exception) and r.created and not r.canceled)
        rss1 = _vmrss_kb(server.proc.pid)
        for j in range(SCALE_PUTS):
            sessions[0].put(b"s/%d" % (j % 4), b"v%d" % j)
        want = {}
        for i in range(SCALE_PER_STREAM):
            want[i] = SCALE_PUTS if i % 10 == 9 else SCALE_PUTS // 4
        total_want = sum(want.values())
        ok = 0
        for s in sessions:
            got = {}
            deadline = time.monotonic() + 60
            n = 0
            while n < total_want and time.monotonic() < deadline:
                for r in s.take_events(total_want - n,
                                       timeout=max(0.1, deadline - time.monotonic())):
                    if isinstance(r, Exception):
                        continue
                    got[r.watch_id] = got.get(r.watch_id, 0) + len(r.events)
                    n += len(r.events)
            ok += sum(1 for i in range(SCALE_PER_STREAM) if got.get(i, 0) == want[i])
        extra = sum(len(s.drain(quiet=0.3, max_wait=2)) for s in sessions)
        print("  watch scale [%s]: VmRSS %d -> %d kB with %d watchers on %d streams: %.0f B/watcher"
              % (server.kind, rss0, rss1, created, SCALE_STREAMS,
                 (rss1 - rss0) * 1024.0 / max(1, created)), flush=True)
        return "created %d watchers; %d of them got exactly their events; %d extra responses" % (
            created, ok, extra)
    finally:
        for s in sessions:
            s.close()


# ---------------------------------------------------------------------------
# python3-etcd3

def _ev(e):
    return "%s %s=%s mod=%d" % (type(e).__name__, e.key.decode(), e.value.decode(), e.mod_revision)


def _collect(it, cancel, n, timeout=10.0):
    timer = threading.Timer(timeout, cancel)
    timer.start()
    out = []
    try:
        for e in it:
            out.append(_ev(e))
            if len(out) >= n:
                break
    finally:
        timer.cancel()
        cancel()
    return out


def py_k8s_controller(c):
    """Kubernetes-style: watch_prefix('/registry/pods/') sees pod puts/deletes in order"""
    it, cancel = c.watch_prefix("/registry/pods/")
    c.put("/registry/pods/default/web-1", "Pending")
    c.put("/registry/pods/default/web-2", "Pending")
    c.put("/registry/pods/kube-system/dns-1", "Running")
    c.put("/registry/pods/default/web-1", "Running")
    c.put("/registry/services/default/web", "ignored")
    c.delete("/registry/pods/default/web-2")
    c.delete_prefix("/registry/pods/kube-system/")
    return "\n".join(_collect(it, cancel, 6))


def py_config_reload(c):
    """config manager: get_prefix loads, watch_prefix from the next revision hot-reloads"""
    c.put("/config/app/timeout", "5")
    c.put("/config/app/retries", "3")
    cfg = {}
    rev = 0
    for v, m in c.get_prefix("/config/app/"):
        cfg[m.key.decode()] = v.decode()
        rev = max(rev, m.mod_revision)
    lines = ["loaded %s" % sorted(cfg.items())]
    c.put("/config/app/timeout", "10")  # written between load and watch: must not be lost
    it, cancel = c.watch_prefix("/config/app/", start_revision=rev + 1)
    c.delete("/config/app/retries")
    c.put("/config/app/mode", "fast")
    import etcd3
    for line, e in zip(range(3), _events(it, cancel, 3)):
        if isinstance(e, etcd3.events.DeleteEvent):
            cfg.pop(e.key.decode(), None)
        else:
            cfg[e.key.decode()] = e.value.decode()
        lines.append("%s -> %s" % (_ev(e), sorted(cfg.items())))
    return "\n".join(lines)


def _events(it, cancel, n, timeout=10.0):
    timer = threading.Timer(timeout, cancel)
    timer.start()
    out = []
    try:
        for e in it:
            out.append(e)
            if len(out) >= n:
                break
    finally:
        timer.cancel()
        cancel()
    return out


def py_watch_once(c):
    """watch_once on a key returns the next event"""
    def later():
        time.sleep(WATCH_SETTLE)
        c.put("once", "1")
    t = threading.Thread(target=later)
    t.start()
    try:
        e = c.watch_once("once", timeout=8)
        return _ev(e)
    finally:
        t.join()


# ---------------------------------------------------------------------------

def _quorum_only(step):
    step.quorum_only = True
    return step


GROUPS = [
    Group("watch_etcdctl", [
        Ctl("seed", ["put", "k", "v0"], expect=["OK"]),
        CtlWatch("watch_key", ["watch", "k"],
                 writes=[put("k", "v1"), put("other", "x"), put("k", "v2"), ["del", "k"]],
                 expect=["PUT", "k", "v1", "v2", "DELETE"]),
        CtlWatch("watch_prefix", ["watch", "--prefix", "/svc/"],
                 writes=[put("/svc/a", "1"), put("/svcx", "no"), put("/svc/b/c", "2"),
                         ["del", "--prefix", "/svc/"]]),
        CtlWatch("watch_range", ["watch", "a", "c"],
                 writes=[put("a", "1"), put("b", "2"), put("c", "3")]),
        CtlWatch("watch_rev_history", ["watch", "--rev", "2", "k"], writes=[put("k", "v3")],
                 expect=["v0", "v1", "v2", "v3"]),
        CtlWatch("watch_prev_kv", ["watch", "--prev-kv", "k"],
                 writes=[put("k", "v4"), put("k", "v5"), ["del", "k"]]),
        CtlWatch("watch_rev_prefix_prev_kv", ["watch", "--rev", "3", "--prefix", "--prev-kv", ""]),
        CtlWatch("watch_json", ["watch", "-w", "json", "--rev", "7", "k"], writes=[put("k", "j")],
                 ),
        CtlWatch("watch_interactive", ["watch", "-i"], stdin="watch k\nwatch --prefix /svc/\n",
                 writes=[put("k", "i1"), put("/svc/z", "i2")]),
        CtlWatch("watch_then_del_prefix", ["watch", "--prefix", "d/"],
                 writes=[put("d/1", "a"), put("d/2", "b"), ["del", "--prefix", "d/"]]),
        Ctl("compact", ["compaction", "6"]),
        CtlWatch("watch_compacted_rev", ["watch", "--rev", "2", "k"]),
        # Revision 6 is the delete of k, and the compaction revision. etcd 3.4.23
        # (Debian's) drops that delete from the history (etcd issue #18089, fixed in
        # etcd 3.4.34 and 3.5.15), so it cannot be the oracle here; Quorum keeps it,
        # as fixed etcd does. From revision 7 on, both are compared.
        _quorum_only(CtlWatch("watch_at_compact_rev", ["watch", "--rev", "6", "--prefix", ""],
                              expect=["DELETE", "k"])),
        CtlWatch("watch_after_compact_rev", ["watch", "--rev", "7", "--prefix", ""]),
    ], doc="etcdctl watch: key, prefix, range, --rev, --prev-kv, -i, compaction"),
    Group("watch_grpc", [
        GrpcWatch("two_watchers_cancel", g_two_watchers_cancel),
        GrpcWatch("client_ids", g_client_ids),
        GrpcWatch("empty_range", g_empty_range),
        GrpcWatch("filters", g_filters),
        GrpcWatch("prev_kv_history", g_prev_kv_and_history),
        GrpcWatch("progress_request", g_progress_request),
        GrpcWatch("compacted", g_compacted),
        GrpcWatch("compacted_id_kept", g_compacted_id_kept),
        GrpcWatch("half_close", g_half_close),
        GrpcWatch("created_header", g_created_header),
        GrpcWatch("many_watchers_one_stream", g_many_watchers_one_stream,
                  expect=["events: 1000 in 1000 responses; events per response: [1]; errors: 0"]),
    ], doc="raw gRPC Watch streams"),
    Group("watch_grpc_fragment", [
        GrpcWatch("fragment", g_fragment, expect=["events (concatenated): 25"]),
    ], doc="fragment of large responses"),
    Group("watch_grpc_progress", [
        GrpcWatch("progress_notify", g_progress_notify),
        GrpcWatch("progress_notify_busy_stream", g_progress_notify_busy_stream,
                  expect=["hot watcher got events: yes", "quiet watcher progress responses: >=1"]),
        GrpcWatch("concurrent_puts", g_concurrent_puts,
                  expect=["events: 20 in 20 responses; each response one revision, in its header: True"]),
    ], doc="progress_notify", extra_args=["--experimental-watch-progress-notify-interval", "500ms"]),
    Group("watch_progress_deferred", [
        _quorum_only(Check("progress_after_replay", progress_after_replay_check,
                           expect=["events: 3000; errors: 0", "progress responses: 1",
                                   "events before the progress response: 3000",
                                   "progress revision is the last event's: True"])),
    ], doc="a ProgressRequest waits for the stream's watchers to catch up (etcd 3.5.8+)"),
    Group("watch_slow_consumer", [
        SlowConsumer("slow_consumer", expect=["in order without gaps or duplicates: True",
                                              "events: 1500, first rev 2, last rev 1501"]),
    ], doc="a stream that stops reading is parked, not blocking writes, then catches up"),
    Group("watch_created_race", [
        Check("created_vs_concurrent_writes", created_race_check,
              expect=["created 100 watchers; first event after created revision + 1: []; "
                      "with gaps: []"]),
    ], doc="created header revision vs. a concurrent writer"),
    Group("watch_scale", [
        Check("10k_watchers", scale_check,
              expect=["created 10000 watchers; 10000 of them got exactly their events; "
                      "0 extra responses"]),
    ], doc="10,000 watchers on 100 streams"),
    Group("watch_python", [
        Py("k8s_controller", py_k8s_controller),
        Py("config_reload", py_config_reload),
        Py("watch_once", py_watch_once),
    ], doc="python3-etcd3 watch recipes"),
]
