"""Maintenance: `etcdctl alarm list/disarm`, the NOSPACE alarm raised by a small
--quota-backend-bytes (etcd's exact errors for put, txn and lease grant; deletes and
reads still work; compaction + defrag + disarm restore writes), and `etcdctl snapshot
save` (the file ends with the SHA-256 of the rest on both servers; its body is each
server's own format)."""

import hashlib
import json
import os
import re
import shutil
import tempfile
import time

import harness
from framework import Check, Ctl, Group
from test_etcdctl_kv import Txn, put

E_NOSPACE = "Error: etcdserver: mvcc: database space exceeded"
QUOTA = "1000000"
BIG = "x" * 130000


def _mask_member(text):
    return re.sub(r"(memberID\"?:\s*)\d+", lambda m: m.group(1) + "<id>", text)


QUORUMCTL_BIN = os.environ.get(
    "QUORUMCTL_BIN", os.path.join(harness.REPO_ROOT, "build", "bin", "quorumctl"))


def quorumctl_same_as_etcdctl(*args):
    def check(server):
        import subprocess
        want = harness.etcdctl(server.endpoint, list(args))
        try:
            p = subprocess.run([QUORUMCTL_BIN, "--endpoints=" + server.endpoint] + list(args),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as e:
            return "quorumctl failed to run: %s" % e
        got = p.stdout.decode("utf-8", "replace")
        # etcdctl's zap warn lines aside, the error lines must match too
        errs = lambda t: [l for l in t.splitlines() if l.startswith("Error:")]  # noqa: E731
        got_err = errs(p.stderr.decode("utf-8", "replace"))
        if got_err != errs(want.err):
            return "quorumctl %s stderr differs: %r vs %r" % (" ".join(args), got_err, errs(want.err))
        if p.returncode == want.rc and got == want.out:
            return "quorumctl %s: same as etcdctl (rc=%s)" % (" ".join(args), p.returncode)
        return "quorumctl %s differs: rc %s vs %s, out %r vs %r" % (
            " ".join(args), p.returncode, want.rc, got, want.out)
    check.__doc__ = "quorumctl %s prints what etcdctl prints" % " ".join(args)
    return check


def status_errors(server):
    """endpoint status -w json: its Errors while NOSPACE (member id masked), and
    endpoint health (etcdctl 3.4 asks for alarms with an already-canceled context, so
    it reports healthy)"""
    r = harness.etcdctl(server.endpoint, ["endpoint", "status", "-w", "json"])
    errs = json.loads(r.out)[0]["Status"].get("errors", [])
    h = harness.etcdctl(server.endpoint, ["endpoint", "health"])
    text = (h.out + harness.norm_stderr(h.err)).replace(server.endpoint, "<ep>").strip()
    health = re.sub(r"took = \S+", "took = <t>", text)
    return "errors=%s health=%s rc=%s" % (_mask_member(json.dumps(errs)), health, h.rc)


def fill_until_nospace(server):
    """put 130 kB values under one key until the quota refuses one (at most 40)"""
    accepted = 0
    for _ in range(40):
        r = harness.etcdctl(server.endpoint, ["put", "big"], stdin=BIG)
        if r.rc != 0:
            last = r.err.strip().splitlines()[-1] if r.err.strip() else ""
            return "accepted some=%s then rc=%s %s" % (accepted > 0, r.rc, last)
        accepted += 1
    return "40 puts accepted, quota never hit"


def compact_and_defrag(server):
    """compaction at the current revision + defrag (revision masked)"""
    r = harness.etcdctl(server.endpoint, ["get", "nothing", "-w", "json"])
    rev = json.loads(r.out)["header"]["revision"]
    c = harness.etcdctl(server.endpoint, ["compaction", "--physical", str(rev)])
    d = harness.etcdctl(server.endpoint, ["defrag"])
    time.sleep(0.3)  # quorum samples its backend size at most every 20 ms
    return "compaction rc=%s %s | defrag rc=%s %s" % (
        c.rc, c.out.strip().replace(str(rev), "<rev>"), d.rc,
        d.out.strip().replace(server.endpoint, "<ep>"))


NOSPACE = Group("alarm-nospace", extra_args=["--quota-backend-bytes", QUOTA], steps=[
    Ctl("alarm list, none", ["alarm", "list"], rc=0),
    Ctl("alarm list -w json, none", ["alarm", "list", "-w", "json"], expect=["{}"], rc=0),
    Ctl("alarm disarm, none", ["alarm", "disarm"], rc=0),
    put("small", "v"),
    Check("fill until NOSPACE", fill_until_nospace,
          expect=["accepted some=True then rc=1 " + E_NOSPACE]),
    Ctl("alarm list shows NOSPACE", ["alarm", "list"], mask=_mask_member,
        expect=["memberID:<id> alarm:NOSPACE "], rc=0),
    Ctl("alarm list -w json shows NOSPACE", ["alarm", "list", "-w", "json"], mask=_mask_member,
        expect=['   "memberID": <id>'], rc=0),
    Check("quorumctl alarm list", quorumctl_same_as_etcdctl("alarm", "list"),
          expect=["quorumctl alarm list: same as etcdctl (rc=0)"]),
    Check("quorumctl alarm list -w json", quorumctl_same_as_etcdctl("alarm", "list", "-w", "json"),
          expect=["quorumctl alarm list -w json: same as etcdctl (rc=0)"]),
    Check("quorumctl put while NOSPACE", quorumctl_same_as_etcdctl("put", "k", "v"),
          expect=["quorumctl put k v: same as etcdctl (rc=1)"]),
    Check("endpoint status and health while NOSPACE", status_errors,
          expect=['errors=["memberID:<id> alarm:NOSPACE "] health=<ep> is healthy: '
                  'successfully committed proposal: took = <t> rc=0']),
    Ctl("put while NOSPACE", ["put", "k", "v"], expect=[E_NOSPACE], rc=1),
    Ctl("small put of an existing key while NOSPACE", ["put", "small", "w"], expect=[E_NOSPACE], rc=1),
    Txn("txn with a put while NOSPACE", [], ["put t v"], [], expect=[E_NOSPACE], rc=1),
    Ctl("lease grant while NOSPACE", ["lease", "grant", "100"],
        expect=["Error: failed to grant lease (etcdserver: mvcc: database space exceeded)"], rc=1),
    Ctl("get still works", ["get", "small"], expect=["v"], rc=0),
    Ctl("del still works", ["del", "big"], expect=["1"], rc=0),
    Check("compaction and defrag", compact_and_defrag),
    Ctl("alarm disarm", ["alarm", "disarm"], mask=_mask_member,
        expect=["memberID:<id> alarm:NOSPACE "], rc=0),
    Ctl("alarm list after disarm", ["alarm", "list"], rc=0),
    Ctl("put after disarm", ["put", "k", "v"], expect=["OK"], rc=0),
    Ctl("alarm disarm again finds nothing", ["alarm", "disarm"], rc=0),
    # revisions differ: each server accepts as many big puts as its own size allows
    Ctl("state", ["get", "", "--prefix", "-w", "json"], rev=True, rc=0),
])


def snapshot_save(server):
    """etcdctl snapshot save FILE: rc, stdout, .part gone, and the last 32 bytes are the
    SHA-256 of everything before them"""
    d = tempfile.mkdtemp(prefix="e2e-snap-")
    try:
        path = os.path.join(d, "snap.db")
        r = harness.etcdctl(server.endpoint, ["snapshot", "save", path])
        out = r.out.replace(path, "<file>").strip()
        if not os.path.exists(path):
            return "rc=%s out=%s err=%s no file" % (r.rc, out, r.err.strip()[-300:])
        data = open(path, "rb").read()
        digest_ok = len(data) > 32 and hashlib.sha256(data[:-32]).digest() == data[-32:]
        return "rc=%s out=%s part_left=%s sha256_trailer_ok=%s" % (
            r.rc, out, os.path.exists(path + ".part"), digest_ok)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _start_restored(server, d):
    """Saves `server`'s snapshot with etcdctl into dir `d` and starts a new member from
    it with --restore-snapshot: (member, None), or (None, why not)."""
    path = os.path.join(d, "snap.db")
    r = harness.etcdctl(server.endpoint, ["snapshot", "save", path])
    if r.rc != 0:
        return None, "save failed: %s" % r.err.strip()[-300:]
    fresh = harness.Server("quorum", server.binary, name="restored",
                           extra_args=["--restore-snapshot", path])
    fresh.start()
    return fresh, None


def restore_into_new_member(server):
    """quorum --restore-snapshot: a new single-member cluster started from a file saved
    with etcdctl answers the same keys, history and revision as the original"""
    d = tempfile.mkdtemp(prefix="e2e-restore-")
    fresh = None
    try:
        before = harness.etcdctl(server.endpoint, ["get", "", "--prefix", "-w", "json"]).out
        old = harness.etcdctl(server.endpoint, ["get", "a", "--rev", "2"]).out
        fresh, err = _start_restored(server, d)
        if err:
            return err
        after = harness.etcdctl(fresh.endpoint, ["get", "", "--prefix", "-w", "json"]).out
        old_after = harness.etcdctl(fresh.endpoint, ["get", "a", "--rev", "2"]).out
        put = harness.etcdctl(fresh.endpoint, ["put", "c", "3", "-w", "json"]).out

        def kvs_rev(text):
            j = json.loads(text)
            return j["kvs"], j["header"]["revision"]
        same = kvs_rev(before) == kvs_rev(after)
        next_rev = json.loads(put)["header"]["revision"] == kvs_rev(before)[1] + 1
        return "same kvs and revision=%s, history kept=%s, next put at revision+1=%s" % (
            same, old == old_after and old.strip() != "", next_rev)
    except harness.ServerStartError as e:
        return "restored member did not start: %s" % e
    finally:
        if fresh is not None:
            fresh.stop()
        shutil.rmtree(d, ignore_errors=True)


def restored_member_survives_power_cut(server):
    """a member started with --restore-snapshot that loses RocksDB's unsynced writes
    (a power cut: its raft state lives in the fsynced journal) restarts with the same
    flags and keeps every acknowledged write, instead of seeding itself again"""
    import glob
    import signal
    d = tempfile.mkdtemp(prefix="e2e-restore-cut-")
    fresh = None
    try:
        fresh, err = _start_restored(server, d)
        if err:
            return err
        for i in range(20):
            harness.etcdctl(fresh.endpoint, ["put", "cut/%02d" % i, "v"])
        fresh._terminate(signal.SIGKILL)
        # RocksDB's WAL past its last synced write (the journal's start mark) is what
        # a power cut may lose: cut it inside the first raft hard state written after.
        logs = sorted(glob.glob(os.path.join(fresh.tmp, "data", "member", "db", "*.log")))
        data = open(logs[-1], "rb").read()
        at = data.find(b"hard_state", data.find(b"journal"))
        if at < 0:
            return "no hard state after the journal mark in %s" % logs[-1]
        with open(logs[-1], "r+b") as f:
            f.truncate(at)
        fresh._launch(25.0)
        got = harness.etcdctl(fresh.endpoint, ["get", "cut/", "--prefix", "-w", "json"])
        if got.rc != 0:
            return "get after the restart failed: %s" % got.err.strip()[-200:]
        return "restarted, acknowledged keys kept: %s" % json.loads(got.out).get("count", 0)
    except harness.ServerStartError as e:
        return "restored member did not restart: %s" % str(e).splitlines()[-1][-200:]
    finally:
        if fresh is not None:
            fresh.stop()
        shutil.rmtree(d, ignore_errors=True)


def quorumctl_status(server):
    """quorumctl snapshot status on a file etcdctl saved from the server (Quorum's
    format, or etcd's bbolt db): the revision is the server's, every format works, a
    file cut in half is refused"""
    import subprocess
    d = tempfile.mkdtemp(prefix="e2e-status-")
    try:
        path = os.path.join(d, "snap.db")
        harness.etcdctl(server.endpoint, ["snapshot", "save", path])
        rev = json.loads(harness.etcdctl(server.endpoint, ["get", "x", "-w", "json"]).out)["header"]["revision"]

        def status(*w):
            p = subprocess.run([QUORUMCTL_BIN, "snapshot", "status", path] + list(w),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
            return p.returncode, p.stdout.decode(), p.stderr.decode()
        rc, js, _ = status("-w", "json")
        j = json.loads(js)
        _, simple, _ = status()
        _, table, _ = status("-w", "table")
        data = open(path, "rb").read()
        open(path, "wb").write(data[:len(data) // 2])
        bad_rc, _, bad_err = status()
        return "rc=%s revision ok=%s keys>0=%s simple fields=%d table header=%s damaged rc=%s %s" % (
            rc, j["revision"] == rev, j["totalKey"] > 0, len(simple.split(", ")),
            "| TOTAL KEYS |" in table, bad_rc, "corrupt" in bad_err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


_status = Check("quorumctl snapshot status", quorumctl_status,
                expect=["rc=0 revision ok=True keys>0=True simple fields=4 table header=True "
                        "damaged rc=1 True"])

_restore = Check("quorum --restore-snapshot", restore_into_new_member,
                 expect=["same kvs and revision=True, history kept=True, next put at revision+1=True"])
_restore.quorum_only = True  # etcd restores with `etcdctl snapshot restore` (a bbolt file)

_restore_cut = Check("quorum --restore-snapshot, then a power cut", restored_member_survives_power_cut,
                     expect=["restarted, acknowledged keys kept: 20"])
_restore_cut.quorum_only = True

SNAPSHOT = Group("snapshot-save", steps=[
    put("a", "1"),
    put("b", "2"),
    Check("etcdctl snapshot save", snapshot_save,
          expect=["rc=0 out=Snapshot saved at <file> part_left=False sha256_trailer_ok=True"]),
    Ctl("still serving after the snapshot", ["get", "", "--prefix"], rc=0),
    put("a", "1-again"),
    _status,
    _restore,
    _restore_cut,
])

def member_add_sorts_peer_urls(server):
    """member add --learner with two peer URLs: the member is stored with them sorted"""
    r = harness.etcdctl(server.endpoint, ["member", "add", "x", "--learner",
                                          "--peer-urls=http://127.0.0.1:2,http://127.0.0.1:1",
                                          "-w", "json"])
    if r.rc != 0:
        return "rc=%d %s" % (r.rc, r.err.strip())
    m = json.loads(r.out)["member"]
    listed = json.loads(harness.etcdctl(server.endpoint, ["member", "list", "-w", "json"]).out)
    urls = [x.get("peerURLs") for x in listed["members"] if x["ID"] == m["ID"]]
    rm = harness.etcdctl(server.endpoint, ["member", "remove", "%x" % m["ID"]])
    return "added=%s listed=%s removed rc=%d" % (m["peerURLs"], urls, rm.rc)


def quorumctl_check_perf(server):
    """quorumctl check perf, shortened to 3 s: stdout is etcdctl's progress line
    (cheggaaa/pb without a terminal: "\\r N / 3  PP.PP% 00mSSs" every 200 ms, on
    stdout even when piped; the time left counts down), the final
    "3 / 3  100.00% 3s" line, then the verdict lines. (etcdctl always runs 60 s, so its output was captured by hand: see
    docs/quorumctl.md.)"""
    import subprocess
    env = dict(os.environ, QUORUMCTL_CHECK_PERF_SECONDS="3")
    try:
        p = subprocess.run([QUORUMCTL_BIN, "--endpoints=" + server.endpoint, "check", "perf"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "quorumctl failed to run: %s" % e
    out = p.stdout.decode("utf-8", "replace")
    if not out.startswith("\r"):
        return "stdout does not start with the progress line: %r" % out[:80]
    lines = out.split("\r")[1:]
    final = lines[-1].split("\n", 1)[0] if lines else ""
    progress = lines[:-1]
    shape = re.compile(r"^ ([0-3]) / 3  +\d+\.\d\d%(?: 00m(\d\d)s)?$")
    bad, lefts = [], []
    for line in progress:
        m = shape.match(line)
        if not m:
            bad.append(line)
            continue
        count, left = int(m.group(1)), int(m.group(2) or 0)
        # pb's estimate counts down within each second: 3-count right after
        # the count changes, one less after that (none once under a second)
        if count > 0 and left not in (3 - count, 3 - count - 1):
            bad.append(line)
        if count > 0:
            lefts.append(left)
    if lefts != sorted(lefts, reverse=True):
        bad.append("time left goes up: %r" % lefts)
    tail = lines[-1].split("\n")[1:] if lines else []
    verdicts = [l for l in tail if l]
    ok_verdicts = bool(verdicts) and all(re.match(r"^(PASS|FAIL)(: .*)?$", l) for l in verdicts) \
        and verdicts[-1] in ("PASS", "FAIL")
    return "progress lines=%s bad=%r final=%r verdict lines ok=%s" % (
        len(progress) >= 10, bad[:2], final, ok_verdicts)


_check_perf = Check("quorumctl check perf progress", quorumctl_check_perf,
                    expect=["progress lines=True bad=[] final=' 3 / 3  100.00% 3s' "
                            "verdict lines ok=True"])

MEMBERS = Group("members", [
    Check("member add sorts peer URLs", member_add_sorts_peer_urls),
], doc="membership changes through etcdctl, outputs compared")

CHECK_PERF = Group("check-perf", [_check_perf],
                   doc="quorumctl check perf against both servers (its output shape)")

GROUPS = [NOSPACE, SNAPSHOT, MEMBERS, CHECK_PERF]
