"""E2E harness: start etcd / quorum as real processes, drive them with real clients.

Stdlib only (plus Debian's python3-grpcio / python3-protobuf / python3-etcd3 for the
gRPC-level and python-client cases). Every process this module starts is tracked by
pid and killed at exit (atexit + SIGTERM/SIGINT handlers); every wait is bounded.
"""

import atexit
import base64
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

ETCD_BIN = os.environ.get("ETCD_BIN", "/usr/bin/etcd")
ETCDCTL_BIN = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")
DEFAULT_QUORUM_BIN = os.environ.get(
    "QUORUM_BIN", os.path.join(REPO_ROOT, "build", "bin", "quorum"))

KEEP_DIRS = os.environ.get("E2E_KEEP") == "1"

# ---------------------------------------------------------------------------
# process bookkeeping
# ---------------------------------------------------------------------------

_LIVE = {}  # pid -> Server


def _kill_all():
    for srv in list(_LIVE.values()):
        try:
            srv.stop(grace=2.0)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_kill_all)


def _on_signal(signum, _frame):
    _kill_all()
    sys.exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    try:
        signal.signal(_sig, _on_signal)
    except (ValueError, OSError):  # not in main thread
        pass


def free_port():
    """A currently free 127.0.0.1 TCP port (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_ready(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _etcd_unsupported_arch():
    """etcd 3.4 refuses to start on arches other than amd64/arm64/ppc64le unless
    ETCD_UNSUPPORTED_ARCH names the (Go) arch."""
    m = platform.machine().lower()
    supported = {"x86_64", "amd64", "aarch64", "arm64", "ppc64le"}
    if m in supported:
        return None
    goarch = {"i386": "386", "i686": "386", "armv7l": "arm", "armv6l": "arm",
              "s390x": "s390x", "riscv64": "riscv64", "mips64": "mips64le"}
    return goarch.get(m, m)


class ServerStartError(Exception):
    pass


class Server:
    """One single-member server process ("etcd" or "quorum") on fresh ports and a
    fresh data dir."""

    def __init__(self, kind, binary, name="n1", extra_args=(), env=None):
        assert kind in ("etcd", "quorum")
        self.kind = kind
        self.binary = binary
        self.name = name
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.proc = None
        self.tmp = None
        self.client_port = None
        self.peer_port = None
        self.log_path = None
        self._log = None
        self.starts = 0

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.client_port

    @property
    def grpc_target(self):
        return "127.0.0.1:%d" % self.client_port

    def start(self, timeout=25.0):
        """Fresh temp dir, data dir and ports; returns self once healthy."""
        if not self.binary or not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            raise ServerStartError("%s binary not found or not executable: %s" % (self.kind, self.binary))
        self.tmp = tempfile.mkdtemp(prefix="quorum-e2e-%s-" % self.kind)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.client_port = free_port()
        self.peer_port = free_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_port()
        self.starts = 0
        return self._launch(timeout)

    def restart(self, kill=False, timeout=25.0, sig=None):
        """Stop (SIGTERM, SIGKILL when kill=True, or `sig`) and start again on the same
        data dir and ports. Returns the exit status of the stopped process."""
        rc = self._terminate(sig or (signal.SIGKILL if kill else signal.SIGTERM))
        self._launch(timeout)
        return rc

    def _launch(self, timeout):
        data_dir = os.path.join(self.tmp, "data")
        client = "http://127.0.0.1:%d" % self.client_port
        args = [self.binary, "--name", self.name, "--data-dir", data_dir,
                "--listen-client-urls", client, "--advertise-client-urls", client]
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("ETCD_") or k.startswith("ETCDCTL_"):
                del env[k]
        # Both servers get their own peer port: the default localhost:2380
        # would clash between concurrent runs.
        peer = "http://127.0.0.1:%d" % self.peer_port
        args += ["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", "%s=%s" % (self.name, peer)]
        if self.kind == "etcd":
            arch = _etcd_unsupported_arch()
            if arch:
                env["ETCD_UNSUPPORTED_ARCH"] = arch
        env.update(self.extra_env)
        args += self.extra_args
        self.starts += 1
        self._log = open(self.log_path, "ab")
        self._log.write(b"==== e2e harness: start #%d: %s\n" % (self.starts, " ".join(args).encode()))
        self._log.flush()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.tmp,
                                     start_new_session=True)
        _LIVE[self.proc.pid] = self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError("%s exited with %s during startup:\n%s"
                                       % (self.kind, self.proc.returncode, self.log_tail()))
            if tcp_ready(self.client_port):
                r = etcdctl(self.endpoint, ["endpoint", "health"], timeout=6)
                if r.rc == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise ServerStartError("%s not healthy within %.0fs:\n%s"
                               % (self.kind, timeout, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def _terminate(self, sig=signal.SIGTERM, grace=10.0):
        """Signal our own process by pid; escalate to SIGKILL after `grace` seconds.
        Returns its exit status ("killed-after-timeout" if SIGTERM was not enough)."""
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
            _LIVE.pop(pid, None)
        if self._log:
            self._log.close()
            self._log = None
        return rc

    def stop(self, grace=5.0):
        self._terminate(signal.SIGTERM, grace)
        if self.tmp and not KEEP_DIRS:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


# ---------------------------------------------------------------------------
# etcdctl
# ---------------------------------------------------------------------------

class Result:
    def __init__(self, rc, out, err, out_bytes=b""):
        self.rc = rc
        self.out = out
        self.err = err
        self.out_bytes = out_bytes

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r)" % (self.rc, self.out, self.err)


def _ctl_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    return env


def etcdctl(endpoint, args, stdin=None, timeout=20.0):
    """Run `ETCDCTL_API=3 etcdctl --endpoints=<endpoint> args...`. stdin: str/bytes."""
    argv = [ETCDCTL_BIN, "--endpoints=" + endpoint, "--dial-timeout=3s",
            "--command-timeout=8s"] + list(args)
    if isinstance(stdin, str):
        stdin = stdin.encode()
    try:
        p = subprocess.run(argv, input=stdin if stdin is not None else b"",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=_ctl_env(), timeout=timeout)
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), p.stdout)
    except subprocess.TimeoutExpired as e:
        return Result("timeout", (e.stdout or b"").decode("utf-8", "replace"),
                      (e.stderr or b"").decode("utf-8", "replace"))


# ---------------------------------------------------------------------------
# normalisation: mask only what legitimately differs between two servers
# ---------------------------------------------------------------------------

ID_KEYS = {"cluster_id", "member_id", "raft_term", "ID", "leader", "raftTerm"}
REV_KEYS = {"revision", "create_revision", "mod_revision"}
FIELDS_ID = {"ClusterID", "MemberID", "RaftTerm"}
FIELDS_REV = {"Revision", "CreateRevision", "ModRevision"}


def _mask(v):
    # Keep "set vs unset" visible: a server that leaves an id zero must not pass.
    if v in (0, "0", None, ""):
        return v
    return "<set>"


def mask_json(obj, mask_keys, rev=False):
    keys = set(mask_keys) | (REV_KEYS if rev else set())
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in keys and not isinstance(v, (dict, list)):
                out[k] = _mask(v)
            else:
                out[k] = mask_json(v, mask_keys, rev)
        return out
    if isinstance(obj, list):
        return [mask_json(x, mask_keys, rev) for x in obj]
    return obj


def decode_b64_fields(obj):
    """etcdctl -w json prints bytes as base64; decode key/value for readable diffs."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("key", "value", "range_end") and isinstance(v, str):
                try:
                    out[k] = "b64:" + base64.b64decode(v, validate=True).decode("utf-8", "backslashreplace")
                except Exception:  # noqa: BLE001
                    out[k] = v
            else:
                out[k] = decode_b64_fields(v)
        return out
    if isinstance(obj, list):
        return [decode_b64_fields(x) for x in obj]
    return obj


