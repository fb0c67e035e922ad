"""Differential etcdctl (v3, Debian's 3.4) cases: KV get/put/del, txn, compaction, bad input.

Every group starts from a fresh data dir on both servers, so revisions line up and are
compared exactly unless a step says rev=True.
"""

from framework import Check, Ctl, Group
from harness import etcdctl

E_KEY_NOT_PROVIDED = "Error: etcdserver: key is not provided"
E_COMPACTED = "Error: etcdserver: mvcc: required revision has been compacted"
E_FUTURE = "Error: etcdserver: mvcc: required revision is a future revision"
E_TOO_LARGE = "Error: etcdserver: request is too large"
E_TOO_MANY_OPS = "Error: etcdserver: too many operations in txn request"
E_DUP_KEY = "Error: etcdserver: duplicate key given in txn request"
E_KEY_NOT_FOUND = "Error: etcdserver: key not found"
E_LEASE_NOT_FOUND = "Error: etcdserver: requested lease not found"

W_KEY_NOT_PROVIDED = ("WARN rpc error: code = InvalidArgument desc = "
                      "etcdserver: key is not provided")
W_COMPACTED = ("WARN rpc error: code = OutOfRange desc = "
               "etcdserver: mvcc: required revision has been compacted")
W_FUTURE = ("WARN rpc error: code = OutOfRange desc = "
            "etcdserver: mvcc: required revision is a future revision")


def put(k, v, **kw):
    return Ctl("put %s %s" % (k, v if len(v) <= 20 else v[:20] + "..."), ["put", k, v], expect=["OK"], rc=0, **kw)


def txn_stdin(compares=(), success=(), failure=()):
    """The non-interactive stdin form etcdctl txn reads: compares, blank line,
    success ops, blank line, failure ops, blank line."""
    return "\n".join(list(compares) + [""] + list(success) + [""] + list(failure) + [""]) + "\n"


def Txn(name, compares=(), success=(), failure=(), args=(), **kw):
    return Ctl(name, ["txn"] + list(args), stdin=txn_stdin(compares, success, failure), **kw)


# ---------------------------------------------------------------------------
# get: output formats, ranges, prefix/from-key, limit, sort, rev, consistency
# ---------------------------------------------------------------------------

SORT_STEPS = []
for _target in ("KEY", "VERSION", "CREATE", "MODIFY", "VALUE"):
    for _order in ("ASCEND", "DESCEND"):
        SORT_STEPS.append(Ctl("get prefix sort %s %s" % (_target, _order),
                              ["get", "foo", "--prefix", "--sort-by=" + _target, "--order=" + _order],
                              rc=0))
        SORT_STEPS.append(Ctl("get all sort %s %s json" % (_target, _order),
                              ["get", "/dir/", "--prefix", "--sort-by=" + _target, "--order=" + _order,
                               "-w", "json"], rc=0))

