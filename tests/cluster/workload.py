"""Concurrent client workloads against a cluster, with python3-etcd3 (Debian's real
gRPC client). Every operation has a timeout; every loop is bounded in count and time.

RegisterClient: random put/get (linearizable reads) on a small key space, recording a
history for the linearizability checker (invoke/complete from time.monotonic();
failures and timeouts recorded as indeterminate). Written values are unique.

Writer: puts of unique keys; remembers which were acknowledged (they must all be
readable later, with their value) and which are indeterminate.

A client talks to one member; after an error it closes its channel and moves to the
next member (simple client-side failover), so the load continues when a member dies.
"""

import random
import threading
import time

from linearizability import Op


def _client(member, timeout):
    import etcd3
    c = member.cluster
    kw = {}
    if c.tls:
        import os
        kw = dict(ca_cert=os.path.join(c.tls, "ca.crt"), cert_key=os.path.join(c.tls, "client.key"),
                  cert_cert=os.path.join(c.tls, "client.crt"))
    return etcd3.client(host="127.0.0.1", port=member.client_port, timeout=timeout, **kw)


def _err(e):
    try:
        return "%s: %s" % (e.code().name, e.details())
    except Exception:  # noqa: BLE001
        return "%s: %s" % (type(e).__name__, str(e)[:200])


class _Failover:
    def __init__(self, members, start, timeout):
        self.members = list(members)
        self.i = start % len(self.members)
        self.timeout = timeout
        self.cli = None

    def get(self):
        if self.cli is None:
            self.cli = _client(self.members[self.i], self.timeout)
        return self.cli

    @property
    def member(self):
        return self.members[self.i]

    def rotate(self):
        self.close()
        self.i = (self.i + 1) % len(self.members)

    def close(self):
        if self.cli is not None:
            try:
                self.cli.close()
            except Exception:  # noqa: BLE001
                pass
            self.cli = None


class RegisterClient(threading.Thread):
    def __init__(self, cid, members, keys, history, stop, max_ops=400, max_s=60.0,
                 op_timeout=3.0, seed=None, p_put=0.5, pause=0.0):
        super().__init__(daemon=True, name="reg-%s" % cid)
        self.cid = cid
        self.fo = _Failover(members, cid, op_timeout)
        self.keys = list(keys)
        self.history = history          # shared list (append is atomic under the GIL)
        self.stop_evt = stop
        self.max_ops = max_ops
        self.max_s = max_s
        self.rng = random.Random(seed if seed is not None else cid)
        self.p_put = p_put
        self.pause = pause
        self.ok = 0
        self.errors = 0
        self.last_error = ""

    def run(self):
        deadline = time.monotonic() + self.max_s
        seq = 0
        try:
            for _ in range(self.max_ops):
                if self.stop_evt.is_set() or time.monotonic() > deadline:
                    break
                key = self.rng.choice(self.keys)
                is_put = self.rng.random() < self.p_put
                ep = self.fo.member.name
                try:
                    cli = self.fo.get()
                except Exception as e:  # noqa: BLE001
                    self.errors += 1
                    self.last_error = _err(e)
                    self.fo.rotate()
                    time.sleep(0.05)
                    continue
                if is_put:
                    seq += 1
                    val = "c%s-%d" % (self.cid, seq)
                    t = time.monotonic()
                    try:
                        cli.put(key, val)
                        self.history.append(Op(self.cid, "put", key, val, t, time.monotonic(), "ok", ep))
                        self.ok += 1
                    except Exception as e:  # noqa: BLE001 - any failure is indeterminate
                        self.history.append(Op(self.cid, "put", key, val, t, None, "info",
                                               ep + " " + _err(e)))
                        self.errors += 1
                        self.last_error = _err(e)
                        self.fo.rotate()
                        time.sleep(0.05)
                else:
                    t = time.monotonic()
                    try:
                        v, _meta = cli.get(key)
                        r = time.monotonic()
                        v = v.decode() if v is not None else None
                        self.history.append(Op(self.cid, "get", key, v, t, r, "ok", ep))
                        self.ok += 1
                    except Exception as e:  # noqa: BLE001
                        self.history.append(Op(self.cid, "get", key, None, t, None, "info",
                                               ep + " " + _err(e)))
                        self.errors += 1
                        self.last_error = _err(e)
                        self.fo.rotate()
                        time.sleep(0.05)
                if self.pause:
                    time.sleep(self.pause)
        finally:
            self.fo.close()


class Writer(threading.Thread):
    """`count` puts of unique keys prefix/w<wid>/<i>; acked: {key: value};
    indeterminate: {key: value}. progress: shared counter (list of one int)."""

    def __init__(self, wid, members, prefix, count, stop, max_s=90.0, op_timeout=3.0,
                 progress=None, pause=0.0):
        super().__init__(daemon=True, name="writer-%s" % wid)
        self.wid = wid
        self.fo = _Failover(members, wid, op_timeout)
        self.prefix = prefix
        self.count = count
        self.stop_evt = stop
        self.max_s = max_s
        self.acked = {}
        self.acked_rev = {}
        self.indeterminate = {}
        self.progress = progress
        self.pause = pause
        self.errors = []
        self._lock = threading.Lock()

    def run(self):
        deadline = time.monotonic() + self.max_s
        try:
            for i in range(self.count):
                if self.stop_evt.is_set() or time.monotonic() > deadline:
                    break
                key = "%s/w%d/%05d" % (self.prefix, self.wid, i)
                val = "v-%d-%d" % (self.wid, i)
                try:
                    resp = self.fo.get().put(key, val)
                    self.acked[key] = val
                    try:
                        self.acked_rev[key] = resp.header.revision
                    except AttributeError:
                        pass
                except Exception as e:  # noqa: BLE001
                    self.indeterminate[key] = val
                    if len(self.errors) < 20:
                        self.errors.append("%s %s: %s" % (key, self.fo.member.name, _err(e)))
                    self.fo.rotate()
                    time.sleep(0.05)
                if self.progress is not None:
                    with self._lock:
                        self.progress[0] += 1
                if self.pause:
                    time.sleep(self.pause)
        finally:
            self.fo.close()


def join_all(threads, timeout):
    """Join threads within a total time bound; returns names still running."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threads if t.is_alive()]
