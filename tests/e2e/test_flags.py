"""Daemon flags, ETCD_* environment variables and signals, compared with etcd:
both servers get the same flags / env, and the same client behaviour must follow."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import harness
from framework import Check, Ctl, Grpc, Group, Restart
from test_etcdctl_kv import E_TOO_LARGE, E_TOO_MANY_OPS, Txn, put

# Flags issue #2 requires with etcd's names (the rest come with later issues).
HELP_FLAGS = ["name", "data-dir", "listen-client-urls", "advertise-client-urls",
              "listen-peer-urls", "initial-advertise-peer-urls", "initial-cluster",
              "max-txn-ops", "max-request-bytes", "log-level"]


def help_output(server):
    """<binary> --help: exit status 0 and every etcd flag name of this issue listed"""
    try:
        p = subprocess.run([server.binary, "--help"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    except subprocess.TimeoutExpired:
        return "--help did not exit within 10s"
    text = p.stdout.decode("utf-8", "replace")
    missing = [f for f in HELP_FLAGS if ("--" + f) not in text]
    return "rc=%s missing=%s" % (p.returncode, missing)


LIMITS = Group("flags-limits", extra_args=["--max-txn-ops", "3", "--max-request-bytes", "1024"], steps=[
    Txn("3 ops with --max-txn-ops 3", [], ["put a 1", "put b 2", "put c 3"], [], expect=["SUCCESS"], rc=0),
    Txn("4 ops with --max-txn-ops 3", [], ["put a 1", "put b 2", "put c 3", "put d 4"], [],
        expect=[E_TOO_MANY_OPS], rc=1),
    Txn("4 compares with --max-txn-ops 3", ['version("a") = "1"'] * 4, [], [],
        expect=[E_TOO_MANY_OPS], rc=1),
    Ctl("800 byte value under --max-request-bytes 1024", ["put", "v"], stdin="x" * 800, expect=["OK"], rc=0),
    Ctl("1200 byte value over --max-request-bytes 1024", ["put", "v"], stdin="x" * 1200,
        expect=[E_TOO_LARGE], rc=1),
    # gRPC receive limit is max-request-bytes + 512 KiB (etcd's grpcOverheadBytes)
    Grpc("600 kB put over the gRPC receive limit", "KV", "Put",
         lambda pb: pb.PutRequest(key=b"v", value=b"x" * 600000),
         expect=["ERROR RESOURCE_EXHAUSTED: <grpc-lib>: received message larger than max (600007 vs. 525312)"]),
    Ctl("state", ["get", "", "--prefix", "-w", "json"], rc=0),
])

ENV = Group("flags-env", env={"ETCD_MAX_TXN_OPS": "2"}, steps=[
    Txn("2 ops with ETCD_MAX_TXN_OPS=2", [], ["put a 1", "put b 2"], [], expect=["SUCCESS"], rc=0),
    Txn("3 ops with ETCD_MAX_TXN_OPS=2", [], ["put a 1", "put b 2", "put c 3"], [],
        expect=[E_TOO_MANY_OPS], rc=1),
])

EQUALS_FORM = Group("flags-equals-form", extra_args=["--max-txn-ops=2"], steps=[
    Txn("3 ops with --max-txn-ops=2", [], ["put a 1", "put b 2", "put c 3"], [],
        expect=[E_TOO_MANY_OPS], rc=1),
])

SIGNALS = Group("signals", steps=[
    Check("--help", help_output, expect=["rc=0 missing=[]"]),
    put("a", "1"),
    Restart("SIGINT restart", sig=signal.SIGINT),
    Ctl("data after SIGINT restart", ["get", "a", "-w", "json"], rc=0),
    Restart("SIGTERM restart"),
    Ctl("data after SIGTERM restart", ["get", "a", "-w", "json"], rc=0),
])

def _mask_lease_ids(text):
    return re.sub(r"\b[0-9a-f]{8,16}\b", "<ID>", text)


# etcd 3.4's lease checkpoint switch (off by default): the server starts with it and
# leases behave as usual (the 5-minute checkpoint itself is unit-tested in lessor_test).
# Golden only: Debian's etcd 3.4.23 dereferences a nil zap logger validating this flag
# under its default --logger=capnslog and exits during startup.
LEASE_CHECKPOINT = Group("flags-lease-checkpoint", extra_args=["--experimental-enable-lease-checkpoint"],
                         steps=[
    Ctl("lease grant with --experimental-enable-lease-checkpoint", ["lease", "grant", "600"],
        mask=_mask_lease_ids, expect=["lease <ID> granted with TTL(600s)"], rc=0, quorum_only=True),
    Ctl("lease list", ["lease", "list"], mask=_mask_lease_ids, expect=["found 1 leases", "<ID>"], rc=0,
        quorum_only=True),
])

# ---------------------------------------------------------------------------
# Startup refusals: the binary run alone with one bad flag (it must exit before
# serving); exit status and etcd's error text compared.
# ---------------------------------------------------------------------------

def _daemon_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    arch = harness._etcd_unsupported_arch()
    if arch:
        env["ETCD_UNSUPPORTED_ARCH"] = arch
    env.update(extra or {})
    return env


def _strip_log_prefix(line):
    """etcd's capnslog "2026-01-01 10:00:00.000000 E | etcdmain: " and quorum's
    spdlog "[2026-01-01 10:00:00.000] [critical] cannot start: " carry the same text."""
    line = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [A-Z] \| [\w/.-]+: ", "", line)
    line = re.sub(r"^\[[^\]]*\] \[\w+\] (cannot start: |cannot serve: )?", "", line)
    return line.replace("See 'quorum --help'", "See 'etcd --help'")


def refusal(args, pattern, env=None):
    """fn(server): run the server's binary with `args` on a fresh data dir; output its
    exit status and the first line (log prefix stripped) that matches `pattern`."""
    def fn(server):
        tmp = tempfile.mkdtemp(prefix="quorum-e2e-refusal-")
        try:
            p = subprocess.run([server.binary, "--data-dir", os.path.join(tmp, "d")] + list(args),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=_daemon_env(env), cwd=tmp, timeout=15)
        except subprocess.TimeoutExpired:
            return "still running after 15s (expected a refusal)"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        lines = [_strip_log_prefix(l) for l in p.stdout.decode("utf-8", "replace").splitlines()]
        for line in lines:
            m = re.search(pattern, line)
            if m:
                return "rc=%s\n%s" % (p.returncode, m.group(0))
        return "rc=%s\nno line matches %r:\n%s" % (p.returncode, pattern, "\n".join(lines[-8:]))
    fn.__doc__ = "%s %s" % (" ".join("%s=%s" % kv for kv in (env or {}).items()), " ".join(args))
    return fn


def Refused(name, args, pattern, rc, env=None, quorum_only=False):
    step = Check(name, refusal(args, pattern, env), expect=["rc=%d" % rc])
    step.quorum_only = quorum_only
    return step


# Ports that never get bound (the refusal comes first) but appear in messages.
_P1 = "http://127.0.0.1:%d" % harness.free_port()
_P2 = "http://127.0.0.1:%d" % harness.free_port()
_PEER = ["--listen-peer-urls", _P1, "--initial-advertise-peer-urls", _P1]

REFUSALS = Group("flags-refusals", steps=[
    Refused("peer URL without scheme", ["--initial-advertise-peer-urls", "127.0.0.1:47380"],
            r"invalid value .*", 2),
    Refused("client URL with ftp scheme", ["--listen-client-urls", "ftp://127.0.0.1:47380"],
            r"invalid value .*", 2),
    Refused("client URL with a path", ["--listen-client-urls", "http://127.0.0.1:47380/foo",
                                       "--advertise-client-urls", "http://127.0.0.1:47380/foo"],
            r"invalid value .*", 2),
    Refused("client URL without port", ["--listen-client-urls", "http://127.0.0.1"], r"invalid value .*", 2),
    Refused("client URL list with empty element", ["--listen-client-urls", "http://127.0.0.1:47379,"],
            r"invalid value .*", 2),
    Refused("metrics URL with bad scheme", ["--listen-metrics-urls", "foo"], r"invalid value .*", 2),
    Refused("empty --listen-client-urls", ["--listen-client-urls", ""], r"error verifying flags.*", 1),
    Refused("--listen-client-urls without --advertise-client-urls",
            ["--listen-client-urls", "http://127.0.0.1:47379"], r"error verifying flags.*", 1),
    Refused("listen URL with a host name", ["--listen-peer-urls", "http://example.com:2380"],
            r"error verifying flags.*", 1),
    Refused("advertised URL without host", ["--initial-advertise-peer-urls", "http://:2380"],
            r"error verifying flags.*", 1),
    Refused("duration without digits", ["--experimental-watch-progress-notify-interval", ".s"],
            r"invalid value .*", 2),
    Refused("duration without unit", ["--grpc-keepalive-min-time", "5"], r"invalid value .*", 2),
    Refused("election timeout under 5 heartbeats", ["--heartbeat-interval", "100", "--election-timeout", "400"],
            r"error verifying flags.*", 1),
    Refused("election timeout too long", ["--heartbeat-interval", "1000", "--election-timeout", "60000"],
            r"error verifying flags.*", 1),
    Refused("zero heartbeat", ["--heartbeat-interval", "0"], r"error verifying flags.*", 1),
    # etcd 3.4 panics here (exit 2); quorum reports the same Go text and status.
    Refused("unknown --log-level", ["--log-level", "foo"], r'unknown level "foo"', 2),
    Refused("unknown --logger", ["--logger", "foo"], r"error verifying flags.*", 1),
    Refused("unknown --log-outputs", ["--log-outputs", "foo"], r"error verifying flags.*", 1),
    Refused("bool flag with separate value", ["--strict-reconfig-check", "false"],
            r"error verifying flags.*", 1),
    Refused("undefined flag", ["--no-such-flag"], r"flag provided but not defined.*", 2),
    Refused("unknown cipher suite", ["--cipher-suites", "foo"], r"unexpected TLS cipher suite.*", 1),
    Refused("bad auto-compaction retention", ["--auto-compaction-retention", "x"],
            r"error parsing CompactionRetention.*", 1),
    Refused("unknown auto-compaction mode", ["--auto-compaction-mode", "foo", "--auto-compaction-retention", "1"],
            r"error verifying flags.*", 1),
    Refused("env var shadowed by flag", ["--name", "y"], r"conflicting environment variable.*", 1,
            env={"ETCD_NAME": "x"}),
    Refused("--initial-cluster URL without scheme", _PEER + ["--initial-cluster", "default=127.0.0.1:47380"],
            r"error setting up initial cluster.*", 1),
    Refused("--initial-cluster names us with other URLs", _PEER + ["--initial-cluster", "default=" + _P2],
            r"--initial-cluster has .*", 1),
    Refused("--initial-cluster lists one of our URLs only",
            _PEER + ["--initial-cluster", "default=%s,default=%s" % (_P1, _P2)], r"--initial-cluster has .*", 1),
    Refused("--initial-advertise-peer-urls not all in --initial-cluster",
            ["--listen-peer-urls", _P1, "--initial-advertise-peer-urls", "%s,%s" % (_P1, _P2),
             "--initial-cluster", "default=" + _P1], r"--initial-advertise-peer-urls has .*", 1),
    Refused("duplicate URL in --initial-cluster", _PEER + ["--initial-cluster", "default=%s,other=%s" % (_P1, _P1)],
            r"initial cluster .* has duplicate url", 1),
    Refused("local name missing from --initial-cluster", _PEER + ["--initial-cluster", "other=" + _P1],
            r"couldn't find local name.*", 1),
    # Quorum cannot rebuild a cluster from one member's log: it refuses instead of ignoring.
    Refused("--force-new-cluster is refused", ["--force-new-cluster"], r"--force-new-cluster is not supported.*",
            1, quorum_only=True),
])


# ---------------------------------------------------------------------------
# Flags deployments pass that must not stop a member from starting.
# ---------------------------------------------------------------------------

def _log_has(text):
    def fn(server):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(server.log_path, "rb") as f:
                if text.encode() in f.read():
                    return "logged: " + text
            time.sleep(0.1)
        return "not logged: " + text
    fn.__doc__ = "server log contains %r" % text
    return fn


ACCEPTED = Group("flags-accepted", env={"ETCD_FOO": "x"}, extra_args=[
    "--logger", "zap", "--log-outputs", "stderr", "--enable-pprof", "--metrics", "extensive", "--pre-vote",
    "--experimental-initial-corrupt-check", "--strict-reconfig-check=false", "--max-snapshots", "3",
    "--max-wals", "3", "--grpc-keepalive-min-time", "5s", "--grpc-keepalive-interval", "2h",
    "--grpc-keepalive-timeout", "20s", "--auth-token", "simple",
    "--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "--snapshot-count", "0", "--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000",
    "--log-level", "fatal"], steps=[
    put("a", "1"),
    Ctl("get after start with the compatibility flags", ["get", "a", "-w", "json"], rc=0),
    Check("unrecognized ETCD_FOO is reported", _log_has("unrecognized environment variable ETCD_FOO=x"),
          expect=["logged: unrecognized environment variable ETCD_FOO=x"]),
])


# Periodic auto-compaction with a one-second retention: a few seconds after the
# writes, the revisions before them are compacted (only the leader compacts; a
# single member leads).
def _sleep(seconds):
    def fn(server):
        time.sleep(seconds)
        return "slept"
    fn.__doc__ = "sleep %ss" % seconds
    return fn


AUTO_COMPACTION = Group("flags-auto-compaction", extra_args=["--auto-compaction-retention", "1s"], steps=[
    put("a", "1"), put("a", "2"), put("a", "3"),
    Check("wait for the periodic compactor", _sleep(3.5), expect=["slept"]),
    Ctl("get below the auto compaction", ["get", "a", "--rev", "2"],
        expect=["Error: etcdserver: mvcc: required revision has been compacted"], rc=1),
    Ctl("latest still readable", ["get", "a", "-w", "json"], rc=0),
])


# ---------------------------------------------------------------------------
# --listen-metrics-urls and the gRPC health service.
# ---------------------------------------------------------------------------

def _http(method, url, timeout=5):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


# Metrics Quorum exports under etcd's names; etcd must export each too.
METRICS = [("etcd_server_has_leader", "gauge"), ("etcd_server_is_leader", "gauge"),
           ("etcd_server_is_learner", "gauge"), ("etcd_server_id", "gauge"),
           ("etcd_server_version", "gauge"), ("etcd_server_proposals_committed_total", "gauge"),
           ("etcd_server_proposals_applied_total", "gauge"), ("etcd_server_quota_backend_bytes", "gauge"),
           ("etcd_server_health_success", "counter"), ("etcd_server_health_failures", "counter"),
           ("etcd_mvcc_db_total_size_in_bytes", "gauge"), ("etcd_mvcc_db_total_size_in_use_in_bytes", "gauge"),
           ("etcd_debugging_mvcc_current_revision", "gauge"), ("etcd_debugging_mvcc_compact_revision", "gauge"),
           ("etcd_debugging_mvcc_keys_total", "gauge")]


def _metrics_probe(second_member):
    """fn(server): start another server of the same kind with --listen-metrics-urls on
    fresh ports (optionally in a two-member cluster whose other member never comes, so
    it has no leader) and report what the metrics listener serves."""
    def fn(server):
        tmp = tempfile.mkdtemp(prefix="quorum-e2e-metrics-")
        client, peer, metrics = (harness.free_port() for _ in range(3))
        cluster = "n1=http://127.0.0.1:%d" % peer
        if second_member:
            cluster += ",n2=http://127.0.0.1:%d" % harness.free_port()
        args = [server.binary, "--name", "n1", "--data-dir", os.path.join(tmp, "d"),
                "--listen-client-urls", "http://127.0.0.1:%d" % client,
                "--advertise-client-urls", "http://127.0.0.1:%d" % client,
                "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                "--initial-cluster", cluster, "--listen-metrics-urls", "http://127.0.0.1:%d" % metrics]
        log = open(os.path.join(tmp, "log"), "wb")
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=_daemon_env(), cwd=tmp, start_new_session=True)
        base = "http://127.0.0.1:%d" % metrics
        try:
            # Healthy: wait for the election. Leaderless: the first answer must be 503.
            deadline = time.monotonic() + 20
            status = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    status, headers, body = _http("GET", base + "/health")
                    if status == 200 or second_member:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            if status is None:
                return "metrics listener never answered (rc=%s)" % proc.poll()
            out = ["GET /health: %s %s %r" % (status, headers.get("Content-Type"), body)]
            if second_member:
                return "\n".join(out)
            st, h, b = _http("POST", base + "/health")
            out.append("POST /health: %s Allow=%s %r" % (st, h.get("Allow"), b))
            for path in ("/version", "/nope"):
                st, h, b = _http("GET", base + path)
                out.append("GET %s: %s %s %r" % (path, st, h.get("Content-Type"), b))
            st, h, b = _http("GET", base + "/metrics")
            out.append("GET /metrics: %s %s" % (st, h.get("Content-Type")))
            for name, kind in METRICS:
                has_type = ("# TYPE %s %s" % (name, kind)) in b.splitlines()
                out.append("%s %s: %s" % (name, kind, "present" if has_type else "MISSING"))
            for name in ("etcd_server_has_leader", "etcd_server_is_leader", "etcd_server_is_learner"):
                m = re.search(r"^%s (\S+)$" % name, b, re.M)
                out.append("%s = %s" % (name, m.group(1) if m else None))
            return "\n".join(out)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            log.close()
            shutil.rmtree(tmp, ignore_errors=True)
    fn.__doc__ = "a member with --listen-metrics-urls%s" % (" and no leader" if second_member else "")
    return fn


def _grpc_health(service):
    """fn(server): grpc.health.v1.Health/Check for `service` on the client port, the
    request and response as raw protobuf bytes (no grpc_health module needed)."""
    def fn(server):
        import grpc
        req = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
        with grpc.insecure_channel(server.grpc_target) as ch:
            check = ch.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=lambda x: x, response_deserializer=lambda x: x)
            try:
                resp = check(req, timeout=5)
            except grpc.RpcError as e:
                # The detail text is the gRPC library's own (Go: "unknown service").
                return "ERROR %s" % e.code().name
        status = {b"\x08\x01": "SERVING", b"\x08\x02": "NOT_SERVING", b"": "UNKNOWN"}
        return "status %s" % status.get(resp, repr(resp))
    fn.__doc__ = "grpc.health.v1.Health/Check service=%r" % service
    return fn


HEALTH = Group("flags-metrics-health", steps=[
    Check("grpc health of the server", _grpc_health(""), expect=["status SERVING"]),
    Check("grpc health of an unknown service", _grpc_health("foo"), expect=["ERROR NOT_FOUND"]),
    Check("metrics listener endpoints", _metrics_probe(False),
          expect=['GET /health: 200 text/plain; charset=utf-8 \'{"health":"true"}\'',
                  "GET /version: 404 text/plain; charset=utf-8 '404 page not found\\n'",
                  "etcd_server_is_leader = 1"]),
    Check("metrics listener without a leader", _metrics_probe(True),
          expect=['GET /health: 503 text/plain; charset=utf-8 \'{"health":"false"}\\n\'']),
])

GROUPS = [LIMITS, ENV, EQUALS_FORM, LEASE_CHECKPOINT, SIGNALS, REFUSALS, ACCEPTED, AUTO_COMPACTION, HEALTH]
