"""gRPC access for e2e cases, using message classes built at run time from OUR
proto/ files (so every gRPC case against etcd also proves those files are
wire-compatible with the real etcd).

protoc only writes a FileDescriptorSet; the classes live in a PRIVATE descriptor
pool, so they never clash with python3-etcd3's own copies of the etcd protos in the
default pool. Calls go through grpc's generic channel.unary_unary, so no grpc
python plugin is needed.
"""

import os
import shutil
import subprocess
import tempfile
import types

from harness import REPO_ROOT, mask_json

PROTO_DIR = os.path.join(REPO_ROOT, "proto")
PROTO_FILES = ["mvccpb/kv.proto", "authpb/auth.proto", "etcdserverpb/rpc.proto",
               "v3lockpb/v3lock.proto", "v3electionpb/v3election.proto"]

pb = None      # namespace: etcdserverpb message classes by short name
kvpb = None    # namespace: mvccpb message classes
import_error = None


def _generate():
    global pb, kvpb, import_error
    try:
        import grpc  # noqa: F401
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError as e:
        import_error = "python3-grpcio/python3-protobuf missing: %s" % e
        return
    protoc = shutil.which("protoc")
    if not protoc:
        import_error = "protoc not found"
        return
    with tempfile.TemporaryDirectory(prefix="quorum-e2e-fds-") as d:
        out = os.path.join(d, "all.pb")
        p = subprocess.run([protoc, "-I" + PROTO_DIR, "--include_imports",
                            "--descriptor_set_out=" + out] + PROTO_FILES,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if p.returncode != 0:
            import_error = "protoc failed: %s" % p.stderr.decode(errors="replace")
            return
        with open(out, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    try:
        pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            pool.Add(fd)
        factory = message_factory.MessageFactory(pool)
        spaces = {}
        for fd in fds.file:
            ns = spaces.setdefault(fd.package, types.SimpleNamespace())
            for m in fd.message_type:
                desc = pool.FindMessageTypeByName("%s.%s" % (fd.package, m.name))
                setattr(ns, m.name, factory.GetPrototype(desc))
        pb = spaces["etcdserverpb"]
        kvpb = spaces["mvccpb"]
    except Exception as e:  # noqa: BLE001
        import_error = "building message classes from our protos failed: %r" % e


_generate()

# service -> rpc -> (request class name, response class name)
UNARY = {
    "KV": {"Range": ("RangeRequest", "RangeResponse"),
           "Put": ("PutRequest", "PutResponse"),
           "DeleteRange": ("DeleteRangeRequest", "DeleteRangeResponse"),
           "Txn": ("TxnRequest", "TxnResponse"),
           "Compact": ("CompactionRequest", "CompactionResponse")},
    "Maintenance": {"Status": ("StatusRequest", "StatusResponse"),
                    "HashKV": ("HashKVRequest", "HashKVResponse")},
    "Cluster": {"MemberList": ("MemberListRequest", "MemberListResponse")},
    "Lease": {"LeaseGrant": ("LeaseGrantRequest", "LeaseGrantResponse")},
}


class Client:
    def __init__(self, target):
        import grpc
        self.target = target
        self.grpc = grpc
        # Client limits above the server's so the server's own limits are what we test.
        self.channel = grpc.insecure_channel(target, options=[
            ("grpc.max_send_message_length", 64 << 20),
            ("grpc.max_receive_message_length", 64 << 20)])
        self._calls = {}

    def close(self):
        self.channel.close()

    def call(self, service, rpc, req, timeout=10.0):
        """Returns ("OK", response) or ("ERR", "<CODE>: <details>")."""
        key = (service, rpc)
        if key not in self._calls:
            _, resp_name = UNARY[service][rpc]
            resp_cls = getattr(pb, resp_name)
            self._calls[key] = self.channel.unary_unary(
                "/etcdserverpb.%s/%s" % (service, rpc),
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=resp_cls.FromString)
        try:
            return "OK", self._calls[key](req, timeout=timeout)
        except self.grpc.RpcError as e:
            return "ERR", "%s: %s" % (e.code().name, e.details())


def render(status, resp, rev=False, mask_keys=("cluster_id", "member_id", "raft_term")):
    """Canonical text of a gRPC outcome for comparison."""
    if status != "OK":
        return "ERROR " + resp
    from google.protobuf import json_format
    d = json_format.MessageToDict(resp, preserving_proto_field_name=True,
                                  including_default_value_fields=False)
    d = mask_json(d, set(mask_keys), rev)
    import json
    return json.dumps(_decode(d), sort_keys=True, indent=1)


def _decode(obj):
    import base64
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("key", "value", "range_end") and isinstance(v, str):
                try:
                    out[k] = "b64:" + base64.b64decode(v).decode("utf-8", "backslashreplace")
                except Exception:  # noqa: BLE001
                    out[k] = v
            else:
                out[k] = _decode(v)
        return out
    if isinstance(obj, list):
        return [_decode(x) for x in obj]
    return obj
