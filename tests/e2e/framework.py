"""Table-driven differential cases.

A Group is an ordered scenario of Steps run against a FRESH etcd and a FRESH quorum
(new data dirs, so revisions line up). Every step runs on etcd first, then on quorum;
the two normalised outputs must be identical. Golden expectations (`expect` lines,
`rc`) are checked on both, so the suite is also validated against etcd itself.

Result naming: "<target>::<group>/<step>", target in {etcd, quorum}.
"""

import difflib
import json
import threading
import time

import harness
from harness import (Server, ServerStartError, etcdctl, norm_fields_text, norm_json_text,
                     norm_stderr, output_format)


class Step:
    name = "?"
    rev = False          # mask revisions (only where a case legitimately differs)
    expect = ()          # lines that must appear (exact line match) in the rendered output
    expect_rc = None
    quorum_only = False  # etcd 3.4 cannot be the oracle (e.g. it crashes); golden only
    etcd_only = False
    pending = None       # "why": needs a later issue; skipped unless --pending

    def run(self, server):  # -> rendered text
        raise NotImplementedError


class Ctl(Step):
    """One etcdctl invocation."""

    def __init__(self, name, args, stdin=None, rev=False, expect=(), rc=None,
                 proto=None, quorum_only=False, mask=None):
        self.name = name
        self.args = list(args)
        self.stdin = stdin
        self.rev = rev
        self.expect = tuple(expect)
        self.expect_rc = rc
        self.proto = proto            # message name for -w protobuf decoding
        self.quorum_only = quorum_only
        self.mask = mask              # optional extra fn(text)->text

    def describe(self):
        s = "etcdctl " + " ".join(_shq(a) for a in self.args)
        if self.stdin is not None:
            st = self.stdin if isinstance(self.stdin, str) else "<%d bytes>" % len(self.stdin)
            if len(st) > 300:
                st = st[:300] + "...(%d chars)" % len(st)
            s += "  <<< " + repr(st)
        return s

    def run(self, server):
        r = etcdctl(server.endpoint, self.args, stdin=self.stdin)
        fmt = output_format(self.args)
        if fmt == "json":
            out = norm_json_text(r.out, rev=self.rev)
        elif fmt == "fields":
            out = norm_fields_text(r.out, rev=self.rev)
        elif fmt == "protobuf" and self.proto:
            out = _decode_protobuf(r.out_bytes, self.proto, self.rev)
        else:
            out = r.out
        text = "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (r.rc, out.rstrip("\n"), norm_stderr(r.err))
        if self.mask:
            text = self.mask(text)
        return text, r.rc


class Grpc(Step):
    """One unary gRPC call built from OUR generated protos."""

    def __init__(self, name, service, rpc, build, rev=False, expect=(), quorum_only=False,
                 mask_keys=("cluster_id", "member_id", "raft_term"), timeout=10.0):
        self.name = name
        self.service = service
        self.rpc = rpc
        self.build = build            # fn(pb) -> request message
        self.rev = rev
        self.expect = tuple(expect)
        self.quorum_only = quorum_only
        self.mask_keys = mask_keys
        self.timeout = timeout

    def describe(self):
        import grpcutil
        if grpcutil.pb is None:
            return "grpc %s.%s" % (self.service, self.rpc)
        req = self.build(grpcutil.pb)
        txt = str(req).replace("\n", " ")
        if len(txt) > 300:
            txt = txt[:300] + "...(%d chars)" % len(txt)
        return "grpc %s.%s { %s }" % (self.service, self.rpc, txt)

    def run(self, server):
        import grpcutil
        if grpcutil.pb is None:
            return "SETUP ERROR " + str(grpcutil.import_error), None
        c = _client_for(server)
        status, resp = c.call(self.service, self.rpc, self.build(grpcutil.pb), timeout=self.timeout)
        return _grpc_lib_text(grpcutil.render(status, resp, rev=self.rev, mask_keys=self.mask_keys)), None


def _grpc_lib_text(text):
    """Texts produced by the gRPC library itself (not by etcd) differ in capitalisation
    between grpc-go ("grpc: received message larger than max") and gRPC C++ core
    ("Received message larger than max"); the status code and sizes still must match."""
    import re
    return re.sub(r"(?:grpc: )?[Rr]eceived message larger than max",
                  "<grpc-lib>: received message larger than max", text)


