"""Differential lease cases: Debian's etcdctl 3.4 (and raw gRPC) against etcd and quorum.

Lease ids are chosen by each server and differ: a granting step records the id under a
label ("L1"), later steps write "{L1}" in their arguments, and every output shows the
label ("<L1>") instead of the hex id. Remaining TTLs depend on timing: they are checked
to lie in [0, granted] and then masked.
"""

import re
import time

import grpcutil
from framework import Check, Grpc, Group, Py, Restart, Step, _shq
from harness import etcdctl, norm_json_text, norm_stderr, output_format

# The Lease RPCs beyond LeaseGrant, for Grpc steps.
grpcutil.UNARY.setdefault("Lease", {}).update({
    "LeaseGrant": ("LeaseGrantRequest", "LeaseGrantResponse"),
    "LeaseRevoke": ("LeaseRevokeRequest", "LeaseRevokeResponse"),
    "LeaseTimeToLive": ("LeaseTimeToLiveRequest", "LeaseTimeToLiveResponse"),
    "LeaseLeases": ("LeaseLeasesRequest", "LeaseLeasesResponse"),
})

E_LEASE_NOT_FOUND = "Error: etcdserver: requested lease not found"
E_REVOKE_NOT_FOUND = "Error: failed to revoke lease (etcdserver: requested lease not found)"

_IDS = {}     # (id(server), label) -> lease id as etcdctl prints it (%016x)
_GRANTED = {}  # (id(server), label) -> time.monotonic() of the grant


def _labels(server):
    return {label: hexid for (sid, label), hexid in _IDS.items() if sid == id(server)}


def _subst(server, a):
    for label, hexid in _labels(server).items():
        a = a.replace("{%s}" % label, hexid)
    return a


def _mask_ids(server, text):
    for label, hexid in _labels(server).items():
        text = text.replace(hexid, "<%s>" % label)
        text = re.sub(r"\b%d\b" % int(hexid, 16), "<%s>" % label, text)  # -w json: decimal
    return text


_REMAINING = re.compile(r"granted with TTL\((\d+)s\), remaining\((-?\d+)s\)")


def _mask_remaining(text):
    def repl(m):
        granted, rem = int(m.group(1)), int(m.group(2))
        ok = "ok" if 0 <= rem <= granted else "OUT-OF-RANGE %d" % rem
        return "granted with TTL(%ds), remaining(<%s>)" % (granted, ok)
    text = _REMAINING.sub(repl, text)
    # etcd lists attached keys in Go map order (random); compare them sorted.
    text = re.sub(r"attached keys\(\[([^\]]*)\]\)",
                  lambda m: "attached keys([%s])" % " ".join(sorted(m.group(1).split())), text)
    # -w json of timetolive: the remaining TTL in seconds.
    return re.sub(r'"ttl": \d+', '"ttl": "<remaining>"', text)


class LCtl(Step):
    """etcdctl with lease-id placeholders; `grant` names the label to record."""

    def __init__(self, name, args, grant=None, expect=(), rc=None):
        self.name = name
        self.args = list(args)
        self.grant = grant
        self.expect = tuple(expect)
        self.expect_rc = rc

    def describe(self):
        return "etcdctl " + " ".join(_shq(a) for a in self.args)

    def run(self, server):
        args = [_subst(server, a) for a in self.args]
        # Timed from before the grant is sent: the lease cannot expire earlier
        # than that plus its TTL, however slowly etcdctl returns.
        started = time.monotonic()
        r = etcdctl(server.endpoint, args)
        if self.grant:
            m = re.search(r"lease ([0-9a-f]+) granted", r.out)
            if m:
                _IDS[(id(server), self.grant)] = m.group(1)
                _GRANTED[(id(server), self.grant)] = started
        out = r.out
        if output_format(args) == "json":
            out = norm_json_text(out)
        text = "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (r.rc, out.rstrip("\n"), norm_stderr(r.err))
        return _mask_remaining(_mask_ids(server, text)), r.rc


