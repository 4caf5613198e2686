"""Serving request memory: what one request can cost the local model server under its limits.

    .venv/bin/python -m bench.serving_request_memory            # every probe (~2-3 min on 2 cores)
    .venv/bin/python -m bench.serving_request_memory --only rest_20mb_list

1. Saves a small SavedModel whose signatures read their whole input and answer a scalar
   (`floats`: x [None, None] float32 -> sum; `strings`: s [None] string -> count and total
   length), so what is measured is the cost of taking a request in, not of a model's
   outputs.
2. For each probe, starts a fresh server process (`serving.ModelServer` with the default
   `ServerOptions`, hence the default `RequestLimits`), sends it one small warm-up request of
   the same kind, resets the process's peak resident set (Linux `/proc/self/clear_refs`),
   sends the probe over loopback from this process, and reads the server process's peak
   (VmHWM) back: the growth is the memory that one request cost the server.
3. Prints one row per probe (request bytes, answer, peak RSS growth, wall time) and the
   largest growth among the probes the limits let through and among those they refuse.

The probes are those of issue 17 (a 33-byte gRPC claim of [12.5M, 8], [25M, 9], a 20 MB
REST list, 100,000-deep JSON) and the largest requests the default limits admit, per way
of filling them (packed float32, one value padded to the element limit, 1-byte strings,
JSON floats, JSON integers, empty JSON lists, short JSON strings).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request

from console import quiet_tensorflow

quiet_tensorflow()  # a script: quiet before TensorFlow is imported below

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import tensor_pb2  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

from serving import RequestLimits  # noqa: E402

MB = 1e6


class _Sink(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="x")])
    def floats(self, x):
        return {"sum": tf.reduce_sum(x)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="s")])
    def strings(self, s):
        return {"count": tf.size(s), "length": tf.reduce_sum(tf.strings.length(s))}


def _save_model(base: str) -> None:
    module = _Sink()
    tf.saved_model.save(module, os.path.join(base, "1"),
                        signatures={"floats": module.floats, "strings": module.strings,
                                    "serving_default": module.floats})


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"{field}:\s+(\d+)", f.read()).group(1))


def _serve(base: str, connection) -> None:
    """The server process: serves `base`, then answers 'reset' and 'peak' until 'stop'."""
    import ctypes
    import gc

    from serving import ModelConfig, ModelServer, ServerOptions

    options = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0)
    libc = ctypes.CDLL("libc.so.6")
    with ModelServer([ModelConfig("sink", base)], options=options) as server:
        connection.send((server.grpc_port, server.rest_port))
        while True:
            command = connection.recv()
            if command == "reset":
                gc.collect()
                libc.malloc_trim(0)
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")  # Resets VmHWM to the current resident set.
                connection.send(_status_kb("VmRSS"))
            elif command == "peak":
                connection.send((_status_kb("VmHWM"), _status_kb("VmRSS")))
            else:
                break


# Probes: (name, kind, builder). A builder takes the limits and returns the request:
# a PredictRequest (gRPC) or (JSON body bytes, signature) for REST.

def _proto(dtype, shape, **fields) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=tf.as_dtype(dtype).as_datatype_enum)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    for name, values in fields.items():
        if name == "tensor_content":
            proto.tensor_content = values
        else:
            getattr(proto, name).extend(values)
    return proto


def _predict(signature: str, name: str, proto) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "sink"
    request.model_spec.signature_name = signature
    request.inputs[name].CopyFrom(proto)
    return request


_ROOM = 4096  # Bytes left for the request's other fields below max_request_bytes.


def _grpc_packed(limits):
    count = min(limits.max_request_elements, (limits.max_request_bytes - _ROOM) // 4)
    return _predict("floats", "x", _proto(tf.float32, [1, count],
                                          tensor_content=np.ones(count, np.float32).tobytes()))


def _grpc_strings(limits):
    count = min(limits.max_request_elements, (limits.max_request_bytes - _ROOM) // 3)
    return _predict("strings", "s", _proto(tf.string, [count], string_val=[b"a"] * count))


def _rest_body(signature: str, token: bytes, limit: int, tail: bytes = b"0") -> bytes:
    head = b'{"signature_name":"' + signature.encode() + b'","inputs":[['
    count = (limit - len(head) - 64) // len(token)
    return head + token * count + tail + b"]]}"


PROBES = [
    ("grpc_claim_12.5Mx8_one_value", "grpc",
     lambda limits: _predict("floats", "x", _proto(tf.float32, [12_500_000, 8], float_val=[1]))),
    ("grpc_claim_25Mx9_one_value", "grpc",
     lambda limits: _predict("floats", "x", _proto(tf.float32, [25_000_000, 9], float_val=[1]))),
    ("grpc_claim_at_element_limit", "grpc",
     lambda limits: _predict("floats", "x", _proto(
         tf.float32, [1, limits.max_request_elements], float_val=[1]))),
    ("grpc_packed_float32_at_limit", "grpc", _grpc_packed),
    ("grpc_1byte_strings_at_limit", "grpc", _grpc_strings),
    ("grpc_string_padding_1MiB_x1M", "grpc",
     lambda limits: _predict("strings", "s", _proto(tf.string, [1_000_000],
                                                    string_val=[b"a" * 2**20]))),
    ("rest_20mb_list", "rest",
     lambda limits: (b'{"signature_name":"floats","instances":['
                     + b"[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]," * 588_234
                     + b"[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]]}")),
    ("rest_json_floats_at_limit", "rest",
     lambda limits: _rest_body("floats", b"0.123456,", limits.max_request_bytes)),
    ("rest_json_ints_at_limit", "rest",
     lambda limits: _rest_body("floats", b"1,", limits.max_request_bytes)),
    ("rest_empty_lists_at_limit", "rest",
     lambda limits: b'{"signature_name":"floats","inputs":['
     + b"[]," * ((limits.max_request_bytes - 64) // 3) + b"[]]}"),
    ("rest_empty_lists_at_container_limit", "rest",
     lambda limits: b'{"signature_name":"floats","inputs":['
     + b"[]," * (limits.max_request_elements - 3) + b"[]]}"),
    ("rest_2byte_strings_at_element_limit", "rest",
     lambda limits: b'{"signature_name":"strings","inputs":['
     + b'"ab",' * (limits.max_request_elements - 1) + b'"ab"]}'),
    ("rest_2byte_strings_at_byte_limit", "rest",
     lambda limits: b'{"signature_name":"strings","inputs":['
     + b'"ab",' * ((limits.max_request_bytes - 64) // 5) + b'"ab"]}'),
    ("rest_100k_deep_json", "rest",
     lambda limits: b'{"inputs":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
]

WARMUP = {
    "grpc": _predict("floats", "x", _proto(tf.float32, [1, 2], float_val=[1, 2])),
    "rest": b'{"signature_name":"floats","inputs":[[1.0,2.0]]}',
}


def _send(kind: str, request, ports) -> tuple[str, str]:
    grpc_port, rest_port = ports
    if kind == "grpc":
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}", options=[
                ("grpc.max_send_message_length", -1)]) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            try:
                stub.Predict(request, timeout=120)
                return "OK", ""
            except grpc.RpcError as error:
                return error.code().name, error.details()
    http = urllib.request.Request(f"http://127.0.0.1:{rest_port}/v1/models/sink:predict",
                                  data=request, method="POST")
    try:
        with urllib.request.urlopen(http, timeout=120) as response:
            return str(response.status), ""
    except urllib.error.HTTPError as error:
        return str(error.code), json.loads(error.read()).get("error", "")


def _probe(base: str, name: str, kind: str, build, limits) -> dict:
    request = build(limits)
    size = request.ByteSize() if kind == "grpc" else len(request)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(base, child), daemon=True)
    process.start()
    try:
        ports = parent.recv()
        _send(kind, WARMUP[kind], ports)
        parent.send("reset")
        baseline_kb = parent.recv()
        start = time.perf_counter()
        status, message = _send(kind, request, ports)
        wall_s = time.perf_counter() - start
        parent.send("peak")
        peak_kb, after_kb = parent.recv()
        alive, _ = _send(kind, WARMUP[kind], ports)
        parent.send("stop")
    finally:
        process.join(30)
        if process.is_alive():
            process.kill()
    return {"probe": name, "request_bytes": size, "answer": status,
            "peak_growth_mb": round((peak_kb - baseline_kb) * 1024 / MB, 1),
            "retained_mb": round((after_kb - baseline_kb) * 1024 / MB, 1),
            "wall_s": round(wall_s, 2), "server_answers_after": alive,
            "message": message[:160]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="probe names to run (default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    limits = RequestLimits()
    print(f"default limits: max_request_bytes={limits.max_request_bytes:,} "
          f"max_request_elements={limits.max_request_elements:,}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        base = os.path.join(work, "sink")
        _save_model(base)
        for name, kind, build in PROBES:
            if args.only and name not in args.only:
                continue
            row = _probe(base, name, kind, build, limits)
            rows.append(row)
            print(f"{row['probe']:32s} {row['request_bytes']:>12,} B  {row['answer']:>18s}  "
                  f"peak +{row['peak_growth_mb']:7.1f} MB  retained +{row['retained_mb']:6.1f} MB"
                  f"  {row['wall_s']:6.2f} s  after: {row['server_answers_after']}  "
                  f"{row['message'][:70]}", flush=True)
    admitted = [r for r in rows if r["answer"] in ("OK", "200")]
    refused = [r for r in rows if r not in admitted]
    for label, group in (("admitted", admitted), ("refused", refused)):
        if group:
            worst = max(group, key=lambda r: r["peak_growth_mb"])
            print(f"largest peak growth, {label}: {worst['peak_growth_mb']} MB "
                  f"({worst['probe']})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"limits": {"max_request_bytes": limits.max_request_bytes,
                                  "max_request_elements": limits.max_request_elements},
                       "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