class Py(Step):
    """A python3-etcd3 (Debian's real client library) action. fn(client) -> str."""

    def __init__(self, name, fn, rev=False, expect=()):
        self.name = name
        self.fn = fn
        self.rev = rev
        self.expect = tuple(expect)

    def describe(self):
        return "python3-etcd3: " + (self.fn.__doc__ or self.name).strip()

    def run(self, server):
        try:
            import etcd3
        except ImportError as e:
            return "SETUP ERROR python3-etcd3 missing: %s" % e, None
        cli = etcd3.client(host="127.0.0.1", port=server.client_port, timeout=10)
        try:
            return str(self.fn(cli)), None
        except Exception as e:  # noqa: BLE001 - the exception text is the output
            if hasattr(e, "code") and hasattr(e, "details"):
                try:
                    return "RpcError %s: %s" % (e.code().name, e.details()), None
                except Exception:  # noqa: BLE001
                    pass
            return "EXCEPTION %s: %s" % (type(e).__name__, e), None
        finally:
            try:
                cli.close()
            except Exception:  # noqa: BLE001
                pass


class Check(Step):
    """An arbitrary check fn(server) -> str (e.g. health after bad input)."""

    def __init__(self, name, fn, expect=(), rev=False):
        self.name = name
        self.fn = fn
        self.expect = tuple(expect)
        self.rev = rev

    def describe(self):
        return (self.fn.__doc__ or self.name).strip()

    def run(self, server):
        return str(self.fn(server)), None


class Group:
    """extra_args / env are given to BOTH servers (same flag names and ETCD_* env vars)."""

    def __init__(self, name, steps, doc="", extra_args=(), env=None):
        self.name = name
        self.steps = steps
        self.doc = doc
        self.extra_args = list(extra_args)
        self.env = dict(env or {})


# ---------------------------------------------------------------------------

_clients = {}


def _client_for(server):
    import grpcutil
    key = id(server)
    if key not in _clients:
        _clients[key] = (server, grpcutil.Client(server.grpc_target))
    return _clients[key][1]


def _drop_client(server):
    ent = _clients.pop(id(server), None)
    if ent:
        try:
            ent[1].close()
        except Exception:  # noqa: BLE001
            pass


def _decode_protobuf(data, msg_name, rev):
    import grpcutil
    if grpcutil.pb is None:
        return "SETUP ERROR " + str(grpcutil.import_error)
    try:
        msg = getattr(grpcutil.pb, msg_name).FromString(data)
    except Exception as e:  # noqa: BLE001
        return "UNDECODABLE %s (%d bytes): %s" % (msg_name, len(data), e)
    return grpcutil.render("OK", msg, rev=rev)


def _shq(a):
    if a and all(c.isalnum() or c in "-_=./:" for c in a):
        return a
    return json.dumps(a)


def _check_expect(step, text, rc):
    problems = []
    lines = text.splitlines()
    for e in step.expect:
        if e not in lines:
            problems.append("expected line missing: %r" % e)
    if step.expect_rc is not None and rc != step.expect_rc:
        problems.append("expected rc=%s, got rc=%s" % (step.expect_rc, rc))
    return problems