GET = Group("get", [
    put("foo", "bar"),                      # rev 2
    put("foo1", "bar1"),                    # rev 3
    put("foo2", "bar2"),                    # rev 4
    put("fop", "x"),                        # rev 5
    put("a", "1"),                          # rev 6
    put("z", "26"),                         # rev 7
    put("foo", "bar-v2"),                   # rev 8  foo: ver 2
    put("foo1", "b"),                       # rev 9
    put("foo1", "c"),                       # rev 10 foo1: ver 3
    put("key with space", "value\nwith newline"),
    put("/dir/a", "3"),
    put("/dir/b", "1"),
    put("/dir/sub/c", "2"),
    put("/dir/b", "0"),
    put("/dir/sub/c", "2"),
    put("/dir/sub/c", "2"),                 # /dir/sub/c: ver 3 (no version ties under /dir/)
    put("\u2206unicode", "\u00fc"),
    # single key, every output format
    Ctl("get foo", ["get", "foo"], expect=["foo", "bar-v2"], rc=0),
    Ctl("get foo json", ["get", "foo", "-w", "json"], rc=0),
    Ctl("get foo fields", ["get", "foo", "-w", "fields"], expect=['"Key" : "foo"', '"Version" : 2'], rc=0),
    Ctl("get foo simple", ["get", "foo", "-w", "simple"], rc=0),
    Ctl("get foo protobuf", ["get", "foo", "-w", "protobuf"], proto="RangeResponse", rc=0),
    Ctl("get foo print-value-only", ["get", "foo", "--print-value-only"], rc=0),
    Ctl("get foo keys-only", ["get", "foo", "--keys-only"], rc=0),
    Ctl("get foo keys-only json", ["get", "foo", "--keys-only", "-w", "json"], rc=0),
    Ctl("get foo hex", ["get", "foo", "--hex"], rc=0),
    Ctl("get space key", ["get", "key with space", "-w", "json"], rc=0),
    Ctl("get unicode key", ["get", "\u2206unicode"], rc=0),
    # missing key
    Ctl("get missing", ["get", "nope"], rc=0),
    Ctl("get missing json", ["get", "nope", "-w", "json"], rc=0),
    Ctl("get missing fields", ["get", "nope", "-w", "fields"], rc=0),
    # prefix
    Ctl("get prefix", ["get", "foo", "--prefix"], rc=0),
    Ctl("get prefix json", ["get", "foo", "--prefix", "-w", "json"], rc=0),
    Ctl("get prefix keys-only", ["get", "foo", "--prefix", "--keys-only"], rc=0),
    Ctl("get prefix print-value-only", ["get", "foo", "--prefix", "--print-value-only"], rc=0),
    Ctl("get prefix limit 2", ["get", "foo", "--prefix", "--limit", "2"], rc=0),
    Ctl("get prefix limit 2 json", ["get", "foo", "--prefix", "--limit", "2", "-w", "json"], rc=0),
    Ctl("get prefix limit 3 json", ["get", "foo", "--prefix", "--limit=3", "-w", "json"], rc=0),
    Ctl("get prefix limit 1 keys-only json", ["get", "foo", "--prefix", "--limit", "1", "--keys-only", "-w", "json"], rc=0),
    Ctl("get prefix fields", ["get", "foo", "--prefix", "-w", "fields"], rc=0),
    Ctl("get prefix protobuf", ["get", "foo", "--prefix", "-w", "protobuf"], proto="RangeResponse", rc=0),
    Ctl("get empty prefix (all keys)", ["get", "", "--prefix"], rc=0),
    Ctl("get empty prefix json", ["get", "", "--prefix", "-w", "json"], rc=0),
    Ctl("get empty prefix keys-only hex", ["get", "", "--prefix", "--keys-only", "--hex"], rc=0),
    Ctl("get prefix no match", ["get", "nomatch", "--prefix", "-w", "json"], rc=0),
    # explicit range [key, range_end)
    Ctl("get range foo..fop", ["get", "foo", "fop"], rc=0),
    Ctl("get range foo..fop json", ["get", "foo", "fop", "-w", "json"], rc=0),
    Ctl("get range end < key", ["get", "fop", "foo", "-w", "json"], rc=0),
    Ctl("get range end == key", ["get", "foo", "foo", "-w", "json"], rc=0),
    # from-key
    Ctl("get from-key", ["get", "foo", "--from-key"], rc=0),
    Ctl("get from-key limit json", ["get", "foo", "--from-key", "--limit", "3", "-w", "json"], rc=0),
    Ctl("get from-key keys-only", ["get", "fop", "--from-key", "--keys-only"], rc=0),
    Ctl("get from-key empty key", ["get", "", "--from-key", "--keys-only"], rc=0),
    # sort
    *SORT_STEPS,
    Ctl("get prefix order DESCEND only", ["get", "foo", "--prefix", "--order=DESCEND"], rc=0),
    Ctl("get prefix sort-by VERSION only", ["get", "foo", "--prefix", "--sort-by=VERSION"], rc=0),
    Ctl("get prefix sort MODIFY DESCEND limit 2 json",
        ["get", "foo", "--prefix", "--sort-by=MODIFY", "--order=DESCEND", "--limit", "2", "-w", "json"], rc=0),
    Ctl("get prefix sort VALUE ASCEND limit 1 json",
        ["get", "", "--prefix", "--sort-by=VALUE", "--order=ASCEND", "--limit", "1", "-w", "json"], rc=0),
    Ctl("get all sort KEY DESCEND limit 3 json",
        ["get", "", "--from-key", "--sort-by=KEY", "--order=DESCEND", "--limit", "3", "-w", "json"], rc=0),
    Ctl("get bad sort target (client-side)", ["get", "foo", "--sort-by=BOGUS"],
        expect=["Error: bad sort target BOGUS"]),
    Ctl("get bad order (client-side)", ["get", "foo", "--order=UP"], expect=["Error: bad sort order UP"]),
    # historical revisions
    Ctl("get foo rev 2", ["get", "foo", "--rev", "2"], expect=["foo", "bar"], rc=0),
    Ctl("get foo rev 2 json", ["get", "foo", "--rev=2", "-w", "json"], rc=0),
    Ctl("get foo rev 1 (before creation)", ["get", "foo", "--rev", "1", "-w", "json"], rc=0),
    Ctl("get prefix rev 4 json", ["get", "foo", "--prefix", "--rev", "4", "-w", "json"], rc=0),
    Ctl("get prefix rev 9 fields", ["get", "foo", "--prefix", "--rev", "9", "-w", "fields"], rc=0),
    Ctl("get foo rev 0 (latest)", ["get", "foo", "--rev", "0"], rc=0),
    Ctl("get foo rev -1 (latest)", ["get", "foo", "--rev", "-1"], rc=0),
    Ctl("get foo future rev", ["get", "foo", "--rev", "100000"], expect=[E_FUTURE, W_FUTURE], rc=1),
    Ctl("get foo current rev + 1", ["get", "foo", "--rev", "19"], expect=[E_FUTURE], rc=1),
    Ctl("get foo current rev", ["get", "foo", "--rev", "18", "-w", "json"], rc=0),
    # serializable
    Ctl("get serializable", ["get", "foo", "--consistency=s", "-w", "json"], rc=0),
    Ctl("get prefix serializable", ["get", "foo", "--prefix", "--consistency=s"], rc=0),
    Ctl("get empty key", ["get", ""], expect=[E_KEY_NOT_PROVIDED, W_KEY_NOT_PROVIDED], rc=1),
])

