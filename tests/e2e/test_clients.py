"""Other real clients against both servers: Debian's python3-etcd3 library, and the
etcdctl cluster/maintenance commands a single member must answer
(`member list`, `endpoint status`, `endpoint health`). Member ids, URLs, versions,
db sizes and raft indexes legitimately differ and are masked; structure is compared.
"""

import json
import re

from framework import Check, Ctl, Group, Py
from harness import etcdctl


def _meta(m):
    return "key=%r create=%d mod=%d ver=%d lease=%d" % (
        m.key, m.create_revision, m.mod_revision, m.version, m.lease_id)


def py_put_get(c):
    """put a,b,c then get a"""
    c.put("a", "1")
    c.put("b", "2")
    c.put("c", "3")
    c.put("a", "11")
    v, m = c.get("a")
    return "%r %s" % (v, _meta(m))


def py_get_missing(c):
    """get of a missing key"""
    v, m = c.get("nope")
    return "%r %r" % (v, m)


def py_get_all(c):
    """get_all sorted by key (get_prefix('') is broken in python3-etcd3 itself)"""
    return "\n".join("%r %s" % (v, _meta(m)) for v, m in c.get_all(sort_order="ascend",
                                                                 sort_target="key"))


def py_get_prefix(c):
    """get_prefix('p')"""
    c.put("p1", "x")
    c.put("p2", "y")
    c.put("q", "z")
    return "\n".join("%r %s" % (v, _meta(m)) for v, m in c.get_prefix("p"))


def py_get_range(c):
    """get_range('a', 'c')"""
    return "\n".join("%r %s" % (v, _meta(m)) for v, m in c.get_range("a", "c"))


def py_get_all_desc(c):
    """get_all sorted by mod descending"""
    return "\n".join("%r %s" % (v, _meta(m)) for v, m in c.get_all(sort_order="descend",
                                                                 sort_target="mod"))


def py_replace(c):
    """replace (a compare-and-swap txn): succeeds once, then fails"""
    return "%r %r %r" % (c.replace("a", "11", "12"), c.replace("a", "11", "13"), c.get("a")[0])


def py_transaction(c):
    """transaction with version/create/mod/value compares and mixed ops"""
    t = c.transactions
    ok, resps = c.transaction(
        compare=[t.version("a") > 1, t.create("b") == 3, t.mod("c") < 100, t.value("b") == "2"],
        success=[t.put("d", "4"), t.get("a"), t.delete("c")],
        failure=[t.put("d", "never")])
    out = ["succeeded=%r" % ok]
    for r in resps:
        if isinstance(r, list):
            out.append("range: " + ", ".join("%r %s" % (v, _meta(m)) for v, m in r))
        else:
            out.append(type(r).__name__ + ": " + str(r).replace("\n", " "))
    ok2, _ = c.transaction(compare=[t.value("a") == "nope"], success=[], failure=[t.put("e", "5")])
    out.append("second succeeded=%r" % ok2)
    return "\n".join(out)


def py_delete(c):
    """delete existing/missing, delete_prefix"""
    r1 = c.delete("d")
    r2 = c.delete("d")
    c.put("p/1", "x")
    c.put("p/2", "y")
    r3 = c.delete_prefix("p/")
    return "%r %r deleted=%d header_rev=%d" % (r1, r2, r3.deleted, r3.header.revision)


def py_put_prev_kv(c):
    """put with prev_kv"""
    r = c.put("a", "14", prev_kv=True)
    return "prev=%r %s header_rev=%d" % (r.prev_kv.value, _meta_pb(r.prev_kv), r.header.revision)


def _meta_pb(kv):
    return "key=%r create=%d mod=%d ver=%d" % (kv.key, kv.create_revision, kv.mod_revision, kv.version)


def py_empty_key(c):
    """put of an empty key raises"""
    c.put("", "x")
    return "no exception"


def py_status(c):
    """status(): version/db size/indexes differ by implementation; leader must be this member"""
    s = c.status()
    members = list(c.members)
    return "has_version=%r db_size>0=%r leader_is_member=%r raft_term>0=%r members=%d names=%r" % (
        bool(s.version), s.db_size > 0, s.leader.id == members[0].id, s.raft_term > 0,
        len(members), [m.name for m in members])


# -- etcdctl cluster / maintenance ------------------------------------------------

def member_list_simple(server):
    """etcdctl member list (id and peer URL masked)"""
    r = etcdctl(server.endpoint, ["member", "list"])
    out = re.sub(r"^[0-9a-f]{1,16}, ", "<id>, ", r.out.strip(), flags=re.M)
    out = out.replace(server.endpoint, "<client-url>")
    out = re.sub(r"http://[^,]+, <client-url>", "<peer-url>, <client-url>", out)
    return "rc=%s\n%s\n%s" % (r.rc, out, r.err.strip())


