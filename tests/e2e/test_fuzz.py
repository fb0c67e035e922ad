"""Seeded differential random-operation fuzzer (KV, Txn, Compact, Lease, Watch).

Each group is one seed: random.Random(seed) generates a sequence of gRPC requests
against a tiny key space full of edge cases (b"\\x00", b"\\xff", b"\\xff\\xff", prefix
ends, from-key ranges, range_end < key, ...). The framework runs every step on a
FRESH etcd, then on a FRESH quorum; the rendered responses (or "ERROR <CODE>: <msg>")
must be identical. Revisions are never masked.

A small Python model of etcd 3.4's MVCC / txn / lease semantics tracks the current
revision, the compact revision, the keys and the granted leases while generating, so
that requests can aim at interesting values (past / current / future / compacted
revisions, the current mod_revision of a key in a compare, granted lease ids, ...).
The model only steers generation; it never decides pass/fail (etcd is the oracle).
E2E_FUZZ_MODEL_CHECK=1 prints a warning when etcd's header revision disagrees
with the model (to keep the generator honest).

Lease ids are CLIENT-CHOSEN (LeaseGrant.ID) with long TTLs, so ids agree on both
servers and nothing expires during a run. The remaining TTL in LeaseTimeToLive is
timing: it is checked to lie in [granted-60, granted+5] (etcd extends leases by
an election timeout when it restarts) and then masked. Attached keys
and LeaseLeases are sorted (etcd emits them in Go map / expiry order).

Inputs avoided because etcd 3.4 itself panics on them (no oracle):
  * a put with ignore_value / ignore_lease in a txn that also contains a from-key
    delete (range_end "\\x00"): etcd's duplicate-key check does not see from-key
    deletes, the put then fails after the delete ran and the apply loop panics
    ("unexpected error during txn"). Such puts lose their ignore_* flag.
  * sort_order / sort_target outside the enum (nil sorter -> panic).
  * lease TTLs below etcd's minimum (they would expire during the run).
  * refused range-revision txns and lease grants/revokes right before a restart
    (etcd's WAL replay re-applies them differently; see RESTART_WINDOW).
Each group also has one restart (SIGTERM; SIGKILL when seed % 3 == 0) of both
servers on their data dirs, mid-watches (random ranges, start revisions, filters,
prev_kv) and single LeaseKeepAlive round trips.
Sort ties: at most 12 distinct keys exist, so etcd's sort.Sort (insertion sort up
to 12 elements) keeps ties in key order and that order is compared.
Watch: no watch starts AT the compact revision, only after it:
a tombstone at exactly the compact revision is removed by etcd's ASYNCHRONOUS
physical compaction, so whether a watch from the compact revision reports it is a race
inside etcd.

Run:   tests/e2e/run.py -m test_fuzz            (all seeds)
       tests/e2e/run.py -m test_fuzz -k fuzz-s3/   (one seed)
"""

import base64
import hashlib
import json
import os
import queue
import random
import sys
import threading
import time

import grpcutil
from framework import Group, Restart, Step, _client_for, _grpc_lib_text

grpcutil.UNARY.setdefault("Lease", {}).update({
    "LeaseGrant": ("LeaseGrantRequest", "LeaseGrantResponse"),
    "LeaseRevoke": ("LeaseRevokeRequest", "LeaseRevokeResponse"),
    "LeaseTimeToLive": ("LeaseTimeToLiveRequest", "LeaseTimeToLiveResponse"),
    "LeaseLeases": ("LeaseLeasesRequest", "LeaseLeasesResponse"),
})

def _seeds(spec):
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


# E2E_FUZZ_SEEDS="1-200" / "7,9" explores more; the default set is the regression suite.
SEEDS = _seeds(os.environ.get("E2E_FUZZ_SEEDS", "1-6"))
STEPS_PER_GROUP = int(os.environ.get("E2E_FUZZ_STEPS", "250"))
MODEL_CHECK = os.environ.get("E2E_FUZZ_MODEL_CHECK") == "1"
MASK = ("cluster_id", "member_id", "raft_term")
# etcd 3.4 is not a usable oracle across a restart for some entries it replays from
# its WAL at start-up (those after the consistent index its backend last saved: every
# entry after the last MVCC write, and after SIGKILL also the last ~100 ms of writes):
#  * it strips the range ops from a txn it applies without a waiting client, which is
#    the case on replay (etcd-io/etcd#18667): a txn REFUSED for a range op's revision
#    ("future revision" / "has been compacted") is APPLIED on replay -> phantom writes;
#  * lease grants/revokes are already in its backend when earlier entries are
#    replayed: a put refused with "requested lease not found" whose lease id was
#    granted later is APPLIED on replay (a later revoke would drop an acked put).
# Etcd then comes back with extra revisions. So in the RESTART_WINDOW steps before a
# restart only range revisions etcd accepts and no LeaseGrant/LeaseRevoke are
# generated, and a plain put right before the restart advances the consistent index.
RESTART_WINDOW = 40