# ---------------------------------------------------------------------------
# put
# ---------------------------------------------------------------------------

PUT = Group("put", [
    Ctl("put k v", ["put", "k", "v"], expect=["OK"], rc=0),
    Ctl("put k v2 prev-kv", ["put", "k", "v2", "--prev-kv"], expect=["OK", "k", "v"], rc=0),
    Ctl("put k v3 prev-kv json", ["put", "k", "v3", "--prev-kv", "-w", "json"], rc=0),
    Ctl("put new prev-kv json (no prev)", ["put", "new", "n", "--prev-kv", "-w", "json"], rc=0),
    Ctl("put k fields", ["put", "k", "v4", "-w", "fields"], rc=0),
    Ctl("put k protobuf", ["put", "k", "v5", "--prev-kv", "-w", "protobuf"], proto="PutResponse", rc=0),
    Ctl("put ignore-value", ["put", "k", "--ignore-value"], expect=["OK"], rc=0),
    Ctl("get after ignore-value", ["get", "k", "-w", "json"], rc=0),
    Ctl("put ignore-value missing key", ["put", "missing", "--ignore-value"],
        expect=[E_KEY_NOT_FOUND], rc=1),
    Ctl("put ignore-lease", ["put", "k", "v6", "--ignore-lease"], expect=["OK"], rc=0),
    Ctl("put ignore-lease missing key", ["put", "missing2", "x", "--ignore-lease"],
        expect=[E_KEY_NOT_FOUND], rc=1),
    Ctl("put value from stdin", ["put", "fromstdin"], stdin="value from stdin", expect=["OK"], rc=0),
    Ctl("get value from stdin", ["get", "fromstdin", "-w", "json"], rc=0),
    Ctl("put empty value", ["put", "emptyval", ""], expect=["OK"], rc=0),
    Ctl("get empty value json", ["get", "emptyval", "-w", "json"], rc=0),
    Ctl("get empty value simple", ["get", "emptyval"], rc=0),
    Ctl("put unknown lease", ["put", "leased", "x", "--lease=1234abcd"],
        expect=[E_LEASE_NOT_FOUND], rc=1),
    Ctl("put binary-ish value", ["put", "bin", "\x01\x02\x7f tab\there"], expect=["OK"], rc=0),
    Ctl("get binary-ish value hex", ["get", "bin", "--hex"], rc=0),
    Ctl("put 1MiB value", ["put", "big"], stdin="y" * (1 << 20), expect=["OK"], rc=0),
    Ctl("get 1MiB value keys-only", ["get", "big", "--keys-only", "-w", "json"], rc=0),
    Ctl("put needs args", ["put"], rc=128),
    Ctl("state after puts", ["get", "", "--prefix", "--keys-only", "-w", "json"], rc=0),
])