class Runner:
    def __init__(self, quorum_bin, etcd_only=False, quorum_only=False, verbose=False,
                 name_filter=None, pending=False):
        self.pending = pending
        self.skipped_pending = 0
        self.quorum_bin = quorum_bin
        self.etcd_only = etcd_only
        self.quorum_only = quorum_only
        self.verbose = verbose
        self.name_filter = name_filter
        self.passed = 0
        self.failed = 0
        self.failures = []

    def _record(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if self.verbose:
                print("PASS %s" % name, flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s" % name, flush=True)
            if detail:
                if len(detail) > 6000:
                    detail = detail[:6000] + "\n... (%d more chars)" % (len(detail) - 6000)
                print("  " + detail.replace("\n", "\n  "), flush=True)

    def _start(self, kind, out, group):
        binary = harness.ETCD_BIN if kind == "etcd" else self.quorum_bin
        srv = Server(kind, binary, extra_args=group.extra_args, env=group.env)
        try:
            srv.start()
            out[kind] = srv
        except ServerStartError as e:
            out[kind] = e
        except Exception as e:  # noqa: BLE001
            out[kind] = ServerStartError("%s: %r" % (kind, e))

    def run_group(self, group):
        steps = [s for s in group.steps
                 if not self.name_filter or self.name_filter in "%s/%s" % (group.name, s.name)]
        if not self.pending:
            self.skipped_pending += sum(1 for s in steps if s.pending)
            steps = [s for s in steps if not s.pending]
        if not steps:
            return
        t0 = time.monotonic()
        kinds = []
        if not self.quorum_only:
            kinds.append("etcd")
        if not self.etcd_only:
            kinds.append("quorum")
        started = {}
        threads = [threading.Thread(target=self._start, args=(k, started, group)) for k in kinds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        servers = {k: v for k, v in started.items() if isinstance(v, Server)}
        errors = {k: v for k, v in started.items() if not isinstance(v, Server)}
        try:
            for step in steps:
                self._run_step(group, step, servers, errors)
            for k, srv in servers.items():
                self._record("%s::%s/<server still running at end>" % (k, group.name), srv.alive(),
                             "" if srv.alive() else "server exited (rc=%s); log tail:\n%s"
                             % (srv.proc.returncode, srv.log_tail()))
        finally:
            for srv in servers.values():
                _drop_client(srv)
                srv.stop()
        if self.verbose:
            print("-- group %s: %.1fs" % (group.name, time.monotonic() - t0), flush=True)

    def _run_step(self, group, step, servers, errors):
        full = "%s/%s" % (group.name, step.name)
        outs = {}
        for kind in ("etcd", "quorum"):
            if kind == "etcd" and (self.quorum_only or step.quorum_only):
                continue
            if kind == "quorum" and (self.etcd_only or step.etcd_only):
                continue
            name = "%s::%s" % (kind, full)
            if kind in errors:
                self._record(name, False, "server did not start: %s" % errors[kind])
                continue
            srv = servers[kind]
            if not srv.alive():
                self._record(name, False, "server is not running (exited rc=%s)" % srv.proc.returncode)
                continue
            try:
                text, rc = step.run(srv)
            except Exception as e:  # noqa: BLE001
                self._record(name, False, "harness exception: %r\n  %s" % (e, step.describe()))
                continue
            outs[kind] = text
            problems = _check_expect(step, text, rc)
            if kind == "quorum" and "etcd" in outs:
                if outs["etcd"] != text:
                    diff = "\n".join(difflib.unified_diff(
                        outs["etcd"].splitlines(), text.splitlines(),
                        "etcd", "quorum", lineterm="", n=2))
                    problems.append("output differs from etcd:\n" + diff)
            elif kind == "quorum" and "etcd" in errors and not step.quorum_only:
                problems.append("no etcd reference output (etcd failed to start)")
            detail = ""
            if problems:
                detail = "case: %s\n%s\n--- %s output:\n%s" % (
                    step.describe(), "\n".join(problems), kind, text)
            self._record(name, not problems, detail)


class Restart(Step):
    """Stop the server (SIGTERM, or SIGKILL with kill=True) and start it again on the
    same data dir and ports. Output: whether the stop was clean, so SIGTERM handling is
    compared too (etcd dies by re-raised SIGTERM; exit status 0 is equally clean)."""

    def __init__(self, name, kill=False, sig=None):
        import signal as _signal
        self.name = name
        self.kill = kill
        self.sig = sig or (_signal.SIGKILL if kill else _signal.SIGTERM)
        self.expect = ("stopped: clean, restarted: ok",) if not kill else ("stopped: killed, restarted: ok",)

    def describe(self):
        return "restart server (signal %d) on the same data dir" % self.sig

    def run(self, server):
        import signal as _signal
        _drop_client(server)
        try:
            rc = server.restart(sig=self.sig)
        except ServerStartError as e:
            return "restart failed: %s" % e, None
        if self.kill:
            stopped = "killed" if rc == -_signal.SIGKILL else "unexpected exit %r" % (rc,)
        else:
            stopped = "clean" if rc in (0, -self.sig) else "unclean exit %r" % (rc,)
        return "stopped: %s, restarted: ok" % stopped, None
