"""Multi-member clusters of real `etcd` / `quorum` processes on 127.0.0.1.

Reuses tests/e2e/harness.py: free-port picking, etcdctl invocation, the etcd
unsupported-arch switch, and its process table (every member started here is put in
harness._LIVE, so harness's atexit/SIGTERM/SIGINT handlers kill it). Every wait is
bounded; members are killed by pid only.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "e2e"))

import harness  # noqa: E402  (tests/e2e/harness.py)
from harness import free_port, tcp_ready  # noqa: E402,F401

KEEP_DIRS = os.environ.get("CLUSTER_KEEP") == "1" or harness.KEEP_DIRS


class ClusterError(Exception):
    pass


def pick_ports(n, taken=()):
    """n distinct free 127.0.0.1 ports (not in `taken`)."""
    ports = []
    seen = set(taken)
    for _ in range(n * 50):
        p = free_port()
        if p not in seen:
            seen.add(p)
            ports.append(p)
            if len(ports) == n:
                return ports
    raise ClusterError("could not find %d free ports" % n)


class Member:
    """One member process. Its flags are fixed at creation and reused by restart()
    (same --initial-cluster-state as originally: a restarted member must ignore the
    --initial-* flags and use its data dir)."""

    def __init__(self, cluster, name, client_port, peer_port, initial_cluster, state):
        self.cluster = cluster
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.initial_cluster = initial_cluster
        self.state = state
        self.data_dir = os.path.join(cluster.tmp, name + ".data")
        self.log_path = os.path.join(cluster.tmp, name + ".log")
        self.proc = None
        self._log = None
        self.starts = 0
        self.id = None  # member id (int) once known

    # -- urls
    @property
    def scheme(self):
        return "https" if self.cluster.tls else "http"

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.client_port)

    @property
    def peer_url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.peer_port)

    def args(self):
        c = self.cluster
        a = [c.binary, "--name", self.name, "--data-dir", self.data_dir,
             "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
             "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
             "--initial-cluster", self.initial_cluster,
             "--initial-cluster-state", self.state,
             "--initial-cluster-token", c.token]
        if c.tls:
            d = c.tls
            a += ["--cert-file", os.path.join(d, "server.crt"), "--key-file", os.path.join(d, "server.key"),
                  "--trusted-ca-file", os.path.join(d, "ca.crt"), "--client-cert-auth",
                  "--peer-cert-file", os.path.join(d, "peer.crt"), "--peer-key-file", os.path.join(d, "peer.key"),
                  "--peer-trusted-ca-file", os.path.join(d, "ca.crt"), "--peer-client-cert-auth"]
        return a + list(c.extra_args)

    def start(self):
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("ETCD_") or k.startswith("ETCDCTL_"))}
        if self.cluster.kind == "etcd":
            arch = harness._etcd_unsupported_arch()
            if arch:
                env["ETCD_UNSUPPORTED_ARCH"] = arch
        args = self.args()
        self.starts += 1
        self._log = open(self.log_path, "ab")
        self._log.write(("==== cluster harness: start #%d at %.3f: %s\n"
                         % (self.starts, time.monotonic(), " ".join(args))).encode())
        self._log.flush()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.cluster.tmp,
                                     start_new_session=True)
        harness._LIVE[self.proc.pid] = self
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL, grace=10.0):
        """Signal our own process by pid; SIGKILL after `grace` s. Returns exit status."""
        rc = None
        if self.proc is not None:
            pid = self.proc.pid
            if self.proc.poll() is None:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    rc = self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    rc = "killed-after-timeout"
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    try:
                        self.proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
            else:
                rc = self.proc.returncode
            harness._LIVE.pop(pid, None)
        if self._log:
            self._log.close()
            self._log = None
        return rc

    def stop(self, grace=5.0):  # harness._kill_all() calls this at exit
        return self.kill(signal.SIGTERM, grace)

    def log_tail(self, n=25):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def ctl(self, args, timeout=20.0, stdin=None):
        return self.cluster.ctl(args, endpoints=[self], timeout=timeout, stdin=stdin)

    def healthy(self):
        if not self.alive() or not tcp_ready(self.client_port):
            return False
        r = self.ctl(["endpoint", "health"], timeout=8)
        return r.rc == 0 and "is healthy" in (r.out + r.err)

    def status(self):
        """`endpoint status -w json` of this member alone: the Status dict or None."""
        r = self.ctl(["endpoint", "status", "-w", "json"], timeout=8)
        if r.rc != 0:
            return None
        try:
            arr = json.loads(r.out)
            return arr[0]["Status"]
        except (ValueError, KeyError, IndexError, TypeError):
            return None

    def __repr__(self):
        return "%s(%s)" % (self.name, self.endpoint)


class Cluster:
    """N members named m1..mN with fresh ports (client and peer) and data dirs."""

    def __init__(self, kind, binary, size=3, tls=None, extra_args=(), label="cluster"):
        assert kind in ("etcd", "quorum")
        self.kind = kind
        self.binary = binary
        self.size = size
        self.tls = tls  # dir made by scripts/gen-certs.sh, or None
        self.extra_args = list(extra_args)
        self.tmp = tempfile.mkdtemp(prefix="quorum-cluster-%s-%s-" % (kind, label))
        self.token = "tok-%s-%d" % (label, os.getpid())
        self.members = []
        self.removed = []
        ports = pick_ports(2 * size)
        clients, peers = ports[:size], ports[size:]
        ic = ",".join("m%d=%s://127.0.0.1:%d" % (i + 1, self.scheme, peers[i]) for i in range(size))
        for i in range(size):
            self.members.append(Member(self, "m%d" % (i + 1), clients[i], peers[i], ic, "new"))

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def tls_args(self, client_cert=True):
        if not self.tls:
            return []
        a = ["--cacert", os.path.join(self.tls, "ca.crt")]
        if client_cert:
            a += ["--cert", os.path.join(self.tls, "client.crt"), "--key", os.path.join(self.tls, "client.key")]
        return a

    def endpoints(self, members=None):
        return ",".join(m.endpoint for m in (members if members is not None else self.members))

    def ctl(self, args, endpoints=None, timeout=20.0, stdin=None, client_cert=True):
        eps = self.endpoints(endpoints)
        return harness.etcdctl(eps, list(args) + self.tls_args(client_cert), stdin=stdin, timeout=timeout)

    def live(self):
        return [m for m in self.members if m.alive()]

    def start(self, timeout=30.0):
        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            raise ClusterError("%s binary not found or not executable: %s" % (self.kind, self.binary))
        for m in self.members:
            m.start()
        self.wait_healthy(self.members, timeout)
        return self

    def wait_healthy(self, members, timeout):
        deadline = time.monotonic() + timeout
        pending = list(members)
        while pending and time.monotonic() < deadline:
            for m in list(pending):
                if not m.alive():
                    raise ClusterError("%s %s exited with %s during startup:\n%s" % (
                        self.kind, m.name, m.proc.returncode, m.log_tail()))
                if m.healthy():
                    pending.remove(m)
            if pending:
                time.sleep(0.2)
        if pending:
            raise ClusterError("%s not healthy within %.0fs: %s\n%s" % (
                self.kind, timeout, ", ".join(m.name for m in pending),
                "\n".join("---- %s log tail:\n%s" % (m.name, m.log_tail()) for m in pending)))

    def statuses(self, members=None):
        """{member: Status dict or None}."""
        return {m: m.status() for m in (members if members is not None else self.live())}

    def leader(self, members=None, timeout=10.0, exclude=None):
        """The member all given (live) members agree is leader (and is not `exclude`),
        waiting up to timeout. Returns (leader member or None, statuses)."""
        deadline = time.monotonic() + timeout
        sts = {}
        while True:
            sts = self.statuses(members)
            ids = {st.get("leader", 0) for st in sts.values() if st}
            if len(ids) == 1 and None not in sts.values():
                lid = next(iter(ids))
                for m, st in sts.items():
                    m.id = st["header"]["member_id"]
                for m in self.members:
                    if m.id == lid and lid != 0 and m is not exclude:
                        return m, sts
            if time.monotonic() >= deadline:
                return None, sts
            time.sleep(0.1)

    def member_list(self, members=None):
        r = self.ctl(["member", "list", "-w", "json"], endpoints=members or self.live(), timeout=10)
        if r.rc != 0:
            return None, r
        try:
            return json.loads(r.out).get("members", []), r
        except ValueError:
            return None, r

    def add_member_object(self, name, initial_cluster, state="existing"):
        port_c, port_p = pick_ports(2, taken=[p for m in self.members for p in (m.client_port, m.peer_port)])
        m = Member(self, name, port_c, port_p, initial_cluster, state)
        self.members.append(m)
        return m

    def stop(self):
        for m in self.members + self.removed:
            m.kill(signal.SIGKILL, grace=5)  # data dirs are thrown away
        if not KEEP_DIRS:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def logs_tail(self, n=15):
        return "\n".join("---- %s (%s) log tail:\n%s" % (m.name, "alive" if m.alive() else "dead",
                                                        m.log_tail(n)) for m in self.members)