# ---------------------------------------------------------------------------
# del
# ---------------------------------------------------------------------------

DEL = Group("del", [
    put("a", "va"), put("b", "vb"), put("c", "vc"), put("d/1", "1"), put("d/2", "2"),
    put("d/3", "3"), put("e", "ve"), put("f", "vf"), put("g", "vg"), put("h", "vh"),
    Ctl("del a", ["del", "a"], expect=["1"], rc=0),
    Ctl("del a again", ["del", "a"], expect=["0"], rc=0),
    Ctl("del missing json", ["del", "zzz", "-w", "json"], rc=0),
    Ctl("del b prev-kv", ["del", "b", "--prev-kv"], expect=["1", "b", "vb"], rc=0),
    Ctl("del prefix d", ["del", "d", "--prefix"], expect=["3"], rc=0),
    Ctl("del prefix none", ["del", "nomatch", "--prefix"], expect=["0"], rc=0),
    Ctl("del range c..f", ["del", "c", "f", "--prev-kv"], rc=0),
    Ctl("del range end < key", ["del", "h", "g", "-w", "json"], rc=0),
    Ctl("del from-key prev-kv json", ["del", "g", "--from-key", "--prev-kv", "-w", "json"], rc=0),
    Ctl("get all after deletes", ["get", "", "--prefix", "-w", "json"], rc=0),
    put("x1", "1"), put("x2", "2"),
    Ctl("del prefix fields", ["del", "x", "--prefix", "--prev-kv", "-w", "fields"], rc=0),
    put("y", "1"),
    Ctl("del protobuf", ["del", "y", "--prev-kv", "-w", "protobuf"], proto="DeleteRangeResponse", rc=0),
    Ctl("del empty key", ["del", ""], expect=[E_KEY_NOT_PROVIDED, W_KEY_NOT_PROVIDED], rc=1),
    Ctl("history of deleted key", ["get", "b", "--rev", "3", "-w", "json"], rc=0),
    Ctl("state after deletes", ["get", "", "--prefix", "-w", "json"], rc=0),
])

# ---------------------------------------------------------------------------
# txn (stdin form)
# ---------------------------------------------------------------------------
# k1: create 2, mod 4, version 2, value v1b ; k2: create 3, mod 3, version 1, value v2