# at most 12 distinct keys ever exist (see wide_txn)
KEYS = [b"a", b"a/1", b"a/2", b"b", b"\x00", b"\xff", b"\xff\xff", b"a0", b"foo"]
# (key, range_end) pairs that are not single keys
RANGES = [(b"a", b"b"), (b"a/", b"a0"), (b"\xff", b"\x00"), (b"\x00", b"\x00"),
          (b"a", b"\x00"), (b"b", b"\x00"), (b"a/1", b"a/2"), (b"a0", b"a"),
          (b"\xff\xff", b"\x00"), (b"a", b"a"), (b"\x00", b"\xff"), (b"b", b"a/1"),
          (b"\x00", b"\x01"), (b"a/2", b"\xff\xff")]
LEASE_POOL = [1, 2, 0x7fffffffffffffff, 0x1234abcd]
UNKNOWN_LEASE = 0xdead
TTLS = [600, 900, 3600]

# CompareTarget / CompareResult / SortTarget numbers
VERSION, CREATE, MOD, VALUE, LEASE = range(5)
UNION = {VERSION: "version", CREATE: "create_revision", MOD: "mod_revision",
         VALUE: "value", LEASE: "lease"}


# ---------------------------------------------------------------------------
# model of etcd 3.4 semantics (generation only)

class Reject(Exception):
    pass


def in_range(k, key, end):
    if not end:
        return k == key
    if end == b"\x00":
        return k >= key
    return key <= k < end


class Model:
    def __init__(self):
        self.rev = 1
        self.compact = -1          # etcd's compactMainRev starts at -1
        self.kv = {}               # key -> dict(value, create, mod, version, lease)
        self.leases = {}           # id -> ttl
        self.events = []           # (revision, "PUT"/"DELETE", key), for watch expectations

    # --- standalone requests; each returns nothing, updates state, raises Reject
    def put(self, p):
        _check_put(p)
        if p.get("lease") and p["lease"] not in self.leases:
            raise Reject("lease")
        kv = dict(self.kv)
        _apply_put(kv, p, self.rev + 1)
        self.kv = kv
        self.rev += 1
        self.events.append((self.rev, "PUT", p["key"]))

    def delete(self, d):
        if not d.get("key"):
            raise Reject("empty")
        gone = [k for k in self.kv if in_range(k, d["key"], d.get("range_end", b""))]
        for k in gone:
            del self.kv[k]
        if gone:
            self.rev += 1
            self.events += [(self.rev, "DELETE", k) for k in sorted(gone)]

    def compact_to(self, r):
        if r <= self.compact:
            raise Reject("compacted")
        if r > self.rev:
            raise Reject("future")
        self.compact = r

    def grant(self, lid, ttl):
        if lid in self.leases or lid == 0 or ttl > 9000000000:
            raise Reject("lease")
        self.leases[lid] = ttl

    def revoke(self, lid):
        if lid not in self.leases:
            raise Reject("lease")
        del self.leases[lid]
        gone = [k for k, v in self.kv.items() if v["lease"] == lid]
        for k in gone:
            del self.kv[k]
        if gone:
            self.rev += 1
            self.events += [(self.rev, "DELETE", k) for k in sorted(gone)]

    # --- txn, as etcd 3.4 v3rpc + applierV3backend.Txn
    def txn(self, t):
        _check_txn(t, 128)
        _intervals(t.get("success", []))
        _intervals(t.get("failure", []))
        path = self._path(t)
        self._check_path(t, list(path))
        work, evs = dict(self.kv), []
        changed = self._exec(t, list(path), work, self.rev + 1, evs)
        if changed:
            self.kv = work
            self.rev += 1
            self.events += evs

    def _cmp(self, c):
        end = c.get("range_end", b"")
        keys = [k for k in self.kv if in_range(k, c["key"], end)]
        tgt = c.get("target", 0)
        if not keys:
            if tgt == VALUE:
                return False
            return _cmp_kv(c, None)
        return all(_cmp_kv(c, self.kv[k]) for k in keys)

    def _path(self, t):
        ok = all(self._cmp(c) for c in t.get("compare", []))
        path = [ok]
        for op in t.get("success" if ok else "failure", []):
            if "request_txn" in op:
                path += self._path(op["request_txn"])
        return path

    def _check_path(self, t, path):
        ok = path.pop(0)
        for op in t.get("success" if ok else "failure", []):
            if "request_txn" in op:
                self._check_path(op["request_txn"], path)
            elif "request_put" in op:
                p = op["request_put"]
                if (p.get("ignore_value") or p.get("ignore_lease")) and p["key"] not in self.kv:
                    raise Reject("key not found")
                if p.get("lease") and p["lease"] not in self.leases:
                    raise Reject("lease")
            elif "request_range" in op:
                r = op["request_range"].get("revision", 0)
                if r != 0 and (r > self.rev or r < self.compact):
                    raise Reject("range rev")

    def _exec(self, t, path, work, newrev, evs):
        ok = path.pop(0)
        changed = False
        for op in t.get("success" if ok else "failure", []):
            if "request_txn" in op:
                changed |= self._exec(op["request_txn"], path, work, newrev, evs)
            elif "request_put" in op:
                _apply_put(work, op["request_put"], newrev)
                evs.append((newrev, "PUT", op["request_put"]["key"]))
                changed = True
            elif "request_delete_range" in op:
                d = op["request_delete_range"]
                for k in sorted(k for k in work if in_range(k, d["key"], d.get("range_end", b""))):
                    del work[k]
                    evs.append((newrev, "DELETE", k))
                    changed = True
        return changed

    def watch_count(self, key, end, start, filters):
        """Events a watch (key, end, start_revision, filters) reports, as etcd 3.4's
        v3rpc normalises it: empty key -> "\x00", range_end "\x00" -> from-key."""
        key = key or b"\x00"
        if start <= 0:
            return 0
        if end and end != b"\x00" and key >= end:
            return 0
        skip = {0: "PUT", 1: "DELETE"}
        return sum(1 for rev, typ, k in self.events
                   if rev >= start and in_range(k, key, end)
                   and typ not in [skip[f] for f in filters])


