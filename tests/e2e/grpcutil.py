"""gRPC access for e2e cases, using Python modules generated at run time from OUR
proto/ files (so every gRPC case against etcd also proves our .proto files are
wire-compatible with the real etcd).

protoc is only asked for --python_out; calls go through grpc's generic
channel.unary_unary / unary_stream with our message classes, so no grpc python
plugin is needed.
"""

import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

from harness import REPO_ROOT, mask_json

PROTO_DIR = os.path.join(REPO_ROOT, "proto")
PROTO_FILES = ["mvccpb/kv.proto", "authpb/auth.proto", "etcdserverpb/rpc.proto",
               "v3lockpb/v3lock.proto", "v3electionpb/v3election.proto"]

_gen_dir = None
pb = None      # etcdserverpb.rpc_pb2
kvpb = None    # mvccpb.kv_pb2
import_error = None


def _generate():
    global _gen_dir, pb, kvpb, import_error
    try:
        import grpc  # noqa: F401
        from google.protobuf import json_format  # noqa: F401
    except ImportError as e:
        import_error = "python3-grpcio/python3-protobuf missing: %s" % e
        return
    protoc = shutil.which("protoc")
    if not protoc:
        import_error = "protoc not found"
        return
    _gen_dir = tempfile.mkdtemp(prefix="quorum-e2e-pyproto-")
    atexit.register(shutil.rmtree, _gen_dir, True)
    p = subprocess.run([protoc, "-I" + PROTO_DIR, "--python_out=" + _gen_dir] + PROTO_FILES,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        import_error = "protoc failed: %s" % p.stderr.decode(errors="replace")
        return
    for d in ("mvccpb", "authpb", "etcdserverpb", "v3lockpb", "v3electionpb"):
        open(os.path.join(_gen_dir, d, "__init__.py"), "a").close()
    sys.path.insert(0, _gen_dir)
    try:
        pb = importlib.import_module("etcdserverpb.rpc_pb2")
        kvpb = importlib.import_module("mvccpb.kv_pb2")
    except Exception as e:  # noqa: BLE001
        import_error = "importing generated protos failed: %r" % e


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