TXN_CMP = []
_cmps = [
    ('value("k1") = "v1b"', True), ('value("k1") = "v1"', False),
    ('value("k1") != "v1b"', False), ('value("k1") != "zz"', True),
    ('value("k1") > "v1a"', True), ('value("k1") > "v1c"', False),
    ('value("k1") < "v1c"', True), ('value("k1") < "v1a"', False),
    ('version("k1") = "2"', True), ('version("k1") = "1"', False),
    ('version("k1") > "1"', True), ('version("k1") > "2"', False),
    ('version("k1") < "3"', True), ('version("k1") < "2"', False),
    ('version("k1") != "2"', False), ('version("k1") != "7"', True),
    ('create("k1") = "2"', True), ('create("k1") = "4"', False),
    ('create("k2") > "2"', True), ('create("k2") > "3"', False),
    ('create("k2") < "4"', True), ('create("k2") < "3"', False),
    ('create("k1") != "3"', True), ('create("k1") != "2"', False),
    ('mod("k1") = "4"', True), ('mod("k1") = "2"', False),
    ('mod("k1") > "3"', True), ('mod("k1") > "4"', False),
    ('mod("k2") < "4"', True), ('mod("k2") < "3"', False),
    ('mod("k2") != "3"', False), ('mod("k2") != "9"', True),
    ('version("missing") = "0"', True), ('version("missing") > "0"', False),
    ('create("missing") = "0"', True), ('mod("missing") = "0"', True),
    ('value("missing") = ""', False), ('value("missing") != "x"', False),
]
for _i, (_c, _ok) in enumerate(_cmps):
    TXN_CMP.append(Txn("cmp %s" % _c, [_c], ["get k1"], ["get k2"],
                       expect=["SUCCESS" if _ok else "FAILURE"], rc=0))

TXN = Group("txn", [
    put("k1", "v1"), put("k2", "v2"), put("k1", "v1b"),
    *TXN_CMP,
    Txn("two compares both true", ['value("k1") = "v1b"', 'version("k2") = "1"'],
        ["put r s1"], ["put r f1"], expect=["SUCCESS"], rc=0),
    Txn("two compares one false", ['value("k1") = "v1b"', 'version("k2") = "5"'],
        ["put r s2"], ["put r f2"], expect=["FAILURE"], rc=0),
    Ctl("get r after branches", ["get", "r", "-w", "json"], rc=0),
    Txn("success branch put/get/del", ['mod("k1") = "4"'],
        ["put t1 a", "get k1", "del k2", "get k2"], ["put t1 never"], rc=0),
    Txn("failure branch put/get/del", ['mod("k1") = "1"'],
        ["put t2 never"], ["put t2 b", "get t1", "del t1", "get t1"], rc=0),
    Txn("no compares -> success", [], ["put t3 c"], ["put t3 never"], expect=["SUCCESS"], rc=0),
    Txn("no ops at all", ['value("t3") = "c"'], [], [], rc=0),
    Txn("ops with flags", [],
        ["get k --prefix", "put t3 d --prev-kv", "del t2 --prefix --prev-kv"], [], rc=0),
    Txn("txn json", ['value("k1") = "v1b"'], ["get k1", "put t4 e"], ["get k2"],
        args=["-w", "json"], rc=0),
    Txn("txn json failure", ['value("k1") = "nope"'], ["get k1"], ["get k1", "put t4 f", "del t9"],
        args=["-w", "json"], rc=0),
    Txn("txn fields", ['value("k1") = "v1b"'], ["put t5 g", "get t5"], [],
        args=["-w", "fields"], rc=0),
    Txn("txn protobuf", ['value("k1") = "v1b"'], ["put t5 h", "get t5"], [],
        args=["-w", "protobuf"], proto="TxnResponse", rc=0),
    Txn("txn interactive prompts", ['value("k1") = "v1b"'], ["put t6 i"], ["put t6 j"],
        args=["-i"], expect=["compares:", "SUCCESS"], rc=0),
    Txn("get and put same key allowed", [], ["get t7", "put t7 k", "get t7"], [], rc=0),
    Txn("duplicate put", [], ["put dup 1", "put dup 2"], [], expect=[E_DUP_KEY], rc=1),
    Txn("put + overlapping delete", [], ["put d/x 1", "del d --prefix"], [], expect=[E_DUP_KEY], rc=1),
    Txn("duplicate in failure branch", ['value("k1") = "nope"'], [], ["del dup", "put dup 2"],
        expect=[E_DUP_KEY], rc=1),
    Txn("duplicate in unused branch", ['value("k1") = "v1b"'], ["put ok 1"], ["put dup 1", "put dup 2"],
        expect=[E_DUP_KEY], rc=1),
    Txn("empty key op", [], ['put "" v'], [], expect=[E_KEY_NOT_PROVIDED], rc=1),
    Txn("128 ops ok", [], ["put many%03d v" % i for i in range(128)], [], expect=["SUCCESS"], rc=0),
    Txn("129 ops too many", [], ["put more%03d v" % i for i in range(129)], [],
        expect=[E_TOO_MANY_OPS], rc=1),
    Txn("129 ops in failure branch", ['value("k1") = "v1b"'], ["put x 1"],
        ["put more%03d v" % i for i in range(129)], expect=[E_TOO_MANY_OPS], rc=1),
    Txn("malformed compare (client-side)", ['foo("a") = "0"'], [], [], rc=3),
    Txn("get at compacted-free rev in txn", [], ["get k1 --rev 2"], [], rc=0),
    Txn("get at future rev in txn", [], ["get k1 --rev 100000"], [], expect=[E_FUTURE], rc=1),
    Ctl("state after txns", ["get", "", "--prefix", "-w", "json"], rc=0),
    Ctl("count after txns", ["get", "many", "--prefix", "--keys-only", "--limit", "1", "-w", "json"], rc=0),
])

