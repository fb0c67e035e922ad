"""quorumctl vs etcdctl cases for the maintenance commands (alarm, snapshot).

With no alarm active (a fresh server has none); the NOSPACE path, where an alarm is
listed and disarmed, is covered with etcdctl on both servers in
tests/e2e/test_maintenance.py, which also compares quorumctl's alarm list with
etcdctl's there. etcdctl 3.4 crashes on `alarm list -w fields` (etcd sends no header),
so that format is not compared. `check perf` runs 60 s in etcdctl: only its fast
failures and help are compared here (a full run is in docs/quorumctl.md).
`snapshot status` of etcd's own snapshot file (bbolt) is compared in the etcd
phase only (quorum=False): against Quorum, `snapshot save` writes Quorum's
format, which etcdctl cannot read."""


def maintenance_cases(C):
    return [
        *[C("alarm list -w %s" % w, ["alarm", "list", "-w", w], binary=(w == "protobuf"))
          for w in ("simple", "json", "table", "protobuf")],
        C("alarm disarm", ["alarm", "disarm"]),
        C("alarm disarm json", ["alarm", "disarm", "-w", "json"]),
        C("alarm list extra arg", ["alarm", "list", "x"], stdout=False),
        C("snapshot save no file", ["snapshot", "save"]),
        C("snapshot save two files", ["snapshot", "save", "a", "b"]),
        C("snapshot save two endpoints", ["--endpoints={EP},{EP}", "snapshot", "save", "{DIR}/two.db"]),
        C("snapshot save", ["snapshot", "save", "{DIR}/snap.db"]),
        C("snapshot save into a missing dir", ["snapshot", "save", "{DIR}/missing/snap.db"]),
        C("snapshot status no file", ["snapshot", "status"]),
        C("snapshot status missing file", ["snapshot", "status", "{DIR}/nope.db"]),
        # etcd's own snapshot (a bbolt db + sha256), saved once by etcdctl, read by both.
        *[C("snapshot status etcd db -w %s" % w, ["snapshot", "status", "{DIR}/e.db", "-w", w],
            setup=[["save-once", "{DIR}/e.db"]], quorum=False)
          for w in ("simple", "table", "json", "fields", "protobuf")],
        C("check perf unknown load", ["check", "perf", "--load", "huge"]),
        C("snapshot restore no file", ["snapshot", "restore"]),
        C("snapshot restore two files", ["snapshot", "restore", "a", "b"]),
        C("snapshot restore unknown flag", ["snapshot", "restore", "a", "--bogus"], stdout=False),
        C("snapshot restore prefix, no file", ["snap", "rest"]),
        C("check perf prefix has keys", ["check", "perf", "--prefix", "/perf-busy/"],
          setup=[["put", "/perf-busy/k", "v"]]),
        *[C("help " + " ".join(h), list(h) + ["--help"]) for h in (
            ("alarm", "list"), ("alarm", "disarm"), ("snapshot", "save"), ("snapshot", "status"),
            ("check", "perf"),
            ("snapshot",), ("check",))],
    ]