def _wait_gone(key, label, ttl, bound):
    def fn(server):
        t_grant = _GRANTED.get((id(server), label))
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            r = etcdctl(server.endpoint, ["get", key, "--print-value-only"])
            if r.rc == 0 and r.out.strip() == "":
                early = t_grant is not None and time.monotonic() - t_grant < ttl - 1
                return "%s gone within %ds%s" % (key, bound, " (TOO EARLY)" if early else "")
            time.sleep(0.2)
        return "%s still present after %ds" % (key, bound)
    fn.__doc__ = "wait until %s (lease %s, ttl %ds) is deleted by expiry" % (key, label, ttl)
    return Check("wait %s expired" % key, fn, expect=["%s gone within %ds" % (key, bound)])


def _sleep(seconds):
    def fn(server):
        time.sleep(seconds)
        return "slept"
    fn.__doc__ = "sleep %ss" % seconds
    return Check("sleep %ss" % seconds, fn)


BASICS = Group("lease-basics", [
    LCtl("grant 10", ["lease", "grant", "10"], grant="L1", expect=["lease <L1> granted with TTL(10s)"], rc=0),
    LCtl("put k1 with lease", ["put", "k1", "v1", "--lease={L1}"], expect=["OK"], rc=0),
    LCtl("put k2 with lease", ["put", "k2", "v2", "--lease={L1}"], expect=["OK"], rc=0),
    LCtl("get k1 json (lease set)", ["get", "k1", "-w", "json"], rc=0),
    LCtl("timetolive", ["lease", "timetolive", "{L1}"], rc=0,
         expect=["lease <L1> granted with TTL(10s), remaining(<ok>)"]),
    LCtl("timetolive --keys", ["lease", "timetolive", "{L1}", "--keys"], rc=0,
         expect=["lease <L1> granted with TTL(10s), remaining(<ok>), attached keys([k1 k2])"]),
    LCtl("timetolive json", ["lease", "timetolive", "{L1}", "-w", "json"], rc=0),
    LCtl("list", ["lease", "list"], expect=["found 1 leases", "<L1>"], rc=0),
    LCtl("keep-alive --once", ["lease", "keep-alive", "--once", "{L1}"],
         expect=["lease <L1> keepalived with TTL(10)"], rc=0),
    # A put without --lease detaches the key.
    LCtl("put k2 without lease", ["put", "k2", "v2b"], expect=["OK"], rc=0),
    LCtl("timetolive --keys after detach", ["lease", "timetolive", "{L1}", "--keys"], rc=0,
         expect=["lease <L1> granted with TTL(10s), remaining(<ok>), attached keys([k1])"]),
    # --ignore-lease keeps the attachment.
    LCtl("put k1 --ignore-lease", ["put", "k1", "v1b", "--ignore-lease"], expect=["OK"], rc=0),
    LCtl("revoke", ["lease", "revoke", "{L1}"], expect=["lease <L1> revoked"], rc=0),
    LCtl("k1 gone after revoke", ["get", "k1"], rc=0),
    LCtl("k2 kept (detached)", ["get", "k2", "--print-value-only"], expect=["v2b"], rc=0),
    LCtl("get all json after revoke", ["get", "", "--prefix", "-w", "json"], rc=0),
    LCtl("list after revoke", ["lease", "list"], expect=["found 0 leases"], rc=0),
    LCtl("timetolive revoked", ["lease", "timetolive", "{L1}"], expect=["lease <L1> already expired"], rc=0),
    LCtl("revoke again", ["lease", "revoke", "{L1}"], expect=[E_REVOKE_NOT_FOUND], rc=1),
    LCtl("keep-alive --once revoked", ["lease", "keep-alive", "--once", "{L1}"]),
    LCtl("put with revoked lease", ["put", "k3", "v", "--lease={L1}"], expect=[E_LEASE_NOT_FOUND]),
    LCtl("put with unknown lease", ["put", "k3", "v", "--lease=1234abcd"], expect=[E_LEASE_NOT_FOUND]),
    LCtl("timetolive unknown", ["lease", "timetolive", "1234abcd"],
         expect=["lease 000000001234abcd already expired"], rc=0),
    LCtl("revoke unknown", ["lease", "revoke", "1234abcd"], expect=[E_REVOKE_NOT_FOUND], rc=1),
    LCtl("txn put with unknown lease", ["txn"], rc=None),
], doc="grant / attach / timetolive / list / keep-alive / revoke, and unknown-lease errors")