def norm_json_text(text, mask_keys=ID_KEYS, rev=False):
    lines = []
    dec = json.JSONDecoder()
    s = text.strip()
    i = 0
    while i < len(s):
        while i < len(s) and s[i].isspace():
            i += 1
        if i >= len(s):
            break
        try:
            obj, j = dec.raw_decode(s, i)
        except ValueError:
            lines.append("NON-JSON: " + s[i:])
            break
        obj = decode_b64_fields(mask_json(obj, mask_keys, rev))
        lines.append(json.dumps(obj, sort_keys=True, indent=1))
        i = j
    return "\n".join(lines)


_FIELDS_RE = re.compile(r'^"(\w+)" : (.*)$')


def norm_fields_text(text, rev=False):
    keys = FIELDS_ID | (FIELDS_REV if rev else set())
    out = []
    for line in text.splitlines():
        m = _FIELDS_RE.match(line)
        if m and m.group(1) in keys:
            out.append('"%s" : %s' % (m.group(1), _mask(m.group(2))))
        else:
            out.append(line)
    return "\n".join(out)


def norm_stderr(text):
    """etcdctl's zap warn lines carry timestamps and random client ids; keep only the
    gRPC error they report (it carries the status code), drop the rest."""
    out = []
    for line in text.splitlines():
        if line.startswith('{"level"'):
            try:
                obj = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            if "error" in obj:
                out.append("WARN %s" % obj["error"])
            else:
                out.append("LOG %s" % obj.get("msg", ""))
        else:
            out.append(line)
    return "\n".join(out)


def output_format(args):
    fmt = "simple"
    for i, a in enumerate(args):
        if a in ("-w", "--write-out") and i + 1 < len(args):
            fmt = args[i + 1]
        elif a.startswith("--write-out="):
            fmt = a.split("=", 1)[1]
        elif a.startswith("-w") and len(a) > 2:
            fmt = a[2:].lstrip("=")
    return fmt