# ---------------------------------------------------------------------------
# compaction
# ---------------------------------------------------------------------------

COMPACT = Group("compact", [
    put("c", "v1"), put("c", "v2"), put("c", "v3"), put("c", "v4"), put("c", "v5"),  # revs 2..6
    put("d", "1"),                                                                    # rev 7
    Ctl("get c rev 3 before compaction", ["get", "c", "--rev", "3"], expect=["v2"], rc=0),
    Ctl("compact 4", ["compact", "4"], expect=["compacted revision 4"], rc=0),
    Ctl("get c rev 3 compacted", ["get", "c", "--rev", "3"], expect=[E_COMPACTED, W_COMPACTED], rc=1),
    Ctl("get c rev 3 compacted json", ["get", "c", "--rev", "3", "-w", "json"], expect=[E_COMPACTED], rc=1),
    Ctl("get c rev 1 compacted", ["get", "c", "--rev", "1"], expect=[E_COMPACTED], rc=1),
    Ctl("get c rev 4 (the compact rev)", ["get", "c", "--rev", "4", "-w", "json"], rc=0),
    Ctl("get c rev 5", ["get", "c", "--rev", "5"], expect=["v4"], rc=0),
    Ctl("get c future", ["get", "c", "--rev", "100"], expect=[E_FUTURE], rc=1),
    Ctl("get prefix at compacted rev", ["get", "", "--prefix", "--rev", "2"], expect=[E_COMPACTED], rc=1),
    Ctl("compact 4 again", ["compact", "4"], expect=[E_COMPACTED], rc=1),
    Ctl("compact 2 (older)", ["compact", "2"], expect=[E_COMPACTED], rc=1),
    Ctl("compact future", ["compact", "100"], expect=[E_FUTURE], rc=1),
    Txn("txn get at compacted rev", [], ["get c --rev 3"], [], expect=[E_COMPACTED], rc=1),
    Ctl("compact 6 physical", ["compact", "6", "--physical"], expect=["compacted revision 6"], rc=0),
    Ctl("get c rev 5 compacted after physical", ["get", "c", "--rev", "5"], expect=[E_COMPACTED], rc=1),
    Ctl("get c rev 6", ["get", "c", "--rev", "6", "-w", "json"], rc=0),
    Ctl("del c", ["del", "c"], expect=["1"], rc=0),                                  # rev 8
    Ctl("get c rev 7 (before delete)", ["get", "c", "--rev", "7", "-w", "json"], rc=0),
    Ctl("compact current rev", ["compact", "8"], expect=["compacted revision 8"], rc=0),
    Ctl("get c rev 8 (deleted)", ["get", "c", "--rev", "8", "-w", "json"], rc=0),
    put("c", "again"),                                                                # rev 9
    Ctl("recreated c json", ["get", "c", "-w", "json"], rc=0),
    Ctl("state after compactions", ["get", "", "--prefix", "-w", "json"], rc=0),
])

