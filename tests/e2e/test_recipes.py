"""Lock and election (issue #6), against etcd 3.4 and quorum, outputs compared.

* etcdctl's own recipes over KV/Lease/Watch: `etcdctl lock NAME [-- cmd]` (mutual
  exclusion, ETCD_LOCK_KEY/ETCD_LOCK_REV, release on SIGINT), `etcdctl elect NAME
  PROPOSAL` and `etcdctl elect -l NAME` (observers see each leader in order; a new
  leader after the first candidate resigns).
* The server-side services v3lockpb.Lock and v3electionpb.Election over gRPC, with
  message classes built from OUR proto/ files (as grpcutil.py does for etcdserverpb):
  Lock/Unlock, unknown lease, Campaign/Leader/Proclaim/Observe/Resign and their
  "election: ..." errors.

Keys holding lease ids ("NAME/<lease hex>") and revisions are normalised. Every wait
is bounded; background etcdctl processes are killed by pid.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import harness
from framework import Check, Group

_HEX_KEY = re.compile(r"\b([\w.-]+)/[0-9a-f]{6,16}\b")


def _norm(text):
    return _HEX_KEY.sub(r"\1/<lease>", text)


def _ctl(server, args, timeout=20.0):
    return harness.etcdctl(server.endpoint, args, timeout=timeout)


class _Bg:
    """A long-running etcdctl whose stdout lines are collected by a thread."""

    def __init__(self, server, args):
        argv = [harness.ETCDCTL_BIN, "--endpoints=" + server.endpoint, "--dial-timeout=3s"] + list(args)
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=harness._ctl_env(), start_new_session=True)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_lines(self, n, timeout=10.0):
        end = time.monotonic() + timeout
        while len(self.lines) < n and time.monotonic() < end:
            time.sleep(0.05)
        return len(self.lines) >= n

    def stop(self, sig=signal.SIGINT, timeout=10.0):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)
        self.t.join(timeout=5)
        return self.p.returncode


# --- etcdctl lock ---------------------------------------------------------------

def lock_runs_command(server):
    """etcdctl lock L -- sh -c ...: the command runs with ETCD_LOCK_KEY/ETCD_LOCK_REV"""
    r = _ctl(server, ["lock", "rl", "--", "sh", "-c",
                      'echo "key=$ETCD_LOCK_KEY"; [ "$ETCD_LOCK_REV" -gt 0 ] && echo rev-ok'])
    after = _ctl(server, ["get", "--prefix", "rl", "--count-only", "-w", "fields"])
    count = re.search(r'"Count" : (\d+)', after.out)
    return "rc=%s\n%s\nkeys left: %s" % (r.rc, _norm(r.out.strip()), count.group(1) if count else after.out)


def lock_excludes(server):
    """a second etcdctl lock waits until the holder's command ends"""
    holder = _Bg(server, ["lock", "ex", "--", "sh", "-c", "echo holding; sleep 2; echo released"])
    ok = holder.wait_lines(1, timeout=10)
    t0 = time.monotonic()
    r = _ctl(server, ["lock", "ex", "--", "echo", "second"], timeout=30)
    waited = time.monotonic() - t0
    holder.stop()
    return "holder started: %s\nsecond: rc=%s %s\nsecond waited >= 1s: %s\nholder: %s" % (
        ok, r.rc, r.out.strip(), waited >= 1.0, holder.lines)


def lock_prints_key_and_releases_on_sigint(server):
    """etcdctl lock L prints the key, holds it, and releases it on SIGINT"""
    holder = _Bg(server, ["lock", "pk"])
    ok = holder.wait_lines(1, timeout=10)
    held = _ctl(server, ["get", "--prefix", "pk", "--keys-only"])
    holder.stop(signal.SIGINT)
    r = _ctl(server, ["lock", "pk", "--", "echo", "next"], timeout=15)
    return "printed: %s %s\nheld keys: %s\nnext: rc=%s %s" % (
        ok, _norm(" ".join(holder.lines)), _norm(held.out.strip()), r.rc, r.out.strip())


# --- etcdctl elect ----------------------------------------------------------------

def elect_and_observe(server):
    """etcdctl elect E p1 leads; elect -l sees p1, then p2 after p1 resigns (SIGINT)"""
    c1 = _Bg(server, ["elect", "el", "p1"])
    ok1 = c1.wait_lines(2, timeout=10)
    obs = _Bg(server, ["elect", "-l", "el"])
    ok_obs = obs.wait_lines(2, timeout=10)
    c2 = _Bg(server, ["elect", "el", "p2"])
    time.sleep(1.0)
    c2_waiting = len(c2.lines) == 0
    c1.stop(signal.SIGINT)
    ok2 = c2.wait_lines(2, timeout=10)
    ok_obs2 = obs.wait_lines(4, timeout=10)
    c2.stop(signal.SIGINT)
    obs.stop(signal.SIGINT)
    return "\n".join([
        "candidate 1 (%s): %s" % (ok1, _norm(" ".join(c1.lines))),
        "candidate 2 waited while 1 led: %s" % c2_waiting,
        "candidate 2 (%s): %s" % (ok2, _norm(" ".join(c2.lines))),
        "observer (%s, %s): %s" % (ok_obs, ok_obs2, _norm(" | ".join(obs.lines[:4]))),
    ])