# etcdctl txn reads stdin; LCtl has no stdin, so give the txn case its own step.
BASICS.steps[-1] = Check(
    "txn put with unknown lease",
    lambda server: (lambda r: "rc=%s\n%s\n%s" % (r.rc, r.out.strip(), norm_stderr(r.err)))(
        etcdctl(server.endpoint, ["txn"], stdin="\nput k4 v --lease=1234abcd\n\n\n")),
    expect=[E_LEASE_NOT_FOUND])

LIMITS = Group("lease-limits", [
    LCtl("grant below minimum", ["lease", "grant", "1"], grant="S", expect=["lease <S> granted with TTL(2s)"], rc=0),
    LCtl("grant 0", ["lease", "grant", "0"], grant="Z", expect=["lease <Z> granted with TTL(2s)"], rc=0),
    LCtl("grant too large", ["lease", "grant", "9000000001"], expect=["Error: failed to grant lease (etcdserver: too large lease TTL)"], rc=1),
    LCtl("grant max", ["lease", "grant", "9000000000"], grant="M",
         expect=["lease <M> granted with TTL(9000000000s)"], rc=0),
    LCtl("grant json", ["lease", "grant", "30", "-w", "json"], rc=0),
    Grpc("grant with id", "Lease", "LeaseGrant", lambda pb: pb.LeaseGrantRequest(TTL=30, ID=4242)),
    Grpc("grant duplicate id", "Lease", "LeaseGrant", lambda pb: pb.LeaseGrantRequest(TTL=30, ID=4242),
         expect=["ERROR FAILED_PRECONDITION: etcdserver: lease already exists"]),
    Grpc("timetolive by id", "Lease", "LeaseTimeToLive",
         lambda pb: pb.LeaseTimeToLiveRequest(ID=4242), mask_keys=("cluster_id", "member_id", "raft_term", "TTL")),
    Grpc("timetolive unknown", "Lease", "LeaseTimeToLive", lambda pb: pb.LeaseTimeToLiveRequest(ID=777)),
    Grpc("revoke by id", "Lease", "LeaseRevoke", lambda pb: pb.LeaseRevokeRequest(ID=4242)),
    Grpc("revoke unknown", "Lease", "LeaseRevoke", lambda pb: pb.LeaseRevokeRequest(ID=4242),
         expect=["ERROR NOT_FOUND: etcdserver: requested lease not found"]),
], doc="minimum TTL, maximum TTL, client-chosen ids")

EXPIRY = Group("lease-expiry", [
    LCtl("grant 5", ["lease", "grant", "5"], grant="E", expect=["lease <E> granted with TTL(5s)"], rc=0),
    LCtl("put e1", ["put", "e1", "v", "--lease={E}"], expect=["OK"], rc=0),
    LCtl("put e2", ["put", "e2", "v", "--lease={E}"], expect=["OK"], rc=0),
    LCtl("put plain", ["put", "plain", "v"], expect=["OK"], rc=0),
    _wait_gone("e1", "E", 5, 15),
    LCtl("e2 gone too", ["get", "e2"], rc=0),
    LCtl("plain kept", ["get", "plain", "--print-value-only"], expect=["v"], rc=0),
    LCtl("timetolive expired", ["lease", "timetolive", "{E}"], expect=["lease <E> already expired"], rc=0),
    LCtl("list after expiry", ["lease", "list"], expect=["found 0 leases"], rc=0),
    # Both keys went in one revision: the revoke's delete is one txn.
    LCtl("revision after expiry", ["get", "plain", "-w", "json"], rc=0),
    # A kept-alive lease survives past its TTL.
    # (Steps alternate between the two servers, so each sees about twice the sleep:
    # ~6.5 s between keep-alives, ~15 s from the grant to the last check.)
    LCtl("grant 10", ["lease", "grant", "10"], grant="K", expect=["lease <K> granted with TTL(10s)"], rc=0),
    LCtl("put kept", ["put", "kept", "v", "--lease={K}"], expect=["OK"], rc=0),
    _sleep(3),
    LCtl("keep-alive 1", ["lease", "keep-alive", "--once", "{K}"], expect=["lease <K> keepalived with TTL(10)"], rc=0),
    _sleep(3),
    LCtl("keep-alive 2", ["lease", "keep-alive", "--once", "{K}"], expect=["lease <K> keepalived with TTL(10)"], rc=0),
    _sleep(1.5),
    LCtl("kept still there", ["get", "kept", "--print-value-only"], expect=["v"], rc=0),
], doc="the leader revokes expired leases (keys deleted in one revision); keep-alive extends")