COMPACT_FRESH = Group("compact-fresh", [
    Ctl("compact 0 on fresh store", ["compact", "0"], rc=0),
    Ctl("compact 1 on fresh store", ["compact", "1"], rc=0),
    Ctl("compact 1 again", ["compact", "1"], expect=[E_COMPACTED], rc=1),
    put("a", "1"),
    Ctl("get after", ["get", "a", "-w", "json"], rc=0),
])

# ---------------------------------------------------------------------------
# bad input: exact error lines, and the server keeps serving
# ---------------------------------------------------------------------------


def _health(server):
    """etcdctl endpoint health (timing masked)"""
    r = etcdctl(server.endpoint, ["endpoint", "health"])
    out = (r.out + r.err).replace(server.endpoint, "<endpoint>")
    import re
    out = re.sub(r"took = [0-9.]+[a-zµ]+", "took = <t>", out)
    return "rc=%s %s" % (r.rc, out.strip())


BAD = Group("bad-input", [
    put("keep", "me"),
    Ctl("put empty key", ["put", "", "v"], expect=[E_KEY_NOT_PROVIDED, W_KEY_NOT_PROVIDED], rc=1),
    Ctl("get empty key", ["get", ""], expect=[E_KEY_NOT_PROVIDED], rc=1),
    Ctl("del empty key", ["del", ""], expect=[E_KEY_NOT_PROVIDED], rc=1),
    Ctl("put 1.6 MB value (request too large)", ["put", "big"], stdin="x" * 1600000,
        expect=[E_TOO_LARGE,
                "WARN rpc error: code = InvalidArgument desc = etcdserver: request is too large"], rc=1),
    Ctl("put 1.5 MB value (just under the limit)", ["put", "big"], stdin="x" * 1500000, expect=["OK"], rc=0),
    Ctl("put 2.2 MB value (client-side gRPC limit)", ["put", "big2"], stdin="x" * 2200000, rc=1),
    Ctl("get big keys-only", ["get", "big", "--keys-only", "-w", "json"], rc=0),
    Txn("too many ops", [], ["put m%03d v" % i for i in range(129)], [], expect=[E_TOO_MANY_OPS], rc=1),
    Txn("duplicate key", [], ["put dup 1", "put dup 2"], [], expect=[E_DUP_KEY], rc=1),
    Txn("duplicate key put/del", [], ["del dup", "put dup 1"], [], expect=[E_DUP_KEY], rc=1),
    Txn("empty key in txn", [], ['put "" v'], [], expect=[E_KEY_NOT_PROVIDED], rc=1),
    Ctl("future rev", ["get", "keep", "--rev", "999999"], expect=[E_FUTURE], rc=1),
    Ctl("still serving: get", ["get", "keep", "-w", "json"], rc=0),
    put("after", "bad-input"),
    Ctl("still serving: state", ["get", "", "--prefix", "--keys-only", "-w", "json"], rc=0),
    Check("still serving: endpoint health", _health,
          expect=["rc=0 <endpoint> is healthy: successfully committed proposal: took = <t>"]),
])

GROUPS = [GET, PUT, DEL, TXN, COMPACT, COMPACT_FRESH, BAD]
