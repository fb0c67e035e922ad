#!/usr/bin/python3
"""Differential suite: quorumctl vs Debian's etcdctl (ETCDCTL_API=3, 3.4).

Every case runs the same arguments with both tools against the SAME server and
compares rc, stdout and stderr byte for byte after normalising only what must
differ:
  * etcdctl's zap log lines on stderr ({"level":...}) are dropped;
  * the binary name (etcdctl / quorumctl) in usage and error text;
  * durations ("took") from endpoint health;
  * for mutating cases (rev=True) the revisions, because the second tool runs
    one write later (setup steps re-create the same key state before each run).
Phase 1 runs everything against one quorum member; phase 2 runs a subset
against Debian's etcd 3.4 to show quorumctl behaves the same there; an auth
phase runs against etcd 3.4 with auth enabled (--user, token on every call,
watch stream and Lock/Election call); a TLS phase against a quorum member
serving https with client-cert auth.

Usage: run.py --quorum-bin PATH --quorumctl-bin PATH [-v] [-k SUBSTR]
Last line: "N passed, M failed".
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402
from maintenance_cases import maintenance_cases  # noqa: E402


def C(name, args, stdin=None, setup=(), rev=False, etcd=True, binary=False, stdout=True,
      env=None, ids=False, after=None, keep_err=None, bg=None, mask=False, norm=(), drop=None,
      pb=None, quorum=True):
    """stdout=False: compare rc and stderr only (flag errors print the command's
    help, which lists quorumctl's extra 3.5 flags).
    bg: run the tool in the background (long-running commands: watch, lock,
    elect, keep-alive): dict(actions=[etcdctl args | ("spawn", args) |
    ("sleep", s)], stdin=text kept open); after the actions the tool gets
    SIGINT (Ctrl-C) unless it ended by itself.
    mask: lease ids / lease-derived keys / remaining TTLs are masked.
    norm: extra (regex, replacement) pairs for both outputs.
    drop: lines matching this regex are dropped (quorumctl's extra 3.5 flags in help).
    pb: stdout is one protobuf message of this etcdserverpb type; it is compared
    decoded, with revisions/leases masked.
    quorum=False: only in the etcd phase (etcd's own files, e.g. a bbolt snapshot)."""
    return dict(name=name, args=args, stdin=stdin, setup=list(setup), rev=rev, etcd=etcd,
                binary=binary, stdout=stdout, env=env or {}, ids=ids, after=after,
                keep_err=keep_err, bg=bg, mask=mask, norm=list(norm), drop=drop, pb=pb,
                quorum=quorum)


def W(name, args, actions, stdin=None, before=(), **kw):
    """A background case (see C's bg); `before`: actions run before the tool starts."""
    return C(name, args, bg=dict(actions=actions, stdin=stdin, before=list(before)), **kw)


# Lease cases start from no leases (so `lease list` is deterministic) and one
# fresh lease {LEASE} with keys attached.
LEASE_SETUP = [["revoke-all-leases"], ["lease", "grant", "100"],
               ["put", "lk1", "a", "--lease={LEASE}"], ["put", "lk2", "b", "--lease={LEASE}"]]
WPUTS = [["put", "w", "v1"], ["put", "w", "v2"], ["del", "w"]]
# etcd lists a lease's attached keys in random order (Go map iteration).
SORT_ATTACHED_KEYS = [
    (r"attached keys\(\[([^\]]*)\]\)",
     lambda m: "attached keys([%s])" % " ".join(sorted(m.group(1).split(" ")))),
    (r'"keys":\[([^\]]*)\]', lambda m: '"keys":[%s]' % ",".join(sorted(m.group(1).split(",")))),
    (r'((?:"Key" : .*\n)+)', lambda m: "".join(sorted(m.group(1).splitlines(True))))]


def txn_in(cmps=(), ok=(), fail=()):
    return "\n".join(list(cmps) + [""] + list(ok) + [""] + list(fail) + [""]) + "\n"


SEED = [["put", "foo", "bar"], ["put", "foo1", "bar1"], ["put", "foo2", "b2"],
        ["put", "fop", "x"], ["put", "a", "1"], ["put", "z", "26"], ["put", "foo", "bar-v2"],
        ["put", "sp ace", "v\nnl"], ["put", "q", 'a<b>&"\u00e9%d%'],
        ["put", "bin", "\x01\x02\x7f tab\there"], ["put", "/d/a", "3"], ["put", "/d/b", "1"]]

RESET_K = [["del", "k"], ["put", "k", "v0"]]

CASES = [
    # ---- get: formats, ranges, options (read-only)
    *[C("get foo -w %s" % w, ["get", "foo", "-w", w], binary=(w == "protobuf"))
      for w in ("simple", "json", "fields", "protobuf")],
    C("get foo table", ["get", "foo", "-w", "table"]),
    C("get prefix", ["get", "foo", "--prefix"]),
    C("get prefix json", ["get", "foo", "--prefix", "-w", "json"]),
    C("get prefix fields", ["get", "foo", "--prefix", "-w", "fields"]),
    C("get prefix protobuf", ["get", "foo", "--prefix", "-w", "protobuf"], binary=True),
    C("get all keys-only", ["get", "", "--prefix", "--keys-only"]),
    C("get all json", ["get", "", "--prefix", "-w", "json"]),
    C("get all fields (quoting)", ["get", "", "--from-key", "-w", "fields"]),
    C("get all hex", ["get", "", "--prefix", "--hex"]),
    C("get all protobuf (printf %)", ["get", "q", "-w", "protobuf"], binary=True),
    C("get range", ["get", "foo", "fop"]),
    C("get from-key limit", ["get", "foo", "--from-key", "--limit", "2", "-w", "json"]),
    C("get limit=1", ["get", "foo", "--prefix", "--limit=1", "-w", "json"]),
    C("get print-value-only", ["get", "foo", "--prefix", "--print-value-only"]),
    C("get print-value-only json", ["get", "foo", "--print-value-only", "-w", "json"]),
    *[C("get sort %s %s" % (t, o), ["get", "", "--prefix", "--sort-by=" + t, "--order=" + o, "-w", "json"])
      for t in ("KEY", "VERSION", "CREATE", "MODIFY", "VALUE") for o in ("ASCEND", "DESCEND")],
    C("get bad sort", ["get", "foo", "--sort-by=BOGUS"]),
    C("get bad order", ["get", "foo", "--order=UP"]),
    C("get rev 2", ["get", "foo", "--rev", "2", "-w", "json"]),
    C("get rev -1", ["get", "foo", "--rev", "-1"]),
    C("get future rev", ["get", "foo", "--rev", "100000"]),
    C("get serializable", ["get", "foo", "--consistency=s", "-w", "json"]),
    C("get bad consistency", ["get", "foo", "--consistency=x"]),
    C("get empty key", ["get", ""]),
    C("get no args", ["get"]),
    C("get prefix+from-key", ["get", "a", "--prefix", "--from-key"]),
    C("get prefix + range_end", ["get", "a", "b", "--prefix"]),
    C("get bad limit", ["get", "foo", "--limit=x"], stdout=False),
    C("get unknown flag", ["get", "--bogus", "foo"], stdout=False),
    C("get missing json", ["get", "nope", "-w", "json"]),
    C("get missing fields", ["get", "nope", "-w", "fields"]),
    C("bad output format", ["get", "foo", "-w", "bogus"]),
    C("unknown command", ["bogus"]),
    # --debug: the ETCDCTL_* dump must match; gRPC's own debug logs differ.
    C("debug flag dump", ["--debug", "get", "foo"], keep_err="ETCDCTL_"),
    # ---- flag values and command names as pflag / cobra read them
    C("get --order \"\" (empty value)", ["get", "foo", "--order", ""]),
    C("get --order= --sort-by=MODIFY", ["get", "foo", "--prefix", "--order=", "--sort-by=MODIFY"]),
    C("empty --endpoints= adds nothing", ["get", "foo", "--endpoints="]),
    C("no endpoints", ["--endpoints=", "get", "foo"]),
    C("empty --cacert", ["get", "foo", "--cacert="]),
    C("empty --cert and --key", ["get", "foo", "--key=", "--cert="]),
    C("get --limit=0x2 (Go int syntax)", ["get", "foo", "--prefix", "--limit=0x2"]),
    C("get --rev=010 (octal)", ["get", "", "--prefix", "--keys-only", "--rev=010"]),
    C("get --limit=1_0 (underscore)", ["get", "", "--prefix", "--keys-only", "--limit=1_0"]),
    C("get --limit=08 (bad octal)", ["get", "foo", "--limit=08"], stdout=False),
    C("duration without unit", ["get", "foo", "--command-timeout=5"], stdout=False),
    C("duration with unknown unit", ["get", "foo", "--command-timeout=5x"], stdout=False),
    C("duration overflowing a double", ["get", "foo", "--command-timeout=" + "1" * 400 + "s"],
      stdout=False),
    C("-w bogus version", ["-w", "bogus", "version"], stdout=False),
    C("-w bogus with an argument error", ["-w", "bogus", "get"]),
    C("command prefix: mem list", ["mem", "list"]),
    C("command prefix: lease gr", ["lease", "gr"]),
    C("command prefix: help mem li", ["help", "mem", "li"]),
    C("unknown command with a suggestion", ["gett", "foo"]),
    C("ambiguous prefix suggestions", ["e"]),
    C("ambiguous prefix with unsupported commands", ["m"]),
    C("unknown flag takes the command as its value", ["--bogus", "get", "foo"]),
    C("help unknown topic", ["help", "bogus", "x`y"], stdout=False),
    C("help command: help member list", ["help", "member", "list"]),
    C("--version without a command", ["--version"], stdout=False),
    C("unknown flag without a command", ["--bogus"], stdout=False),
    C("-w without a value or command", ["-w"], stdout=False),
    C("unknown flag of a group", ["member", "--bogus"], stdout=False),
    C("--user with ':' and --password", ["--user", "a:b", "--password", "c", "get", "foo"]),
    # no password: the prompt ("Password: " on stdout, the next stdin line);
    # etcdctl runs `stty -echo`, which complains on a pipe
    C("--user without a password prompts", ["--user", "someone", "get", "foo"], stdin="pw\n",
      norm=[(r"(?m)^stty: .*\n", "")]),
    C("skip-tls-verify alone stays plaintext", ["--endpoints={HOSTPORT}", "--command-timeout=2s",
                                                "get", "foo", "--insecure-skip-tls-verify"]),
    # ---- watch replaying history (identical bytes for both tools: fixed revisions)
    *[W("watch foo --rev 1 --prev-kv -w %s" % w, ["watch", "foo", "--rev", "1", "--prev-kv", "-w", w], [],
        binary=(w == "protobuf"), etcd=(w in ("json", "protobuf")))
      for w in ("simple", "json", "fields", "protobuf")],
    W("watch prefix --rev 1 --hex", ["watch", "--prefix", "fo", "--rev", "1", "--hex"], [], etcd=False),
    W("watch range --rev 1", ["watch", "a", "fop", "--rev", "1", "-w", "fields"], [], etcd=False),
    # ---- put
    C("put", ["put", "k", "v1"], setup=RESET_K, rev=True),
    C("put prev-kv", ["put", "k", "v1", "--prev-kv"], setup=RESET_K, rev=True),
    C("put prev-kv json", ["put", "k", "v1", "--prev-kv", "-w", "json"], setup=RESET_K, rev=True),
    C("put prev-kv fields", ["put", "k", "v1", "--prev-kv", "-w", "fields"], setup=RESET_K, rev=True),
    C("put table", ["put", "k", "v1", "-w", "table"], setup=RESET_K, rev=True),
    C("put ignore-value", ["put", "k", "--ignore-value", "-w", "json"], setup=RESET_K, rev=True),
    C("put ignore-value + value", ["put", "k", "v", "--ignore-value"]),
    C("put ignore-value missing", ["put", "missing", "--ignore-value"]),
    C("put ignore-lease missing", ["put", "missing", "x", "--ignore-lease"]),
    C("put from stdin", ["put", "k"], stdin="from stdin", setup=RESET_K, rev=True),
    C("put empty stdin", ["put", "k"]),
    C("put no args", ["put"]),
    C("put bad lease", ["put", "k", "v", "--lease=xyz"]),
    C("put unknown lease", ["put", "k", "v", "--lease=1234abcd"]),
    C("put -- dash value", ["put", "k", "--", "-dash"], setup=RESET_K, rev=True),
    C("put over the 2 MiB send limit", ["put", "big"], stdin="y" * (3 << 20)),
    # ---- del
    C("del", ["del", "k"], setup=RESET_K, rev=True),
    C("del prev-kv", ["del", "k", "--prev-kv"], setup=RESET_K, rev=True),
    C("del prev-kv json", ["del", "k", "--prev-kv", "-w", "json"], setup=RESET_K, rev=True),
    C("del prefix fields", ["del", "p/", "--prefix", "--prev-kv", "-w", "fields"],
      setup=[["put", "p/1", "a"], ["put", "p/2", "b"]], rev=True),
    C("del from-key json", ["del", "zz", "--from-key", "-w", "json"], rev=True),
    C("del missing", ["del", "nope"], rev=True),
    C("del empty key", ["del", ""]),
    C("del 3 args", ["del", "a", "b", "c"]),
    # ---- txn
    C("txn success", ["txn"], stdin=txn_in(['value("k") = "v0"'], ["put k v2", "get k"], ["get k"]),
      setup=RESET_K, rev=True),
    C("txn failure json", ["txn", "-w", "json"],
      stdin=txn_in(['version("k") > "5"'], ["del k"], ["get k", "get foo --prefix --keys-only"]),
      setup=RESET_K, rev=True),
    C("txn fields", ["txn", "-w", "fields"],
      stdin=txn_in(['mod("k") > "0"', 'c("k") != "0"'], ["put k v3 --prev-kv", "del nope"], []),
      setup=RESET_K, rev=True),
    C("txn interactive", ["txn", "-i"], stdin=txn_in([], ["get k"], []), setup=RESET_K, rev=True),
    C("txn quoted args", ["txn"], stdin=txn_in([], ['put k "a b\\tc"', "get k"], []),
      setup=RESET_K, rev=True),
    C("txn malformed compare", ["txn"], stdin=txn_in(["bogus"], [], [])),
    C("txn bad target", ["txn"], stdin=txn_in(['nope("k") = "1"'], [], [])),
    C("txn missing quotes", ["txn"], stdin=txn_in(['value("k")="v"'], [], [])),
    C("txn bad version", ["txn"], stdin=txn_in(['version("k") = "x"'], [], [])),
    C("txn bad op", ["txn"], stdin=txn_in([], ["frob k"], [])),
    C("txn EOF", ["txn"], stdin='value("k") = "v0"\n'),
    C("txn args", ["txn", "x"]),
    C("txn duplicate key", ["txn"], stdin=txn_in([], ["put a 1", "del a"], [])),
    # "quoted" words and compare values follow Go's strconv.Unquote
    C("txn Go escapes", ["txn", "-w", "json"],
      stdin=txn_in([], ['put k "\\u00e9\\U0001F600\\101\\x41\\t`\\""', "get k"], []),
      setup=RESET_K, rev=True),
    C("txn bad \\x escape in compare", ["txn"], stdin=txn_in(['value("k") = "\\xzz"'], [], [])),
    C("txn \\' in a double-quoted compare", ["txn"],
      stdin=txn_in(["value(\"k\") = \"a\\'b\""], [], [])),
    C("txn bad \\x escape in op", ["txn"], stdin=txn_in([], ['put k "\\xzz"'], [])),
    C("txn surrogate \\u escape in op", ["txn"], stdin=txn_in([], ['put k "\\ud800"'], [])),
    C("txn octal escape over 255", ["txn"], stdin=txn_in([], ['put k "\\400"'], [])),
    C("watch -i bad escape", ["watch", "-i"], stdin='watch "\\xzz"\n'),
    # ---- compaction
    C("compaction bad arg", ["compaction", "x"]),
    C("compaction no arg", ["compaction"]),
    C("compaction future", ["compaction", "100000"]),
    C("compaction current", ["compaction", "{REV}"], setup=[["put", "c", "1"]], rev=True),
    C("compaction physical", ["compaction", "--physical", "{REV}"], setup=[["put", "c", "1"]], rev=True),
    C("compaction compacted", ["compaction", "1"]),
    C("get compacted rev", ["get", "foo", "--rev", "1"]),
    *[C("watch compacted rev -w %s" % w, ["watch", "foo", "--rev", "1", "-w", w], binary=(w == "protobuf"),
        etcd=(w in ("simple", "json"))) for w in ("simple", "json", "fields", "protobuf")],
    # ---- member / endpoint / maintenance
    C("member list", ["member", "list"]),
    *[C("member list -w %s" % w, ["member", "list", "-w", w], binary=(w == "protobuf"))
      for w in ("json", "fields", "table", "protobuf")],
    C("member list --hex json", ["--hex", "member", "list", "-w", "json"]),
    C("member remove bad id", ["member", "remove", "xyz"]),
    C("member remove no id", ["member", "remove"]),
    C("member remove unknown", ["member", "remove", "1234"]),
    C("member update no urls", ["member", "update", "1234"]),
    C("member update unknown", ["member", "update", "1234", "--peer-urls=http://127.0.0.1:1"]),
    C("member promote unknown", ["member", "promote", "1234"]),
    C("member add no urls", ["member", "add", "x"]),
    C("member add no name", ["member", "add"]),
    C("member add url as argument", ["member", "add", "a", "http://x:1"]),
    C("member add two url arguments", ["member", "add", "HTTP://a", "http://b"]),
    *[C("endpoint status -w %s" % w, ["endpoint", "status", "-w", w]) for w in ("simple", "json", "fields", "table", "protobuf")],
    C("endpoint status --cluster", ["endpoint", "status", "--cluster", "-w", "json"]),
    *[C("endpoint hashkv -w %s" % w, ["endpoint", "hashkv", "-w", w]) for w in ("simple", "json", "fields", "table")],
    *[C("endpoint health -w %s" % w, ["endpoint", "health", "-w", w]) for w in ("simple", "json", "fields")],
    C("defrag", ["defrag"]),
    C("defrag json", ["defrag", "-w", "json"]),
    C("move-leader bad id", ["move-leader", "xyz"]),
    C("move-leader no arg", ["move-leader"]),
    C("move-leader unknown", ["move-leader", "1234"]),
    C("move-leader fields", ["move-leader", "1234", "-w", "fields"]),
    C("unreachable endpoint", ["--endpoints=127.0.0.1:1", "--command-timeout=1s", "get", "foo"]),
    C("failover to 2nd endpoint", ["--endpoints=127.0.0.1:1,{EP}", "get", "foo", "-w", "json"]),
    # every endpoint fails
    *[C("endpoint %s dead endpoint -w %s" % (c, w),
        ["--endpoints=127.0.0.1:1", "--command-timeout=1s", "endpoint", c, "-w", w])
      for c in ("status", "hashkv") for w in ("simple", "json", "table")],
    C("endpoint health --cluster dead endpoint",
      ["--endpoints=127.0.0.1:1", "--command-timeout=1s", "endpoint", "health", "--cluster"]),
    # ---- environment variables (global + inherited group flags; flags win)
    C("env write-out", ["get", "foo"], env={"ETCDCTL_WRITE_OUT": "fields"}),
    C("env hex", ["get", "foo"], env={"ETCDCTL_HEX": "true"}),
    C("env flag wins", ["get", "foo", "-w", "json"], env={"ETCDCTL_WRITE_OUT": "fields"}),
    C("env endpoints", ["get", "foo"], env={"ETCDCTL_ENDPOINTS": "{EP}"}),
    C("env unknown var", ["get", "foo"], env={"ETCDCTL_BOGUS": "1"}),
    C("env bad duration", ["get", "foo"], env={"ETCDCTL_DIAL_TIMEOUT": "soon"}),
    C("env empty var", ["get", "foo"], env={"ETCDCTL_WRITE_OUT": ""}),
    C("env invalid value ignored", ["get", "foo"], env={"ETCDCTL_KEEPALIVE_TIME": "soon"}),
    C("env cluster for endpoint hashkv", ["endpoint", "hashkv"], env={"ETCDCTL_CLUSTER": "true"}),
    C("env cluster not for defrag", ["defrag"], env={"ETCDCTL_CLUSTER": "true"}),
    C("env read only with a client", ["get"], env={"ETCDCTL_BOGUS": "1"}),
    C("env write-out not read by version", ["version"], env={"ETCDCTL_WRITE_OUT": "bogus"},
      stdout=False),
    C("debug dump of endpoint's --cluster", ["--debug", "endpoint", "status"], keep_err="ETCDCTL_"),
    # ---- learner lifecycle (a learner does not change the quorum)
    C("member add learner", ["member", "add", "l1", "--learner", "--peer-urls=http://127.0.0.1:{FREE}"],
      ids=True, after="remove-learners"),
    C("member add learner json", ["member", "add", "l1", "--learner", "--peer-urls=http://127.0.0.1:{FREE}",
                                  "-w", "json"], ids=True, after="remove-learners"),
    C("member add learner fields", ["member", "add", "l1", "--learner", "--peer-urls=http://127.0.0.1:{FREE}",
                                    "-w", "fields"], ids=True, after="remove-learners"),
    C("member list with learner", ["member", "list", "-w", "table"], ids=True,
      setup=[["member", "add", "l2", "--learner", "--peer-urls=http://127.0.0.1:{FREE}"]],
      after="remove-learners"),
    C("member update learner", ["member", "update", "{LEARNER}", "--peer-urls=http://127.0.0.1:{FREE}"],
      ids=True, setup=[["member", "add", "l3", "--learner", "--peer-urls=http://127.0.0.1:{FREE}"]],
      after="remove-learners"),
    C("member promote voter", ["member", "promote", "{SELF}"]),
    C("member remove learner", ["member", "remove", "{LEARNER}"], ids=True,
      setup=[["member", "add", "l5", "--learner", "--peer-urls=http://127.0.0.1:{FREE}"]],
      after="remove-learners"),
    C("member add duplicate peer url", ["member", "add", "x", "--learner", "--peer-urls={PEER}"]),

    # ---- watch: live events, then Ctrl-C (rc -2 for both: neither catches SIGINT)
    *[W("watch live --prev-kv -w %s" % w, ["watch", "w", "--prev-kv", "-w", w], WPUTS, rev=True,
        etcd=(w == "json")) for w in ("simple", "json", "fields")],
    W("watch table", ["watch", "w", "-w", "table"], WPUTS, etcd=False),
    W("watch --prefix", ["watch", "--prefix", "wp/"], [["put", "wp/1", "a"], ["put", "wpx", "no"],
                                                      ["del", "wp/", "--prefix"]], rev=True),
    W("watch range", ["watch", "wa", "wc"], [["put", "wb", "1"], ["put", "wc", "1"], ["put", "wa", "2"]],
      etcd=False),
    W("watch 3 args (range ignored)", ["watch", "wa", "wc", "zz"], [["put", "wb", "1"], ["put", "wa", "3"]],
      etcd=False),
    W("watch exec", ["watch", "x", "--", "sh", "-c",
                     "echo ev $ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE"],
      [["put", "x", "a b\"c"], ["del", "x"]], norm=[(r"ev \d+ ", "ev <rev> ")]),
    W("watch exec with flags after key", ["watch", "x", "--prev-kv", "--", "echo", "got"],
      [["put", "x", "1"]], setup=[["put", "x", "0"]], etcd=False),
    W("watch exec failing command", ["watch", "x", "--", "false"], [["put", "x", "1"]], etcd=False),
    W("watch exec missing command", ["watch", "x", "--", "no-such-cmd-q", "a"], [["put", "x", "1"]],
      etcd=False),
    W("watch env key", ["watch", "--prev-kv"], [["put", "x", "e1"]], env={"ETCDCTL_WATCH_KEY": "x"},
      setup=[["put", "x", "0"]], etcd=False),
    W("watch env key + range", ["watch"], [["put", "wb", "e2"]],
      env={"ETCDCTL_WATCH_KEY": "wa", "ETCDCTL_WATCH_RANGE_END": "wc"}, etcd=False),
    W("watch env key + exec", ["watch", "--", "echo", "hi"], [["put", "x", "e3"]],
      env={"ETCDCTL_WATCH_KEY": "x"}, etcd=False),
    W("watch -i", ["watch", "-i"], [["put", "x", "i1"], ["put", "y", "i2"], ["put", "x", "i3"]],
      stdin="watch x\nwatch y --prev-kv\nbogus\n\nwatch\nwatch a b --prefix\n", setup=[["del", "y"]]),
    W("watch -i progress", ["watch", "-i"], [["put", "x", "p1"]], stdin="watch x\nwatch y\nprogress\n",
      norm=[(r"progress notify: \d+", "progress notify: <rev>")]),
    W("watch -i exec", ["watch", "-i"], [["put", "x", "e1"]], stdin="watch x -- echo ran\n", etcd=False),
    C("watch -i EOF", ["watch", "-i"], stdin="watch x\n"),
    C("watch no args", ["watch"]),
    C("watch range + prefix", ["watch", "a", "b", "--prefix"]),
    C("watch -- only", ["watch", "--"]),
    C("watch key --", ["watch", "a", "--"]),
    C("watch env key conflict", ["watch", "x"], env={"ETCDCTL_WATCH_KEY": "x"}),
    C("watch env range without key", ["watch", "x"], env={"ETCDCTL_WATCH_RANGE_END": "y"}),
    # ---- lease
    *[C("lease grant -w %s" % w, ["lease", "grant", "100", "-w", w], mask=True, rev=True,
        pb=("ResponseHeader" if w == "protobuf" else None)) for w in ("simple", "json", "fields", "protobuf")],
    C("lease grant table", ["lease", "grant", "100", "-w", "table"], etcd=False),
    C("lease grant no ttl", ["lease", "grant"]),
    C("lease grant bad ttl", ["lease", "grant", "x"]),
    *[C("lease timetolive %s -w %s" % (k, w), ["lease", "timetolive", "{LEASE}", "-w", w] + ([k] if k else []),
        setup=LEASE_SETUP, mask=True, rev=True, pb=("ResponseHeader" if w == "protobuf" else None),
        norm=SORT_ATTACHED_KEYS)
      for w in ("simple", "json", "fields", "protobuf") for k in ("", "--keys")],
    C("lease timetolive unknown", ["lease", "timetolive", "1234"], rev=True),
    C("lease timetolive unknown json", ["lease", "timetolive", "1234", "-w", "json"], rev=True),
    C("lease timetolive bad id", ["lease", "timetolive", "zz"]),
    C("lease timetolive no id", ["lease", "timetolive"]),
    *[C("lease list -w %s" % w, ["lease", "list", "-w", w], setup=LEASE_SETUP + [["lease", "grant", "50"]],
        mask=True, rev=True, pb=("ResponseHeader" if w == "protobuf" else None))
      for w in ("simple", "json", "fields", "protobuf")],
    C("lease list none", ["lease", "list", "-w", "json"], setup=[["revoke-all-leases"]], rev=True),
    *[C("lease revoke -w %s" % w, ["lease", "revoke", "{LEASE}", "-w", w], setup=LEASE_SETUP,
        mask=True, rev=True, norm=[(r"revision:\d+", "revision:<rev>")])
      for w in ("simple", "json", "fields", "protobuf")],
    C("lease revoke unknown", ["lease", "revoke", "1234"]),
    C("lease revoke bad id", ["lease", "revoke", "zz"]),
    C("lease revoke no id", ["lease", "revoke"]),
    *[C("lease keep-alive --once -w %s" % w, ["lease", "keep-alive", "--once", "{LEASE}", "-w", w],
        setup=LEASE_SETUP, mask=True, rev=True, pb=("ResponseHeader" if w == "protobuf" else None))
      for w in ("simple", "json", "fields", "protobuf")],
    C("lease keep-alive --once unknown", ["lease", "keep-alive", "--once", "1234"]),
    C("lease keep-alive unknown", ["lease", "keep-alive", "1234"]),
    C("lease keep-alive no id", ["lease", "keep-alive"]),
    W("lease keep-alive until Ctrl-C", ["lease", "keep-alive", "{LEASE}"], [], setup=LEASE_SETUP, mask=True),
    W("lease keep-alive until revoked", ["lease", "keep-alive", "{LEASE}"], [["lease", "revoke", "{LEASE}"]],
      setup=LEASE_SETUP, mask=True, etcd=False),
    C("lease (group help)", ["lease"]),
    # ---- lock
    C("lock with command", ["lock", "lk", "--", "sh", "-c",
                            'echo "key=${ETCD_LOCK_KEY%/*}/<id> rev=${ETCD_LOCK_REV:+set}"; echo 2nd']),
    C("lock command fails", ["lock", "lk", "--", "sh", "-c", "exit 3"]),
    C("lock command missing", ["lock", "lk", "no-such-cmd-q"]),
    C("lock unknown shorthand in command", ["lock", "lk", "sh", "-c", "true"], stdout=False),
    C("lock released after command", ["lock", "lk", "echo", "again"], setup=[["lock", "lk", "true"]]),
    C("lock no name", ["lock"]),
    *[W("lock until Ctrl-C -w %s" % w, ["lock", "lk2", "-w", w], [], mask=True, rev=True,
        pb=("RangeResponse" if w == "protobuf" else None), etcd=(w == "simple"))
      for w in ("simple", "json", "fields", "protobuf")],
    # the tool takes lk3, a spawned etcdctl waits behind it; Ctrl-C releases it.
    # (A spawned etcdctl stopped mid-acquire leaves its key until its lease
    # expires: every lease is revoked first.)
    W("lock held while another waits", ["lock", "lk3", "--ttl=5"], [("spawn", ["lock", "lk3"]), ("sleep", 0.5)],
      setup=[["revoke-all-leases"]], mask=True),
    W("lock waits for holder, Ctrl-C", ["lock", "lk5", "--ttl=5"], [], before=[("spawn", ["lock", "lk5"])],
      setup=[["revoke-all-leases"]], mask=True, etcd=False),
    # etcdctl exits on the format error still holding the lock: drop its lease first
    W("lock --ttl table", ["lock", "lk4", "--ttl=5", "-w", "table"], [], setup=[["revoke-all-leases"]],
      etcd=False),
    # ---- elect
    *[W("elect campaign -w %s" % w, ["elect", "el", "p1", "-w", w], [], mask=True, rev=True,
        pb=("RangeResponse" if w == "protobuf" else None), etcd=(w == "simple"))
      for w in ("simple", "json", "fields", "protobuf")],
    *[W("elect -l sees proposal -w %s" % w, ["elect", "-l", "el2", "-w", w],
        [("spawn", ["elect", "el2", "leader-value"])], mask=True, rev=True,
        pb=("RangeResponse" if w == "protobuf" else None), etcd=(w == "simple"))
      for w in ("simple", "json", "fields", "protobuf")],
    W("elect -l sees existing leader then successor", ["elect", "--listen", "el3"],
      [("spawn", ["elect", "el3", "first"]), ("spawn", ["elect", "el3", "second"]), ("stop-spawned", 0)],
      mask=True, etcd=False),
    C("elect no args", ["elect"]),
    C("elect 3 args", ["elect", "a", "b", "c"]),
    C("elect -l no name", ["elect", "-l"]),
    C("elect -l with proposal", ["elect", "-l", "a", "b"]),
    C("elect without proposal", ["elect", "a"]),
    # ---- help
    C("help watch", ["watch", "--help"], drop=r"--progress-notify"),
    *[C("help " + " ".join(h), list(h) + ["--help"]) for h in (
        ("lease",), ("lease", "grant"), ("lease", "revoke"), ("lease", "timetolive"), ("lease", "list"),
        ("lease", "keep-alive"), ("lock",), ("elect",))],
    *[C("help " + " ".join(h), list(h) + ["--help"]) for h in (
        ("put",), ("del",), ("txn",), ("compaction",), ("member",), ("member", "add"),
        ("member", "remove"), ("member", "update"), ("member", "list"), ("member", "promote"),
        ("endpoint",), ("endpoint", "health"), ("endpoint", "status"), ("endpoint", "hashkv"),
        ("move-leader",), ("version",))],
    # etcdctl's offline bbolt `defrag --data-dir` does not exist (docs/quorumctl.md)
    C("help defrag", ["defrag", "--help"], drop=r"--data-dir"),
]

CASES += maintenance_cases(C)

_IDS = [(re.compile(r'"ID":\d+'), '"ID":<id>'), (re.compile(r'"ID" : \d+'), '"ID" : <id>'),
        (re.compile(r'Member [0-9a-f ]{16} '), 'Member <id> '),
        (re.compile(r'\| *[0-9a-f]{12,16} \|'), '| <id> |'),
        (re.compile(r'127\.0\.0\.1:\d+'), '127.0.0.1:<port>'),
        (re.compile(r'\b[0-9a-f]{12,16}\b'), '<id>'),
        # the ID column is as wide as the longest (random) id
        (re.compile(r'^\+-+\+', re.M), '+<idcol>+'), (re.compile(r'^\| +ID +\|', re.M), '| ID |')]
_LOGTS = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} ', re.M)
_REV_JSON = re.compile(r'"(revision|create_revision|mod_revision)":\d+')
_REV_FIELDS = re.compile(r'^"(\w*Revision)" : \d+$', re.M)
_TOOK = re.compile(r'(took = |"took":"|"Took" : |\| )[0-9.]+(ns|µs|ms|s)')


_INITIAL_CLUSTER = re.compile(r'^ETCD_INITIAL_CLUSTER="([^"]*)"$', re.M)


def sort_members(text):
    """Member order follows random member ids; compare JSON member lists sorted."""
    text = _INITIAL_CLUSTER.sub(
        lambda m: 'ETCD_INITIAL_CLUSTER="%s"' % ",".join(sorted(m.group(1).split(","))), text)
    try:
        obj = json.loads(text)
    except ValueError:
        return text
    if isinstance(obj, dict) and isinstance(obj.get("members"), list):
        obj["members"].sort(key=lambda m: (m.get("name", ""), str(m.get("isLearner"))))
        return json.dumps(obj, separators=(",", ":")) + "\n"
    return text


def normalise(text, rev, ids=False):
    text = "\n".join(l for l in text.split("\n") if not l.startswith('{"level"'))
    text = text.replace("etcdctl", "CTL").replace("quorumctl", "CTL")
    text = _LOGTS.sub("<ts> ", text)
    text = _TOOK.sub(lambda m: m.group(1) + "<took>", text)
    if ids:
        text = sort_members(text)
        for rx, rep in _IDS:
            text = rx.sub(rep, text)
        # Rows follow random member ids: compare them as a set.
        text = "\n".join(sorted(text.split("\n")))
    if rev:
        text = _REV_JSON.sub(lambda m: '"%s":<rev>' % m.group(1), text)
        text = _REV_FIELDS.sub(lambda m: '"%s" : <rev>' % m.group(1), text)
    return text


# lease ids: %016x in lease output, %x (no padding) in lock/election keys
_HEXID = re.compile(r'\b-?[0-9a-f]{12,16}\b')
_MASKS = [(re.compile(r'"(ID|id|lease)":\d+'), r'"\1":<n>'),
          (re.compile(r'"(ID|Lease|PrevLease|TTL)" : \d+'), r'"\1" : <n>'),
          (re.compile(r'remaining\(\d+s\)'), 'remaining(<n>s)'),
          (re.compile(r'"ttl":\d+'), '"ttl":<n>')]
_B64KEY = re.compile(r'"key":"([A-Za-z0-9+/=]*)"')


def mask_leases(text):
    """Lease ids (and the lock/election keys named after them), remaining TTLs."""
    import base64

    def key(m):
        try:
            k = base64.b64decode(m.group(1)).decode("utf-8", "replace")
        except ValueError:
            return m.group(0)
        return '"key":"%s"' % _HEXID.sub("<id>", k)
    text = _B64KEY.sub(key, text)
    text = _HEXID.sub("<id>", text)
    for rx, rep in _MASKS:
        text = rx.sub(rep, text)
    return text


def decode_pb(kind, data):
    """One etcdserverpb message, as masked text (revisions, leases, ids)."""
    from etcd3.etcdrpc import rpc_pb2
    try:
        m = getattr(rpc_pb2, kind)()
        m.ParseFromString(data)
    except Exception as e:  # noqa: BLE001
        return "<undecodable %s: %r>" % (kind, e)
    text = str(m)
    text = re.sub(r'(revision|lease|ID|TTL): \d+', r'\1: <n>', text)
    return _HEXID.sub("<id>", text)


def run_bg(binary, server, args, bg, env_extra):
    """Starts the tool, runs the actions, then Ctrl-C (SIGINT) unless it ended."""
    import signal
    import threading
    endpoint = server.endpoint
    argv = [binary, "--endpoints=" + endpoint, "--dial-timeout=2s", "--command-timeout=5s"] + args
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    env.update(env_extra or {})
    spawned = []
    ctl_env = dict(env)
    ctl_env.pop("ETCDCTL_WATCH_KEY", None)
    ctl_env.pop("ETCDCTL_WATCH_RANGE_END", None)

    def act(a):
        if a[0] == "spawn":
            spawned.append(subprocess.Popen([harness.ETCDCTL_BIN, "--endpoints=" + endpoint] + a[1],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            env=ctl_env))
            time.sleep(0.8)
        elif a[0] == "stop-spawned":
            stop(spawned[a[1]])
            time.sleep(0.8)
        elif a[0] == "sleep":
            time.sleep(a[1])
        else:
            run(harness.ETCDCTL_BIN, endpoint, subst(server, a), None)
    for a in bg.get("before", []):
        act(a)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    outs = {}

    def reader(name, f):
        outs[name] = f.read()
    ts = [threading.Thread(target=reader, args=(n, f), daemon=True)
          for n, f in (("out", p.stdout), ("err", p.stderr))]
    for t in ts:
        t.start()
    if bg.get("stdin"):
        p.stdin.write(bg["stdin"].encode())
        p.stdin.flush()
    time.sleep(0.8)
    for a in bg["actions"]:
        act(a)
    time.sleep(0.8)
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for t in ts:
        t.join(timeout=5)
    p.stdin.close()
    for sp in spawned:
        stop(sp)
    return p.returncode, outs.get("out", b""), outs.get("err", b"")


def stop(proc):
    import signal
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def setup_step(server, step):
    """One setup command through etcdctl; `lease grant` remembers {LEASE};
    ["save-once", FILE]: `snapshot save FILE` unless FILE exists (so both tools
    and every case read the same file)."""
    if step[0] == "save-once":
        path = subst(server, step[1:])[0]
        if os.path.exists(path):
            return True
        return run(harness.ETCDCTL_BIN, server.endpoint, ["snapshot", "save", path], None)[0] == 0
    if step == ["revoke-all-leases"]:
        rc, out, _ = run(harness.ETCDCTL_BIN, server.endpoint, ["lease", "list"], None)
        for line in out.decode().split("\n")[1:]:
            if line.strip():
                run(harness.ETCDCTL_BIN, server.endpoint, ["lease", "revoke", line.strip()], None)
        return rc == 0
    rc, out, _ = run(harness.ETCDCTL_BIN, server.endpoint, subst(server, step), None)
    m = re.match(rb"lease ([0-9a-f]+) granted", out)
    if m and not getattr(server, "lease_fixed", False):
        server.last_lease = m.group(1).decode()
        server.lease_fixed = True  # the first grant of a setup is {LEASE}
    return rc == 0


def run(binary, endpoint, args, stdin, timeout=20, env=None):
    argv = [binary, "--endpoints=" + endpoint, "--dial-timeout=2s", "--command-timeout=5s"] + args
    if args and args[0].startswith("--endpoints="):
        argv = [binary] + args
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    env.update({k: v.replace("{EP}", endpoint).replace("{HTTPS}", "https://" + endpoint)
                for k, v in extra.items()})
    if "ETCDCTL_ENDPOINTS" in extra:
        argv = [a for a in argv if not a.startswith("--endpoints=")]
    try:
        p = subprocess.run(argv, input=(stdin or "").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return "timeout", e.stdout or b"", e.stderr or b""
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------------------
# TLS phase: one quorum member serving https with client-cert auth.
# ---------------------------------------------------------------------------

TLS_CASES = [
    C("tls put", ["put", "t", "1"] + ["{TLS}"]),
    C("tls get https://", ["get", "t", "-w", "json", "{TLS}"], env={"ETCDCTL_ENDPOINTS": "{HTTPS}"}),
    C("tls skip-verify with client cert", ["get", "t", "--insecure-skip-tls-verify",
                                           "--cert={DIR}/client.pem", "--key={DIR}/client.key"]),
    C("tls endpoint status", ["endpoint", "status", "-w", "fields", "{TLS}"]),
    C("tls no client cert", ["get", "t", "--cacert={DIR}/ca.pem", "--command-timeout=1s"]),
    C("tls plaintext client", ["get", "t", "--command-timeout=1s"]),
    C("tls missing CA file", ["get", "t", "--cacert=/nonexistent/ca.pem"]),
    C("tls cert without key", ["get", "t", "--cert={DIR}/client.pem"]),
    C("tls skip-verify without TLS files, https://", ["get", "t", "--insecure-skip-tls-verify",
                                                      "--command-timeout=1s"],
      env={"ETCDCTL_ENDPOINTS": "{HTTPS}"}),
]


# ---------------------------------------------------------------------------
# Auth phase: Debian's etcd 3.4 with auth enabled (Quorum's server has no Auth
# service yet): every call, watch stream and Lock/Election call of quorumctl
# must carry the token, as etcdctl's do.
# ---------------------------------------------------------------------------

U = "--user=root:rootpw"
AUTH_SETUP = [["put", "a", "1"], ["put", "w", "v0"], ["user", "add", "root:rootpw"],
              ["auth", "enable"]]
AUTH_CASES = [
    C("auth get", [U, "get", "a"]),
    C("auth get --user --password", ["--user=root", "--password=rootpw", "get", "a", "-w", "json"],
      rev=True),
    C("auth put", [U, "put", "b", "2"], rev=True),
    C("auth wrong password", ["--user=root:nope", "get", "a"]),
    C("auth unknown user", ["--user=nobody:pw", "get", "a"]),
    C("auth password prompt", ["--user=root", "get", "a"], stdin="rootpw\n",
      norm=[(r"(?m)^stty: .*\n", "")]),
    C("auth password prompt, wrong password", ["--user=root", "get", "a"], stdin="nope\n",
      norm=[(r"(?m)^stty: .*\n", "")]),
    C("auth password prompt, white space trimmed", ["--user=root", "get", "a"],
      stdin="  rootpw \t\r\n", norm=[(r"(?m)^stty: .*\n", "")]),
    C("auth password prompt, empty line", ["--user=root", "get", "a"], stdin="\n",
      norm=[(r"(?m)^stty: .*\n", "")]),
    C("auth empty password after ':'", ["--user=root:", "get", "a"]),
    C("auth password prompt, then txn from stdin", ["--user=root", "txn"],
      stdin="rootpw\n" + txn_in(['value("a") = "1"'], ["get a"], []),
      norm=[(r"(?m)^stty: .*\n", "")]),
    C("auth no user", ["get", "a"]),
    C("auth txn", [U, "txn"], stdin=txn_in(['value("a") = "1"'], ["get a"], ["get b"])),
    C("auth endpoint health", [U, "endpoint", "health"]),
    W("auth watch", [U, "watch", "w"], [[U, "put", "w", "v1"], [U, "del", "w"]], rev=True),
    W("auth watch --rev 1", [U, "watch", "a", "--rev=1"], []),
    W("auth lock", [U, "lock", "al"], [], mask=True, rev=True),
    W("auth lock held while another waits", [U, "lock", "al2", "--ttl=5"],
      [("spawn", [U, "lock", "al2"]), ("sleep", 0.5)], mask=True, rev=True),
    W("auth elect", [U, "elect", "ae", "p1"], [], mask=True, rev=True),
    W("auth elect -l", [U, "elect", "-l", "ae2"], [("spawn", [U, "elect", "ae2", "p2"])],
      mask=True, rev=True),
    C("auth lease grant", [U, "lease", "grant", "60"], mask=True),
    # The phase's etcd runs with --auth-token-ttl=1: a waiter's token expires
    # behind the holder, and the server refuses the call that would take the
    # lock / lead (etcd's Lock/Election pass it on as code Unknown).
    W("auth lock waits past the token's life", [U, "lock", "al3", "--ttl=5"],
      [("sleep", 1.5), ("stop-spawned", 0)], before=[("spawn", [U, "lock", "al3"])],
      mask=True, rev=True),
    W("auth elect waits past the token's life", [U, "elect", "ae3", "p1"],
      [("sleep", 1.5), ("stop-spawned", 0)], before=[("spawn", [U, "elect", "ae3", "p0"])],
      mask=True, rev=True),
]


def enable_auth(server):
    for s in AUTH_SETUP:
        rc, _, err = run(harness.ETCDCTL_BIN, server.endpoint, s, None)
        if rc != 0:
            raise harness.ServerStartError("auth setup %s: %s" % (s, err.decode()))


def make_certs(d):
    def ossl(*a):
        subprocess.run(["openssl"] + list(a), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=quorum-ctl-test-ca")
    for n in ("server", "client"):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", n + ".key", "-out", n + ".csr",
             "-subj", "/CN=" + n)
        with open(os.path.join(d, n + ".ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n")
        ossl("x509", "-req", "-in", n + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", n + ".pem", "-days", "2", "-extfile", n + ".ext")


class TlsServer:
    """A quorum member on https with --client-cert-auth; the tools reach it
    with the flags that {TLS} expands to."""

    def __init__(self, binary):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="quorum-ctl-tls-")
        make_certs(self.tmp)
        self.port, self.peer_port = harness.free_port(), harness.free_port()
        self.endpoint = "127.0.0.1:%d" % self.port
        peer = "http://127.0.0.1:%d" % self.peer_port
        url = "https://" + self.endpoint
        d = self.tmp
        self.log = open(os.path.join(d, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "--name", "n1", "--data-dir", os.path.join(d, "data"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "n1=" + peer, "--cert-file", d + "/server.pem",
             "--key-file", d + "/server.key", "--trusted-ca-file", d + "/ca.pem",
             "--client-cert-auth"], stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        import time
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if run(harness.ETCDCTL_BIN, self.endpoint, ["endpoint", "health"] + self.tls_flags(),
                   None)[0] == 0:
                return
            time.sleep(0.2)
        self.stop()
        raise harness.ServerStartError("TLS quorum did not become healthy")

    def tls_flags(self):
        return ["--cacert=%s/ca.pem" % self.tmp, "--cert=%s/client.pem" % self.tmp,
                "--key=%s/client.key" % self.tmp]

    def stop(self):
        import shutil
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def members(server):
    rc, out, _ = run(harness.ETCDCTL_BIN, server.endpoint, ["member", "list", "-w", "json"], None)
    return json.loads(out).get("members", []) if rc == 0 else []


def remove_learners(server):
    # Every unstarted member (etcd 3.4's member update drops isLearner).
    for m in members(server):
        if not m.get("name"):
            for _ in range(10):
                r = run(harness.ETCDCTL_BIN, server.endpoint, ["member", "remove", "%x" % m["ID"]], None)
                if r[0] == 0 or b"member not found" in r[2]:
                    break
                time.sleep(0.3)


def subst(server, args):
    out = []
    for a in args:
        if a == "{TLS}":
            out.extend(server.tls_flags())
            continue
        if "{DIR}" in a:
            a = a.replace("{DIR}", server.tmp)
        if "{EP}" in a:
            a = a.replace("{EP}", server.endpoint)
        if "{HOSTPORT}" in a:  # no scheme: TLS follows the flags
            a = a.replace("{HOSTPORT}", server.endpoint.split("://")[-1])
        if "{FREE}" in a:
            a = a.replace("{FREE}", str(harness.free_port()))
            server.last_free_url = a.split("=", 1)[-1]
        if "{PEER}" in a:
            a = a.replace("{PEER}", "http://127.0.0.1:%d" % server.peer_port)
        if "{LEASE}" in a:
            a = a.replace("{LEASE}", getattr(server, "last_lease", "0"))
        if a == "{SELF}":
            a = next(("%x" % m["ID"] for m in members(server) if not m.get("isLearner")), "0")
        if a == "{LEARNER}":  # the learner the setup step just added
            url = getattr(server, "last_free_url", None)
            a = next(("%x" % m["ID"] for m in members(server)
                      if m.get("isLearner") and url in m.get("peerURLs", [])), "0")
        out.append(a)
    return out


def run_cases(server, cases, ctl_bins, label, flt, verbose, seed=True):
    passed = failed = 0
    for s in SEED if seed else []:
        run(harness.ETCDCTL_BIN, server.endpoint, s, None)
    for c in cases:
        name = "%s/%s" % (label, c["name"])
        if flt and flt not in name:
            continue
        outs = []
        t0 = time.monotonic()
        for b in ctl_bins:
            server.lease_fixed = False
            for s in c["setup"]:
                for _ in range(10):  # member changes can be refused right after another
                    if setup_step(server, s):
                        break
                    time.sleep(0.3)
            args = subst(server, c["args"])
            if "{REV}" in args:
                rc, out, _ = run(harness.ETCDCTL_BIN, server.endpoint, ["get", "x", "-w", "json"], None)
                cur = str(json.loads(out)["header"]["revision"])
                args = [cur if a == "{REV}" else a for a in args]
            env = {k: v.replace("{EP}", server.endpoint) for k, v in c["env"].items()}
            if c["bg"]:
                outs.append(run_bg(b, server, args, c["bg"], env))
            else:
                outs.append(run(b, server.endpoint, args, c["stdin"], env=c["env"]))
            if c["after"] == "remove-learners":
                remove_learners(server)
        (rc1, o1, e1), (rc2, o2, e2) = outs
        if c["pb"]:
            n1, n2 = decode_pb(c["pb"], o1), decode_pb(c["pb"], o2)
        elif c["binary"]:
            n1, n2 = o1, o2
        else:
            n1 = normalise(o1.decode("utf-8", "replace"), c["rev"], c["ids"])
            n2 = normalise(o2.decode("utf-8", "replace"), c["rev"], c["ids"])
        m1 = normalise(e1.decode("utf-8", "replace"), c["rev"], c["ids"])
        m2 = normalise(e2.decode("utf-8", "replace"), c["rev"], c["ids"])
        extra = list(c["norm"])
        if c["drop"]:
            extra.append((r"(?m)^.*%s.*\n" % c["drop"], ""))
        for rx, rep in extra:
            m1, m2 = re.sub(rx, rep, m1), re.sub(rx, rep, m2)
            if not (c["binary"] or c["pb"]):
                n1, n2 = re.sub(rx, rep, n1), re.sub(rx, rep, n2)
        if c["mask"]:
            m1, m2 = mask_leases(m1), mask_leases(m2)
            if not (c["binary"] or c["pb"]):
                n1, n2 = mask_leases(n1), mask_leases(n2)
        if c["keep_err"]:
            m1 = "\n".join(l for l in m1.split("\n") if l.startswith(c["keep_err"]))
            m2 = "\n".join(l for l in m2.split("\n") if l.startswith(c["keep_err"]))
        if c["rev"]:
            m1 = re.sub(r"revision \d+", "revision <rev>", m1)
            m2 = re.sub(r"revision \d+", "revision <rev>", m2)
            if not (c["binary"] or c["pb"]):
                n1 = re.sub(r"revision \d+", "revision <rev>", n1)
                n2 = re.sub(r"revision \d+", "revision <rev>", n2)
        ok = rc1 == rc2 and (n1 == n2 or not c["stdout"]) and m1 == m2
        if ok:
            passed += 1
            if verbose:
                print("PASS %s (%.2fs)" % (name, time.monotonic() - t0))
        else:
            failed += 1
            print("FAIL %s\n  etcdctl   rc=%s out=%r err=%r\n  quorumctl rc=%s out=%r err=%r"
                  % (name, rc1, n1[:600], m1[:400], rc2, n2[:600], m2[:400]))
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quorum-bin", default=harness.DEFAULT_QUORUM_BIN)
    ap.add_argument("--quorumctl-bin",
                    default=os.path.join(harness.REPO_ROOT, "build", "bin", "quorumctl"))
    ap.add_argument("--etcdctl-bin", default=harness.ETCDCTL_BIN)
    ap.add_argument("--etcd-bin", default=harness.ETCD_BIN)
    ap.add_argument("--no-etcd", action="store_true", help="skip the etcd 3.4 phase")
    ap.add_argument("--no-tls", action="store_true", help="skip the TLS phase")
    ap.add_argument("-k", dest="filter")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    harness.ETCDCTL_BIN = args.etcdctl_bin
    bins = [args.etcdctl_bin, os.path.abspath(args.quorumctl_bin)]
    passed = failed = 0
    for label, kind, binary, subset in (("quorum", "quorum", args.quorum_bin, False),
                                        ("etcd", "etcd", args.etcd_bin, True)):
        if subset and args.no_etcd:
            continue
        srv = harness.Server(kind, os.path.abspath(binary))
        try:
            srv.start()
        except harness.ServerStartError as e:
            print("FAIL %s: server did not start: %s" % (label, e))
            failed += 1
            continue
        try:
            cases = [c for c in CASES if (c["etcd"] if subset else c["quorum"])]
            p, f = run_cases(srv, cases, bins, label, args.filter, args.verbose)
            passed += p
            failed += f
        finally:
            srv.stop()
    if not args.no_etcd:
        asrv = harness.Server("etcd", os.path.abspath(args.etcd_bin),
                              extra_args=["--auth-token=simple", "--auth-token-ttl=1"])
        try:
            asrv.start()
            enable_auth(asrv)
        except harness.ServerStartError as e:
            print("FAIL auth: etcd with auth did not start: %s" % e)
            failed += 1
        else:
            p, f = run_cases(asrv, AUTH_CASES, bins, "auth", args.filter, args.verbose, seed=False)
            passed += p
            failed += f
        finally:
            asrv.stop()
    if not args.no_tls:
        try:
            tsrv = TlsServer(os.path.abspath(args.quorum_bin))
        except (harness.ServerStartError, subprocess.CalledProcessError, OSError) as e:
            print("FAIL tls: server did not start: %s" % e)
            failed += 1
        else:
            try:
                p, f = run_cases(tsrv, TLS_CASES, bins, "tls", args.filter, args.verbose, seed=False)
                passed += p
                failed += f
            finally:
                tsrv.stop()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