def member_list_json(server):
    """etcdctl member list -w json (ids, peer URLs masked; client URL normalised)"""
    r = etcdctl(server.endpoint, ["member", "list", "-w", "json"])
    if r.rc != 0:
        return "rc=%s %s" % (r.rc, r.err)
    d = json.loads(r.out)
    hdr = d.get("header", {})
    out = {"header_keys": sorted(hdr), "header_revision": hdr.get("revision"),
           "members": []}
    for m in d.get("members", []):
        out["members"].append({
            "ID_is_member_id": m.get("ID") == hdr.get("member_id"),
            "name": m.get("name"),
            "clientURLs": [u.replace(server.endpoint, "<client-url>") for u in m.get("clientURLs", [])],
            "n_peerURLs": len(m.get("peerURLs", [])),
            "isLearner": m.get("isLearner", False),
            "keys": sorted(m)})
    return json.dumps(out, sort_keys=True, indent=1)


def endpoint_status_json(server):
    """etcdctl endpoint status -w json (structure; leader == this member; indexes > 0)"""
    r = etcdctl(server.endpoint, ["endpoint", "status", "-w", "json"])
    if r.rc != 0:
        return "rc=%s %s" % (r.rc, r.err)
    d = json.loads(r.out)[0]
    st = d["Status"]
    hdr = st["header"]
    out = {"Endpoint": d["Endpoint"].replace(server.endpoint, "<client-url>"),
           "status_keys": sorted(st), "header_keys": sorted(hdr),
           "revision": hdr.get("revision"),
           "leader_is_self": st.get("leader") == hdr.get("member_id"),
           "raftIndex>0": st.get("raftIndex", 0) > 0,
           "raftAppliedIndex<=raftIndex": st.get("raftAppliedIndex", 0) <= st.get("raftIndex", 0),
           "raftTerm==header.raft_term": st.get("raftTerm") == hdr.get("raft_term"),
           "dbSize>0": st.get("dbSize", 0) > 0,
           "dbSizeInUse<=dbSize": st.get("dbSizeInUse", 0) <= st.get("dbSize", 0),
           "version_like_3.x": bool(re.match(r"^3\.\d+\.\d+", st.get("version", ""))),
           "errors": st.get("errors", [])}
    return json.dumps(out, sort_keys=True, indent=1)


def endpoint_status_simple(server):
    """etcdctl endpoint status (columns: endpoint, id, version, size, leader?, learner?,
    term, index, applied, errors) with the implementation-specific columns masked"""
    r = etcdctl(server.endpoint, ["endpoint", "status"])
    cols = [c.strip() for c in r.out.strip().split(",")]
    if r.rc != 0 or len(cols) < 10:
        return "rc=%s out=%r err=%r" % (r.rc, r.out, r.err)
    cols[0] = cols[0].replace(server.endpoint, "<client-url>")
    cols[1] = "<id>" if re.match(r"^[0-9a-f]+$", cols[1]) else cols[1]
    cols[2] = "<version>" if re.match(r"^3\.\d+\.\d+", cols[2]) else cols[2]
    cols[3] = "<size>" if re.match(r"^[0-9.]+ [kMG]?B$", cols[3]) else cols[3]
    for i in (6, 7, 8):
        cols[i] = "<n>" if cols[i].isdigit() and int(cols[i]) > 0 else cols[i]
    return "rc=%s %s" % (r.rc, ", ".join(cols))


def endpoint_health_json(server):
    """etcdctl endpoint health -w json (took masked)"""
    r = etcdctl(server.endpoint, ["endpoint", "health", "-w", "json"])
    if r.rc != 0:
        return "rc=%s %s" % (r.rc, r.err)
    d = json.loads(r.out)
    for e in d:
        e["took"] = "<t>"
        e["endpoint"] = e["endpoint"].replace(server.endpoint, "<client-url>")
    return json.dumps(d, sort_keys=True)


PY = Group("python3-etcd3", [
    Py("put/get", py_put_get, expect=["b'11' key=b'a' create=2 mod=5 ver=2 lease=0"]),
    Py("get missing", py_get_missing, expect=["None None"]),
    Py("get_all", py_get_all),
    Py("get_prefix", py_get_prefix),
    Py("get_range", py_get_range),
    Py("get_all desc by mod", py_get_all_desc),
    Py("replace", py_replace, expect=["True False b'12'"]),
    Py("transaction", py_transaction),
    Py("delete", py_delete),
    Py("put prev_kv", py_put_prev_kv),
    Py("empty key", py_empty_key,
       expect=["RpcError INVALID_ARGUMENT: etcdserver: key is not provided"]),
    Py("status/members", py_status,
       expect=["has_version=True db_size>0=True leader_is_member=True raft_term>0=True "
               "members=1 names=['n1']"]),
    Py("still serving", py_get_all),
])

CLUSTER = Group("cluster-cmds", [
    Ctl("put for revision", ["put", "x", "1"], expect=["OK"], rc=0),
    Check("member list", member_list_simple, expect=["<id>, started, n1, <peer-url>, <client-url>, false"]),
    Check("member list json", member_list_json),
    Check("endpoint status json", endpoint_status_json),
    Check("endpoint status simple", endpoint_status_simple,
          expect=["rc=0 <client-url>, <id>, <version>, <size>, true, false, <n>, <n>, <n>, "]),
    Check("endpoint health json", endpoint_health_json,
          expect=['[{"endpoint": "<client-url>", "health": true, "took": "<t>"}]']),
])

GROUPS = [PY, CLUSTER]