def _check_put(p):
    if not p.get("key"):
        raise Reject("empty")
    if p.get("ignore_value") and p.get("value"):
        raise Reject("value provided")
    if p.get("ignore_lease") and p.get("lease"):
        raise Reject("lease provided")


def _apply_put(work, p, newrev):
    k = p["key"]
    old = work.get(k)
    if (p.get("ignore_value") or p.get("ignore_lease")) and old is None:
        raise Reject("key not found")
    work[k] = dict(value=old["value"] if p.get("ignore_value") else p.get("value", b""),
                   lease=old["lease"] if p.get("ignore_lease") else p.get("lease", 0),
                   create=old["create"] if old else newrev,
                   version=old["version"] + 1 if old else 1,
                   mod=newrev)


def _cmp_kv(c, kv):
    tgt = c.get("target", 0)
    want_field = UNION.get(tgt)
    if tgt == VALUE:
        have = kv["value"] if kv else b""
        want = c.get("value", b"")
        res = (have > want) - (have < want)
    elif tgt in UNION:
        have = kv[{VERSION: "version", CREATE: "create", MOD: "mod", LEASE: "lease"}[tgt]] if kv else 0
        want = c.get(want_field, 0)
        res = (have > want) - (have < want)
    else:
        res = 0
    r = c.get("result", 0)
    return {0: res == 0, 1: res > 0, 2: res < 0, 3: res != 0}.get(r, True)


def _check_op(op, budget):
    if "request_range" in op:
        if not op["request_range"].get("key"):
            raise Reject("empty")
    elif "request_put" in op:
        _check_put(op["request_put"])
    elif "request_delete_range" in op:
        if not op["request_delete_range"].get("key"):
            raise Reject("empty")
    elif "request_txn" in op:
        _check_txn(op["request_txn"], budget)
    else:
        raise Reject("empty op")


def _check_txn(t, maxops):
    opc = max(len(t.get("compare", [])), len(t.get("success", [])), len(t.get("failure", [])))
    if opc > maxops:
        raise Reject("too many ops")
    for c in t.get("compare", []):
        if not c.get("key"):
            raise Reject("empty")
    for op in t.get("success", []) + t.get("failure", []):
        _check_op(op, maxops - opc)


def _hit(dels, k):
    # etcd 3.4's adt interval tree: [b, e) with string comparison; a from-key delete
    # (e == "\x00") never intersects anything.
    return any(b <= k < e for b, e in dels)


