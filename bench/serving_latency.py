"""Serving latency: the local model server's gRPC Predict against the same signature in process.

    .venv/bin/python -m bench.serving_latency                 # full run (~4 min on 2 cores)
    .venv/bin/python -m bench.serving_latency --quick         # smoke run (< 1 min)

1. Trains the Chicago taxi demo model (examples/chicago_taxi/estimator_demo.py) briefly and
   exports it with estimator_lib; the `predict` signature parses serialized tf.Examples.
2. Starts `estpipe serve` in a separate process (so clients and server do not share a GIL),
   once without batching and once with `--enable-batching`.
3. For 1- and 32-example requests and 1, 8 and 32 concurrent clients (threads, one gRPC
   channel each), sends a bounded number of pre-built PredictRequests over loopback and
   records each request's latency; then calls the same signature of the same SavedModel in
   this process, with the same threads and inputs. Prints p50/p99 latency, requests/s and
   the server's overhead as ratios (server p50 / in-process p50, in-process req/s / server req/s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from console import quiet_tensorflow

quiet_tensorflow()  # a script: quiet before TensorFlow is imported below

import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _export(work_dir: str, steps: int) -> tuple[str, list[bytes]]:
    from examples.chicago_taxi import data, estimator_demo

    result = estimator_demo.run(model_dir=os.path.join(work_dir, "model"), steps=steps)
    version_dir = result["export_dir"]
    serving_base = os.path.join(work_dir, "serving", "taxi")
    os.makedirs(serving_base)
    os.rename(version_dir, os.path.join(serving_base, "1"))
    _, evaluation = data.split(data.load())
    examples = [estimator_demo._to_example(row) for _, row in evaluation.iloc[:64].iterrows()]
    return serving_base, examples


def _start_server(serving_base: str, batching: bool) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-c", "from pipelines.cli import main; raise SystemExit(main())",
               "serve", "--model-base-path", serving_base, "--model-name", "taxi",
               "--port", "0", "--no-rest", "--grpc-max-threads", "32"]
    if batching:
        command += ["--enable-batching", "--max-batch-size", "64", "--batch-timeout-micros",
                    "1000", "--num-batch-threads", "2"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    match = re.search(r"gRPC on (\S+?)(,|$)", line.strip())
    if not match:
        process.kill()
        raise RuntimeError(f"The server did not start: {line!r}")
    return process, match.group(1)


def _run_threads(concurrency: int, total: int, call) -> tuple[list[float], float]:
    """Runs `total` calls over `concurrency` threads; returns (latencies s, wall s)."""
    per_thread = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency + 1)

    def work(index):
        call(index, None)  # Connect/warm this thread's channel outside the timing.
        barrier.wait()
        for _ in range(per_thread[index]):
            start = time.perf_counter()
            call(index, start)
            latencies[index].append(time.perf_counter() - start)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return [x for items in latencies for x in items], time.perf_counter() - start


def _stats(latencies: list[float], wall: float) -> dict:
    ordered = sorted(latencies)
    return {"p50_ms": 1e3 * statistics.median(ordered),
            "p99_ms": 1e3 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "rps": len(ordered) / wall, "requests": len(ordered)}


def _measure_server(address: str, examples: list[bytes], batch: int, concurrency: int,
                    total: int) -> dict:
    import grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "taxi", "predict"
    request.inputs["examples"].CopyFrom(tf.make_tensor_proto(examples[:batch], dtype=tf.string))
    channels = [grpc.insecure_channel(address) for _ in range(concurrency)]
    stubs = [prediction_service_pb2_grpc.PredictionServiceStub(c) for c in channels]
    failures = []

    def call(index, _):
        try:
            stubs[index].Predict(request, timeout=30)
        except grpc.RpcError as error:
            failures.append(error.code())

    try:
        latencies, wall = _run_threads(concurrency, total, call)
    finally:
        for channel in channels:
            channel.close()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {failures[:3]}")
    return _stats(latencies, wall)


def _measure_in_process(signature, examples: list[bytes], batch: int, concurrency: int,
                        total: int) -> dict:
    inputs = tf.constant(examples[:batch])

    def call(index, _):
        outputs = signature(examples=inputs)
        {k: v.numpy() for k, v in outputs.items()}  # noqa: B018  (what the server also pays)

    return _stats(*_run_threads(concurrency, total, call))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few requests, smoke run")
    parser.add_argument("--requests", type=int, default=600,
                        help="requests per (batch, concurrency) point (default 600)")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    total = 60 if args.quick else args.requests
    work_dir = tempfile.mkdtemp(prefix="bench-serving-")
    serving_base, examples = _export(work_dir, 20 if args.quick else args.train_steps)
    signature = tf.saved_model.load(os.path.join(serving_base, "1")).signatures["predict"]

    rows = []
    for batching in (False, True):
        process, address = _start_server(serving_base, batching)
        try:
            for batch in (1, 32):
                for concurrency in (1, 8, 32):
                    count = max(total, 4 * concurrency)
                    _measure_server(address, examples, batch, concurrency, 2 * concurrency)
                    served = _measure_server(address, examples, batch, concurrency, count)
                    local = _measure_in_process(signature, examples, batch, concurrency, count)
                    rows.append({"batching": batching, "batch": batch,
                                 "concurrency": concurrency, "server": served,
                                 "in_process": local})
                    print(f"batching={batching!s:5} batch={batch:2} clients={concurrency:2}: "
                          f"server p50 {served['p50_ms']:.2f} ms, {served['rps']:.0f} req/s; "
                          f"in process p50 {local['p50_ms']:.2f} ms, {local['rps']:.0f} req/s",
                          flush=True)
        finally:
            process.terminate()
            process.wait(30)

    print(f"\nServing latency, taxi `predict` signature (parses tf.Examples), loopback gRPC, "
          f"{max(total, 4)}+ requests per row. TF {tf.__version__}, {os.cpu_count()} CPU cores.\n")
    print("| batching | examples/req | clients | server p50 ms | p99 ms | req/s | in-process p50 ms "
          "| p99 ms | req/s | p50 ratio | req/s ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        s, local = row["server"], row["in_process"]
        print(f"| {'on' if row['batching'] else 'off'} | {row['batch']} | {row['concurrency']} "
              f"| {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['rps']:.0f} "
              f"| {local['p50_ms']:.2f} | {local['p99_ms']:.2f} | {local['rps']:.0f} "
              f"| {s['p50_ms'] / local['p50_ms']:.2f} | {local['rps'] / s['rps']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