def elect_listen_no_leader_then_leader(server):
    """elect -l with no candidate prints nothing until one campaigns"""
    obs = _Bg(server, ["elect", "-l", "quiet"])
    time.sleep(1.0)
    before = list(obs.lines)
    c = _Bg(server, ["elect", "quiet", "v"])
    ok = obs.wait_lines(2, timeout=10)
    c.stop(signal.SIGINT)
    obs.stop(signal.SIGINT)
    return "before: %s\nafter (%s): %s" % (before, ok, _norm(" | ".join(obs.lines[:2])))


# --- gRPC services ------------------------------------------------------------------

_PB = {}


def _pb():
    """Message classes of v3lockpb / v3electionpb built from our proto/ files."""
    if _PB:
        return _PB
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    proto_dir = os.path.join(harness.REPO_ROOT, "proto")
    files = ["mvccpb/kv.proto", "authpb/auth.proto", "etcdserverpb/rpc.proto",
             "v3lockpb/v3lock.proto", "v3electionpb/v3election.proto"]
    with tempfile.TemporaryDirectory(prefix="quorum-e2e-recipes-") as d:
        out = os.path.join(d, "all.pb")
        subprocess.run([shutil.which("protoc"), "-I" + proto_dir, "--include_imports",
                        "--descriptor_set_out=" + out] + files, check=True, timeout=60)
        with open(out, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    for fd in fds.file:
        for m in fd.message_type:
            name = "%s.%s" % (fd.package, m.name)
            _PB[name] = factory.GetPrototype(pool.FindMessageTypeByName(name))
    return _PB


class _Rpc:
    def __init__(self, server):
        import grpc
        self.grpc = grpc
        self.ch = grpc.insecure_channel(server.grpc_target)
        self.pb = _pb()

    def close(self):
        self.ch.close()

    def call(self, service, rpc, req_name, resp_name, timeout=10.0, **fields):
        req = self.pb[req_name](**fields)
        fn = self.ch.unary_unary("/%s/%s" % (service, rpc),
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=self.pb[resp_name].FromString)
        try:
            return fn(req, timeout=timeout), None
        except self.grpc.RpcError as e:
            return None, "%s: %s" % (e.code().name, e.details())

    def grant(self, ttl):
        r, err = self.call("etcdserverpb.Lease", "LeaseGrant", "etcdserverpb.LeaseGrantRequest",
                           "etcdserverpb.LeaseGrantResponse", TTL=ttl)
        return r.ID if r else None

    def lock(self, name, lease, timeout=10.0):
        return self.call("v3lockpb.Lock", "Lock", "v3lockpb.LockRequest", "v3lockpb.LockResponse",
                         timeout=timeout, name=name.encode(), lease=lease)

    def unlock(self, key):
        return self.call("v3lockpb.Lock", "Unlock", "v3lockpb.UnlockRequest",
                         "v3lockpb.UnlockResponse", key=key)

    def election(self, rpc, req, resp, timeout=10.0, **fields):
        return self.call("v3electionpb.Election", rpc, "v3electionpb." + req, "v3electionpb." + resp,
                         timeout=timeout, **fields)


def grpc_lock_unlock(server):
    """v3lockpb.Lock: Lock returns NAME/<lease hex>; a second locker blocks; Unlock frees it"""
    c = _Rpc(server)
    try:
        out = []
        l1, l2 = c.grant(30), c.grant(30)
        r, err = c.lock("gl", l1)
        out.append("lock 1: %s" % (err or ("key=%s" % r.key.decode()) == ("key=gl/%x" % l1)))
        r2, err2 = c.lock("gl", l2, timeout=1.0)
        out.append("lock 2 while held: %s" % err2)
        _, uerr = c.unlock(r.key)
        out.append("unlock: %s" % (uerr or "ok"))
        r3, err3 = c.lock("gl", l2, timeout=5.0)
        out.append("lock 2 after unlock: %s" % (err3 or r3.key.decode() == "gl/%x" % l2))
        out.append("fencing revision grows: %s" % (r3 is not None and
                                                    r3.header.revision > r.header.revision))
        _, err4 = c.lock("gl2", 0x1234567, timeout=5.0)
        out.append("unknown lease: %s" % err4)
        return "\n".join(out)
    finally:
        c.close()


def grpc_lock_without_lease(server):
    """v3lockpb.Lock with no lease: the server grants a 60 s lease; a second lease-less locker blocks"""
    c = _Rpc(server)
    try:
        out = []
        r, err = c.lock("nl", 0)
        if err:
            return "lock 1: " + err
        key = r.key.decode()
        out.append("lock 1 key is nl/0: %s" % (key == "nl/0"))
        _, err2 = c.lock("nl", 0, timeout=1.0)
        out.append("lock 2 while held: %s" % err2)
        got, err = c.call("etcdserverpb.KV", "Range", "etcdserverpb.RangeRequest",
                          "etcdserverpb.RangeResponse", key=r.key)
        lease = got.kvs[0].lease if got and got.kvs else 0
        out.append("key has a lease: %s" % (lease != 0 and key == "nl/%x" % lease))
        ttl, err = c.call("etcdserverpb.Lease", "LeaseTimeToLive",
                          "etcdserverpb.LeaseTimeToLiveRequest",
                          "etcdserverpb.LeaseTimeToLiveResponse", ID=lease)
        out.append("granted TTL: %s" % (err or ttl.grantedTTL))
        cr, err = c.election("Campaign", "CampaignRequest", "CampaignResponse",
                             name=b"nle", value=b"v")
        out.append("campaign without lease: %s" % (
            err or "lease_ok=%s" % (cr.leader.lease != 0 and
                                    cr.leader.key.decode() == "nle/%x" % cr.leader.lease)))
        return "\n".join(out)
    finally:
        c.close()


def grpc_election(server):
    """v3electionpb.Election: Leader (none), Campaign, Observe, Proclaim, stale Proclaim,
    Proclaim and Resign without a leader key, Resign"""
    c = _Rpc(server)
    try:
        out = []
        _, err = c.election("Leader", "LeaderRequest", "LeaderResponse", name=b"ge")
        out.append("leader before: %s" % err)
        lease = c.grant(30)
        r, err = c.election("Campaign", "CampaignRequest", "CampaignResponse",
                            name=b"ge", lease=lease, value=b"v1")
        if err:
            return "campaign: " + err
        ldr = r.leader
        out.append("campaign: name=%s key_ok=%s lease_ok=%s rev_ok=%s" % (
            ldr.name.decode(), ldr.key.decode() == "ge/%x" % lease, ldr.lease == lease, ldr.rev > 0))
        # Observe (server stream) in the background.
        seen = []
        obs_fn = c.ch.unary_stream("/v3electionpb.Election/Observe",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=c.pb["v3electionpb.LeaderResponse"].FromString)
        call = obs_fn(c.pb["v3electionpb.LeaderRequest"](name=b"ge"), timeout=20)

        def read():
            try:
                for resp in call:
                    seen.append(resp.kv.value.decode())
            except Exception:  # noqa: BLE001 - cancelled at the end
                pass
        t = threading.Thread(target=read, daemon=True)
        t.start()
        end = time.monotonic() + 10
        while not seen and time.monotonic() < end:
            time.sleep(0.05)
        r, err = c.election("Leader", "LeaderRequest", "LeaderResponse", name=b"ge")
        out.append("leader: %s" % (err or r.kv.value.decode()))
        _, err = c.election("Proclaim", "ProclaimRequest", "ProclaimResponse", leader=ldr, value=b"v2")
        out.append("proclaim: %s" % (err or "ok"))
        stale = c.pb["v3electionpb.LeaderKey"](name=ldr.name, key=ldr.key, rev=ldr.rev + 100,
                                                lease=ldr.lease)
        _, err = c.election("Proclaim", "ProclaimRequest", "ProclaimResponse", leader=stale, value=b"x")
        out.append("stale proclaim: %s" % err)
        _, err = c.election("Proclaim", "ProclaimRequest", "ProclaimResponse", value=b"y")
        out.append("proclaim without leader: %s" % err)
        _, err = c.election("Resign", "ResignRequest", "ResignResponse")
        out.append("resign without leader: %s" % err)
        end = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        _, err = c.election("Resign", "ResignRequest", "ResignResponse", leader=ldr)
        out.append("resign: %s" % (err or "ok"))
        _, err = c.election("Leader", "LeaderRequest", "LeaderResponse", name=b"ge")
        out.append("leader after: %s" % err)
        call.cancel()
        t.join(timeout=5)
        out.append("observed: %s" % seen[:2])
        return "\n".join(out)
    finally:
        c.close()


GROUPS = [
    Group("recipes-etcdctl", [
        Check("lock runs a command", lock_runs_command),
        Check("lock excludes a second holder", lock_excludes),
        Check("lock prints the key and releases on SIGINT", lock_prints_key_and_releases_on_sigint),
        Check("elect and observe", elect_and_observe),
        Check("elect -l waits for a leader", elect_listen_no_leader_then_leader),
    ], doc="etcdctl lock / elect (client-side recipes over KV, Lease, Watch)"),
    Group("recipes-grpc", [
        Check("v3lock Lock/Unlock", grpc_lock_unlock),
        Check("v3lock Lock without a lease", grpc_lock_without_lease),
        Check("v3election", grpc_election),
    ], doc="server-side v3lockpb.Lock and v3electionpb.Election services"),
]