def _intervals(reqs):
    dels = []
    for op in reqs:
        if "request_delete_range" in op:
            d = op["request_delete_range"]
            end = d.get("range_end", b"")
            dels.append((d["key"], end) if end else (d["key"], d["key"] + b"\x00"))
    puts = set()
    for op in reqs:
        if "request_txn" not in op:
            continue
        t = op["request_txn"]
        pt, dt = _intervals(t.get("success", []))
        pe, de = _intervals(t.get("failure", []))
        for k in pt:
            if k in puts or _hit(dels, k):
                raise Reject("dup")
            puts.add(k)
        for k in pe:
            if (k in puts and k not in pt) or _hit(dels, k):
                raise Reject("dup")
            puts.add(k)
        dels += dt + de
    for op in reqs:
        if "request_put" in op:
            k = op["request_put"]["key"]
            if k in puts or _hit(dels, k):
                raise Reject("dup")
            puts.add(k)
    return puts, dels


# ---------------------------------------------------------------------------
# request generation

class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.m = Model()
        self.seed = seed
        self.safe_revisions = False

    # building blocks
    def key(self, pool=None, empty_p=0.01):
        if self.rng.random() < empty_p:
            return b""
        return self.rng.choice(pool or KEYS)

    def bounds(self, pool=None):
        r = self.rng.random()
        if r < 0.5:
            return self.key(pool), b""
        if r < 0.85:
            return self.rng.choice(RANGES)
        k = self.key(pool, empty_p=0)
        return k, self.rng.choice(KEYS + [b"\x00", k + b"\x00"])

    def value(self):
        r = self.rng.random()
        if r < 0.12:
            return b""
        if r < 0.2:
            return b"\x00\xff\n\r"
        if r < 0.25:
            return ("é%d" % self.rng.randrange(3)).encode()
        if r < 0.3:
            n = self.rng.choice([1000, 4096, 30000, 100000])
            return (b"big%d-" % self.rng.randrange(10)) * (n // 5)
        return b"v%d" % self.rng.randrange(8)

    def revision(self):
        m, r = self.m, self.rng.random()
        if self.safe_revisions:
            # only revisions etcd accepts (see RESTART_WINDOW)
            return self.rng.choice([0, self.rng.randint(max(1, m.compact), m.rev)])
        if r < 0.35:
            return self.rng.randint(1, m.rev)
        if r < 0.5:
            return m.rev
        if r < 0.6:
            return m.rev + 1
        if r < 0.65:
            return m.rev + self.rng.randint(2, 50)
        if r < 0.8 and m.compact > 0:
            return self.rng.choice([m.compact, m.compact - 1, m.compact + 1])
        return self.rng.choice([0, -1, -2, 1])

    def lease_id(self):
        r = self.rng.random()
        if r < 0.1:
            return UNKNOWN_LEASE
        if self.m.leases and r < 0.8:
            return self.rng.choice(sorted(self.m.leases))
        return self.rng.choice(LEASE_POOL)

    # requests (dicts with proto field names)
    def put_req(self, pool=None):
        rng = self.rng
        p = {"key": self.key(pool), "value": self.value()}
        if rng.random() < 0.4:
            p["prev_kv"] = True
        if rng.random() < 0.25:
            p["lease"] = self.lease_id()
        if rng.random() < 0.12:
            p["ignore_value"] = True
            if rng.random() < 0.85:
                p["value"] = b""
        if rng.random() < 0.12:
            p["ignore_lease"] = True
            if rng.random() < 0.85:
                p.pop("lease", None)
        return {k: v for k, v in p.items() if v not in (b"", 0, False)} | {"key": p["key"]}

    def range_req(self, pool=None):
        rng = self.rng
        k, e = self.bounds(pool)
        r = {"key": k}
        if e:
            r["range_end"] = e
        if rng.random() < 0.3:
            r["limit"] = rng.choice([1, 2, 3, 5, -1, 100])
        x = rng.random()
        if x < 0.3:
            r["sort_order"] = rng.randrange(3)
            r["sort_target"] = rng.randrange(5)
        elif x < 0.4:
            r["sort_target"] = rng.randrange(1, 5)     # target without order
        if rng.random() < 0.2:
            r["keys_only"] = True
        if rng.random() < 0.15:
            r["count_only"] = True
        if rng.random() < 0.15:
            r["serializable"] = True
        if rng.random() < 0.3:
            r["revision"] = self.revision()
        for f in ("min_mod_revision", "max_mod_revision", "min_create_revision", "max_create_revision"):
            if rng.random() < 0.1:
                r[f] = rng.randint(0, self.m.rev + 1)
        return r

    def del_req(self, pool=None):
        k, e = self.bounds(pool)
        d = {"key": k}
        if e:
            d["range_end"] = e
        if self.rng.random() < 0.5:
            d["prev_kv"] = True
        return d

    def compare(self, pool):
        rng, m = self.rng, self.m
        if rng.random() < 0.2:
            k, e = self.bounds(pool)
        else:
            k, e = self.key(pool, empty_p=0.005), b""
        tgt, res = rng.randrange(5), rng.randrange(4)
        c = {"key": k, "target": tgt, "result": res}
        if e:
            c["range_end"] = e
        cur = m.kv.get(k)
        field = UNION[tgt]
        if rng.random() < 0.06:
            field = rng.choice(list(UNION.values()))   # union does not match the target
        use_cur = cur is not None and rng.random() < 0.6
        if field == "value":
            v = cur["value"] if use_cur else self.value()
        elif field == "lease":
            v = cur["lease"] if use_cur else rng.choice([0] + LEASE_POOL)
        elif field == "version":
            v = cur["version"] if use_cur else rng.randint(0, 4)
        else:
            v = cur[{"create_revision": "create", "mod_revision": "mod"}[field]] if use_cur \
                else rng.randint(0, m.rev + 1)
        c[field] = v
        return c

    def txn_req(self, depth=0, pool=None):
        rng = self.rng
        if pool is None:
            pool = rng.sample(KEYS, rng.choice([2, 3, 5, 9, 9]))
        t = {}
        nc = rng.choice([0, 1, 1, 1, 2, 3])
        if nc:
            t["compare"] = [self.compare(pool) for _ in range(nc)]
        for branch in ("success", "failure"):
            n = rng.choice([0, 1, 2, 2, 3, 4])
            if n:
                t[branch] = [self.op(depth, pool) for _ in range(n)]
        return t

    def op(self, depth, pool):
        r = self.rng.random()
        if r < 0.015:
            return {}                                   # a RequestOp with no request
        if r < 0.4:
            return {"request_put": self.put_req(pool)}
        if r < 0.7:
            return {"request_range": self.range_req(pool)}
        if r < 0.88 or depth >= 2:
            return {"request_delete_range": self.del_req(pool)}
        return {"request_txn": self.txn_req(depth + 1, pool)}

    def wide_txn(self):
        """Many ops: checks the 128-op limit, also its nested budget (128 - outer ops)."""
        n_outer = self.rng.choice([1, 60, 100, 128])
        n_inner = self.rng.choice([10, 28, 29, 68, 129])
        ops = [{"request_range": {"key": b"w%03d" % i}} for i in range(n_outer - 1)]
        # Ranges, not puts: more than 12 keys would make sorted ranges compare Go's
        # unstable sort.Sort tie order (pdqsort beyond 12 elements; below, insertion sort
        # keeps ties in key order, which IS compared).
        ops.append({"request_txn": {"success": [{"request_range": {"key": b"n%03d" % i}}
                                                for i in range(n_inner - 1)]
                                    + [{"request_put": {"key": b"wide", "value": b"x"}}]}})
        return {"success": ops}


# ---------------------------------------------------------------------------
# steps

def _build(pb, cls_name, d):
    cls = getattr(pb, cls_name)
    kw = {}
    for k, v in d.items():
        f = cls.DESCRIPTOR.fields_by_name[k]
        if f.message_type is not None:
            sub = f.message_type.name
            if f.label == f.LABEL_REPEATED:
                kw[k] = [_build(pb, sub, x) for x in v]
            else:
                kw[k] = _build(pb, sub, v)
        else:
            kw[k] = v
    return cls(**kw)


def _short(obj):
    """Long strings (big values) as length + digest, so diffs stay readable."""
    if isinstance(obj, dict):
        return {k: _short(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_short(x) for x in obj]
    if isinstance(obj, str) and len(obj) > 160:
        return "<%d chars %s..., sha1 %s>" % (len(obj), obj[:24], hashlib.sha1(obj.encode()).hexdigest()[:12])
    return obj


def _b64(s):
    try:
        return "b64:" + base64.b64decode(s).decode("utf-8", "backslashreplace")
    except Exception:  # noqa: BLE001
        return s


def _render(rpc, status, resp):
    text = grpcutil.render(status, resp, mask_keys=MASK)
    if status != "OK":
        return _grpc_lib_text(text)
    d = json.loads(text)
    if rpc == "HashKV":
        # The hash is implementation-defined (etcd: crc32c seeded with its bolt bucket
        # name, so never 0; quorum's is 0 over an empty store): masked even when
        # unset. The header, compact_revision and the errors are compared.
        d["hash"] = "<implementation-defined>"
    if rpc == "LeaseTimeToLive":
        if "keys" in d:
            d["keys"] = sorted(_b64(k) for k in d["keys"])
        if "TTL" in d and d.get("grantedTTL"):
            ttl, g = int(d["TTL"]), int(d["grantedTTL"])
            d["TTL"] = "<remaining ok>" if g - 60 <= ttl <= g + 5 else "<remaining OUT OF RANGE: %d>" % ttl
    if rpc == "LeaseLeases" and "leases" in d:
        d["leases"] = sorted(d["leases"], key=lambda x: int(x.get("ID", 0)))
    return json.dumps(_short(d), sort_keys=True, indent=1)


def _fmt(d):
    """Python-literal rendering of a request dict (for reproducers)."""
    if isinstance(d, dict):
        return "{" + ", ".join("%s: %s" % (k, _fmt(v)) for k, v in d.items()) + "}"
    if isinstance(d, list):
        return "[" + ", ".join(_fmt(x) for x in d) + "]"
    if isinstance(d, bytes) and len(d) > 60:
        return "%r*%d" % (d[:5], len(d) // 5)
    return repr(d)


class FGrpc(Step):
    """One unary gRPC call from a request dict (built with OUR protos at run time)."""

    def __init__(self, name, service, rpc, req, model_rev=None, timeout=10.0):
        self.name = name
        self.service = service
        self.rpc = rpc
        self.req = req
        self.model_rev = model_rev
        self.timeout = timeout

    def describe(self):
        return "grpc %s.%s %s" % (self.service, self.rpc, _fmt(self.req))

    def run(self, server):
        if grpcutil.pb is None:
            return "SETUP ERROR " + str(grpcutil.import_error), None
        req_cls = grpcutil.UNARY[self.service][self.rpc][0]
        c = _client_for(server)
        status, resp = c.call(self.service, self.rpc, _build(grpcutil.pb, req_cls, self.req),
                              timeout=self.timeout)
        text = _render(self.rpc, status, resp)
        if MODEL_CHECK and server.kind == "etcd" and status == "OK" and self.model_rev is not None:
            got = resp.header.revision
            if got != self.model_rev:
                print("  [fuzz model] %s: etcd header revision %d, model %d" % (
                    self.name, got, self.model_rev), file=sys.stderr, flush=True)
        return text, None


class FWatch(Step):
    """Create one watcher and read what it reports. `expect_events` (from the model) only
    says when to stop reading early; whatever else arrives in a short quiet tail is
    compared too. Events are rendered flat: how a server batches them into responses
    is not compared (only the created / canceled control responses are)."""

    def __init__(self, name, key, end, start, prev_kv=False, filters=(), expect_events=None):
        self.name = name
        self.key = key
        self.end = end
        self.start = start
        self.prev_kv = prev_kv
        self.filters = list(filters)
        self.expect_events = expect_events

    def describe(self):
        return "grpc Watch create %s" % _fmt({
            "key": self.key, "range_end": self.end, "start_revision": self.start,
            "prev_kv": self.prev_kv, "filters": self.filters})

    def run(self, server):
        pb = grpcutil.pb
        if pb is None:
            return "SETUP ERROR " + str(grpcutil.import_error), None
        reqs = queue.Queue()
        reqs.put(pb.WatchRequest(create_request=pb.WatchCreateRequest(
            key=self.key, range_end=self.end, start_revision=self.start, prev_kv=self.prev_kv,
            filters=self.filters)))

        def gen():
            while True:
                r = reqs.get()
                if r is None:
                    return
                yield r

        method = _client_for(server).channel.stream_stream(
            "/etcdserverpb.Watch/Watch", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=pb.WatchResponse.FromString)
        call = method(gen(), timeout=30)
        got = queue.Queue()

        def read():
            try:
                for r in call:
                    got.put(r)
            except Exception as e:  # noqa: BLE001 - our cancel at the end, or an error
                got.put(e)
            got.put(None)

        th = threading.Thread(target=read, daemon=True)
        th.start()
        lines, events = [], []
        want = self.expect_events
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            enough = want is not None and len(events) >= want and lines
            try:
                r = got.get(timeout=0.2 if enough else 2.0)
            except queue.Empty:
                break
            if r is None:
                break
            if isinstance(r, Exception):
                code = getattr(r, "code", None)
                lines.append("STREAM ERROR %s" % (code().name if code else repr(r)))
                break
            if r.created or r.canceled or r.compact_revision or r.cancel_reason:
                meta = {"created": r.created, "canceled": r.canceled,
                        "compact_revision": r.compact_revision, "cancel_reason": r.cancel_reason,
                        "watch_id": r.watch_id, "header_revision": r.header.revision}
                lines.append("control %s" % json.dumps(meta, sort_keys=True))
                if r.canceled:
                    break
            events.extend(r.events)
        reqs.put(None)
        call.cancel()
        th.join(timeout=5)
        for ev in events:
            txt = _short(json.loads(grpcutil.render("OK", ev)))
            lines.append("event " + json.dumps(txt, sort_keys=True))
        lines.append("%d events" % len(events))
        if MODEL_CHECK and server.kind == "etcd" and want is not None and len(events) != want \
                and not any('"canceled": true' in x for x in lines):
            print("  [fuzz model] %s: etcd sent %d events, model %d" % (self.name, len(events), want),
                  file=sys.stderr, flush=True)
        return "\n".join(lines), None


class FKeepAlive(Step):
    """One LeaseKeepAlive round trip on a fresh stream."""

    def __init__(self, name, lid):
        self.name = name
        self.lid = lid

    def describe(self):
        return "grpc Lease.LeaseKeepAlive stream: send {ID: %d}, read one response" % self.lid

    def run(self, server):
        pb = grpcutil.pb
        if pb is None:
            return "SETUP ERROR " + str(grpcutil.import_error), None
        method = _client_for(server).channel.stream_stream(
            "/etcdserverpb.Lease/LeaseKeepAlive", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=pb.LeaseKeepAliveResponse.FromString)
        call = method(iter([pb.LeaseKeepAliveRequest(ID=self.lid)]), timeout=10)
        try:
            resp = next(call)
            text = _render("LeaseKeepAlive", "OK", resp)
        except StopIteration:
            text = "STREAM ENDED without a response"
        except Exception as e:  # noqa: BLE001
            code = getattr(e, "code", None)
            text = "STREAM ERROR %s" % (code().name if code else repr(e))
        finally:
            call.cancel()
        return text, None


# ---------------------------------------------------------------------------
# groups

def _strip_ignores(t):
    """etcd 3.4 panics on ignore_value/ignore_lease puts in a txn with a from-key
    delete (see module doc): drop the flags there."""
    def walk(t, f):
        for br in ("success", "failure"):
            for op in t.get(br, []):
                f(op)
                if "request_txn" in op:
                    walk(op["request_txn"], f)
    found = []
    walk(t, lambda op: found.append(1) if op.get("request_delete_range", {}).get("range_end") == b"\x00" else None)
    if found:
        def strip(op):
            p = op.get("request_put")
            if p:
                p.pop("ignore_value", None)
                p.pop("ignore_lease", None)
        walk(t, strip)
    return t


def make_group(seed, n_steps=STEPS_PER_GROUP):
    g = Gen(seed)
    m, rng = g.m, g.rng
    steps = []

    def add(kind, service, rpc, req, apply=None):
        try:
            if apply:
                apply()
        except Reject:
            pass
        steps.append(FGrpc("%03d %s" % (len(steps), kind), service, rpc, req, model_rev=m.rev))

    # a couple of leases to attach keys to
    for lid in LEASE_POOL[:2]:
        ttl = rng.choice(TTLS)
        add("lease-grant", "Lease", "LeaseGrant", {"ID": lid, "TTL": ttl}, lambda lid=lid, ttl=ttl: m.grant(lid, ttl))

    def add_watch():
        x = rng.random()
        if x < 0.15:
            k, e = b"\x00", b"\x00"
        elif x < 0.2:
            k, e = b"", b""                 # etcd watches key "\x00" then
        else:
            k, e = g.bounds()
        y = rng.random()
        if y < 0.5:
            start = rng.randint(max(1, m.compact + 1), max(1, m.compact + 1, m.rev))
        elif y < 0.6:
            start = m.rev + 1
        elif y < 0.7:
            start = 0
        elif y < 0.8 and m.compact > 1:
            start = rng.randint(1, m.compact - 1)   # compacted: canceled
        else:
            start = max(1, m.compact + 1)
        if start == m.compact and start > 0:
            start += 1                              # see module doc
        filters = rng.choice([[], [], [], [0], [1], [0, 1]])
        prev = rng.random() < 0.5
        n = m.watch_count(k, e, start, filters) if not (0 < start < m.compact) else 0
        steps.append(FWatch("%03d watch" % len(steps), k, e, start, prev, filters, n))

    restart_at = rng.randint(n_steps * 2 // 5, n_steps * 4 // 5) if STEPS_PER_GROUP >= 50 else None
    while len(steps) < n_steps:
        in_window = restart_at is not None and len(steps) >= restart_at - RESTART_WINDOW
        g.safe_revisions = in_window
        r = rng.random()
        if in_window and 0.85 <= r < 0.91:
            r = 0.93                                   # lease-ttl instead of grant/revoke
        if r < 0.25:
            p = g.put_req()
            add("put", "KV", "Put", p, lambda p=p: m.put(p))
        elif r < 0.43:
            add("range", "KV", "Range", g.range_req())
        elif r < 0.51:
            d = g.del_req()
            add("delete", "KV", "DeleteRange", d, lambda d=d: m.delete(d))
        elif r < 0.82:
            t = _strip_ignores(g.txn_req() if rng.random() > 0.02 else g.wide_txn())
            add("txn", "KV", "Txn", t, lambda t=t: m.txn(t))
        elif r < 0.85:
            x = rng.random()
            if x < 0.6 and m.rev > 1:
                cr = rng.randint(max(m.compact, 1), m.rev)
            elif x < 0.8:
                cr = rng.choice([m.compact, m.rev + 1, 0, -1])
            else:
                cr = m.rev
            add("compact", "KV", "Compact", {"revision": cr}, lambda cr=cr: m.compact_to(cr))
        elif r < 0.89:
            lid = rng.choice(LEASE_POOL + [-7] if rng.random() < 0.1 else LEASE_POOL)
            ttl = rng.choice(TTLS + [9000000001] if rng.random() < 0.1 else TTLS)
            add("lease-grant", "Lease", "LeaseGrant", {"ID": lid, "TTL": ttl},
                lambda lid=lid, ttl=ttl: m.grant(lid, ttl))
        elif r < 0.91:
            lid = g.lease_id()
            add("lease-revoke", "Lease", "LeaseRevoke", {"ID": lid}, lambda lid=lid: m.revoke(lid))
        elif r < 0.95:
            add("lease-ttl", "Lease", "LeaseTimeToLive", {"ID": g.lease_id(), "keys": rng.random() < 0.7})
        elif r < 0.96:
            add("lease-leases", "Lease", "LeaseLeases", {})
        elif r < 0.97:
            steps.append(FKeepAlive("%03d lease-keepalive" % len(steps), g.lease_id()))
        elif r < 0.985:
            add_watch()
        elif r < 0.993:
            add("hashkv", "Maintenance", "HashKV", {"revision": g.revision()})
        else:
            add("range-all", "KV", "Range", {"key": b"\x00", "range_end": b"\x00"})
        if restart_at is not None and len(steps) >= restart_at:
            restart_at = None
            p = {"key": b"b", "value": b"before restart"}
            add("put", "KV", "Put", p, lambda p=p: m.put(p))
            steps.append(Restart("%03d restart%s" % (len(steps), " (SIGKILL)" if seed % 3 == 0 else ""),
                                 kill=seed % 3 == 0))

    steps.append(FGrpc("%03d final state" % len(steps), "KV", "Range",
                       {"key": b"\x00", "range_end": b"\x00"}, model_rev=m.rev))
    # Watch everything from after the compaction (or from 1), with prev_kv on odd seeds.
    start = max(1, m.compact + 1)
    steps.append(FWatch("%03d watch all from %d" % (len(steps), start), b"\x00", b"\x00", start,
                        prev_kv=bool(seed % 2), expect_events=m.watch_count(b"\x00", b"\x00", start, [])))
    if m.compact > 1:
        steps.append(FWatch("%03d watch from 1 (compacted)" % len(steps), b"\x00", b"\x00", 1,
                            expect_events=0))
    return Group("fuzz-s%d" % seed, steps, doc="random ops, seed %d" % seed)


# Minimal reproducers of mismatches the fuzzer found (kept as regression cases).
MINIMAL = Group("fuzz-min-watch-empty-key", [
    FGrpc("put \\x00", "KV", "Put", {"key": b"\x00", "value": b"v"}),
    FGrpc("put a", "KV", "Put", {"key": b"a", "value": b"v"}),
    # etcd's v3rpc turns an empty watch key into "\x00" (the smallest key), so this
    # watches the single key "\x00" and replays its put at revision 2.
    FWatch("watch key '' from 1", b"", b"", 1, expect_events=1),
], doc="Watch with an empty key watches key \\x00")

GROUPS = [make_group(s) for s in SEEDS] + [MINIMAL]