RESTART = Group("lease-restart", [
    LCtl("grant 60", ["lease", "grant", "60"], grant="R", expect=["lease <R> granted with TTL(60s)"], rc=0),
    LCtl("put r1", ["put", "r1", "v", "--lease={R}"], expect=["OK"], rc=0),
    LCtl("put r2", ["put", "r2", "v", "--lease={R}"], expect=["OK"], rc=0),
    LCtl("put r2 detached", ["put", "r2", "v2"], expect=["OK"], rc=0),
    Restart("restart (SIGTERM)"),
    LCtl("timetolive --keys after restart", ["lease", "timetolive", "{R}", "--keys"], rc=0,
         expect=["lease <R> granted with TTL(60s), remaining(<ok>), attached keys([r1])"]),
    Restart("restart (SIGKILL)", kill=True),
    LCtl("list after kill", ["lease", "list"], expect=["found 1 leases", "<R>"], rc=0),
    LCtl("revoke after restart", ["lease", "revoke", "{R}"], expect=["lease <R> revoked"], rc=0),
    LCtl("r1 gone, r2 kept", ["get", "r", "--prefix", "--keys-only"], rc=0),
], doc="leases and attachments survive restarts (rebuilt from the lease column family and KV)")

LIST_ORDER = Group("lease-list-order", [
    LCtl("grant 30", ["lease", "grant", "30"], grant="A", rc=0),
    LCtl("grant 20", ["lease", "grant", "20"], grant="B", rc=0),
    LCtl("grant 60", ["lease", "grant", "60"], grant="C", rc=0),
    # etcd lists by expiry: B (20 s), A (30 s), C (60 s).
    LCtl("list by expiry", ["lease", "list"], expect=["found 3 leases", "<B>", "<A>", "<C>"], rc=0),
    LCtl("list json", ["lease", "list", "-w", "json"], rc=0),
], doc="lease list order (by expiry, as etcd)")

def _keepalive_just_after_expiry(cli):
    """grant 2 s leases with a key each; keep-alive each just after it expired, before the
    leader's next expiry pass (every 500 ms) revoked it: etcd's Renew answers TTL 0 only
    once the revoke is applied, so the key is gone by then"""
    rounds, out = 3, []
    for i in range(rounds):
        lease = cli.lease(2)
        granted = time.monotonic()  # the server's expiry is at most this + 2 s
        key = "ka-expired-%d" % i
        cli.put(key, "v", lease=lease)
        time.sleep(max(0.0, granted + 2.05 - time.monotonic()))
        ttls = [r.TTL for r in cli.refresh_lease(lease.id)]
        value, _ = cli.get(key)
        out.append("ttl %s, key %s" % (ttls, "present" if value is not None else "gone"))
    good = out.count("ttl [0], key gone")
    return "\n".join(["%d of %d keep-alives: ttl [0], key gone" % (good, rounds)] +
                     [o for o in out if o != "ttl [0], key gone"])


KEEPALIVE_EXPIRED = Group("lease-keepalive-expired", [
    Py("keep-alive of an expired lease", _keepalive_just_after_expiry,
       expect=["3 of 3 keep-alives: ttl [0], key gone"]),
], doc="a keep-alive of an expired, not yet revoked lease is answered after the revoke")

GROUPS = [BASICS, LIMITS, EXPIRY, RESTART, LIST_ORDER, KEEPALIVE_EXPIRED]
