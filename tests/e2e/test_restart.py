"""Restart durability, compared with etcd: everything acknowledged before a SIGTERM or
a SIGKILL is still there afterwards, with the same revisions; the compaction point
survives; new writes continue the revision sequence."""

import os
import signal

import framework
import harness
from framework import Check, Ctl, Grpc, Group, Restart
from test_etcdctl_kv import E_COMPACTED, Txn, put

STATE = ["get", "", "--prefix", "-w", "json"]


def crash_leftovers_removed(server):
    """files a crash leaves in member/snap (a snapshot being written, <term>-<index>.snap.tmp;
    a database snapshot being streamed to a client) are removed at the next start, so
    repeated crashes do not fill the disk; the committed snapshots stay"""
    snap = os.path.join(server.tmp, "data", "member", "snap")
    client = os.path.join(snap, "client")
    os.makedirs(client, exist_ok=True)
    leftovers = [os.path.join(snap, "0000000000000002-0000000000000009.snap.tmp"),
                 os.path.join(client, "stream-1-1.qsnap")]
    keep = os.path.join(snap, "not-a-snapshot-file")
    for p in leftovers + [keep]:
        with open(p, "wb") as f:
            f.write(b"x" * 4096)
    framework._drop_client(server)  # its channel goes with the process
    try:
        server.restart(sig=signal.SIGKILL)
    except harness.ServerStartError as e:
        return "restart failed: %s" % e
    left = [os.path.basename(p) for p in leftovers if os.path.exists(p)]
    return "leftovers after restart: %s; other files kept: %s" % (left, os.path.exists(keep))


_leftovers = Check("crash leftovers removed at start", crash_leftovers_removed,
                   expect=["leftovers after restart: []; other files kept: True"])
_leftovers.quorum_only = True  # etcd's data dir has no such files

RESTART = Group("restart", [
    put("a", "1"), put("b", "2"), put("a", "11"), put("c", "3"),
    Ctl("del b", ["del", "b"], expect=["1"], rc=0),
    Txn("txn", ['value("a") = "11"'], ["put d 4", "put e 5"], [], expect=["SUCCESS"], rc=0),
    Ctl("compact 3", ["compact", "3"], expect=["compacted revision 3"], rc=0),
    Ctl("state before restart", STATE, rc=0),
    Restart("SIGTERM restart"),
    Ctl("state after SIGTERM restart", STATE, rc=0),
    Ctl("history survives", ["get", "a", "--rev", "4", "-w", "json"], rc=0),
    Ctl("deleted key history survives", ["get", "b", "--rev", "5", "-w", "json"], rc=0),
    Ctl("compaction point survives", ["get", "a", "--rev", "2"], expect=[E_COMPACTED], rc=1),
    Ctl("compact 3 again after restart", ["compact", "3"], expect=[E_COMPACTED], rc=1),
    put("f", "6"),
    Ctl("revision continues", ["get", "f", "-w", "json"], rc=0),
    Restart("SIGKILL restart", kill=True),
    Ctl("state after SIGKILL restart", STATE, rc=0),
    put("g", "7"),
    Ctl("revision continues after SIGKILL", ["get", "g", "-w", "json"], rc=0),
    Restart("second SIGKILL restart right after a write", kill=True),
    Ctl("acknowledged write survived SIGKILL", ["get", "g", "-w", "json"], rc=0),
    _leftovers,
    Ctl("state after the leftovers restart", STATE, rc=0),
    Grpc("status revision after restarts", "Maintenance", "Status", lambda pb: pb.StatusRequest(),
         mask_keys=("cluster_id", "member_id", "raft_term", "version", "dbSize", "dbSizeInUse",
                    "leader", "raftIndex", "raftTerm", "raftAppliedIndex")),
])

GROUPS = [RESTART]
