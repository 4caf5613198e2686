"""Global steps/s against the number of workers (the paper's Figure 3).

Locally (`run`): starts a loopback cluster per worker count (one process per task,
TF_CONFIG set) and prints a table; every task trains the same small taxi-sized DNN
(16 dense features, 64-32-16 hidden units, batch 256 per worker) on synthetic data.

    python -m bench.distributed_throughput run --workers 1,2 --kind parameter_server
    python -m bench.distributed_throughput run --workers 1,2 --kind multi_worker_mirrored

On any cluster (`task`): run the same command on every task, with TF_CONFIG set by the
cluster (for Kubernetes, `manifests` prints one TFJob per worker count); the chief prints
one JSON line with its global steps/s. Plot `global_steps_per_sec` against `workers`.

    python -m bench.distributed_throughput manifests --image IMAGE --workers 1,2,4,8,16
    python -m bench.distributed_throughput task --kind parameter_server --steps 5000
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = 16
BATCH = 256


def task(args) -> dict | None:
    """Trains as this task's role; the chief returns its measurement."""
    import estimator_lib as el

    strategy = el.distribute.make_strategy(args.kind, startup_timeout_secs=120)
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8192, FEATURES)).astype("float32")
    y = (x @ rng.normal(size=(FEATURES, 1)) > 0).astype("float32")

    def input_fn(input_context=None):
        dataset = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        if input_context is not None and input_context.num_input_pipelines > 1:
            dataset = dataset.shard(input_context.num_input_pipelines,
                                    input_context.input_pipeline_id)
        return dataset.repeat().batch(BATCH).prefetch(2)

    def model_fn(features, labels, mode):
        hidden = features["x"]
        for units in (64, 32, 16):
            hidden = keras.layers.Dense(units, activation="relu")(hidden)
        logits = keras.layers.Dense(1)(hidden)
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels,
                                                                      logits=logits))
        return el.EstimatorSpec(mode, loss=loss, predictions={"logits": logits},
                                train_op=keras.optimizers.Adagrad(0.05))

    class Rate(el.Hook):
        """(time, global step) after every loop, on the chief."""

        def __init__(self):
            self.marks = []

        def after_run(self, run_context, run_values):
            self.marks.append((time.perf_counter(), run_context.global_step))

    rate = Rate()
    config = el.RunConfig(train_distribute=strategy, steps_per_loop=args.steps_per_loop,
                          save_checkpoints_secs=None, log_step_count_steps=None,
                          save_summary_steps=None)
    estimator = el.Estimator(model_fn, model_dir=args.model_dir, config=config)
    el.train_and_evaluate(
        estimator, el.TrainSpec(input_fn, max_steps=args.steps, hooks=[rate]),
        el.EvalSpec(lambda: input_fn().take(1), steps=1, start_delay_secs=0, throttle_secs=0))
    if not estimator.config.is_chief:
        return None
    warm = [m for m in rate.marks if m[1] >= args.steps // 5]  # Skip start-up and tracing.
    (t0, s0), (t1, s1) = warm[0], warm[-1]
    workers = estimator.config.cluster.cluster.get("worker", ())
    return {"kind": args.kind, "workers": max(len(workers), 1), "steps": s1 - s0,
            "seconds": round(t1 - t0, 3), "global_steps_per_sec": round((s1 - s0) / (t1 - t0), 1)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_local(kind: str, workers: int, steps: int, steps_per_loop: int) -> dict:
    """One loopback cluster of `workers` workers; returns the chief's measurement."""
    jobs = {"worker": workers}
    if kind == "parameter_server":
        jobs = {"chief": 1, "worker": workers, "ps": 1}
    cluster = {job: [f"127.0.0.1:{_free_port()}" for _ in range(n)] for job, n in jobs.items()}
    model_dir = tempfile.mkdtemp(prefix="bench-distributed-")
    processes = {}
    try:
        for job, addresses in cluster.items():
            for index in range(len(addresses)):
                env = dict(os.environ, TF_CONFIG=json.dumps(
                    {"cluster": cluster, "task": {"type": job, "index": index}}))
                processes[f"{job}:{index}"] = subprocess.Popen(
                    [sys.executable, "-m", "bench.distributed_throughput", "task", "--kind", kind,
                     "--steps", str(steps), "--steps-per-loop", str(steps_per_loop),
                     "--model-dir", model_dir], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        chief = processes["chief:0" if "chief" in cluster else "worker:0"]
        out, _ = chief.communicate(timeout=600)
        for process in processes.values():
            process.wait(timeout=120)
        return json.loads(out.strip().splitlines()[-1])
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()


def manifests(args) -> str:
    from components.trainer.tfjob import TFJobConfig, manifest_yaml

    documents = []
    for workers in args.workers:
        replicas = {"worker": workers}
        if args.kind == "parameter_server":
            replicas = {"chief": 1, "worker": workers, "ps": args.ps}
        documents.append(manifest_yaml(TFJobConfig(
            name=f"figure3-{args.kind.replace('_', '-')}-{workers}", image=args.image,
            command=["python", "-m", "bench.distributed_throughput", "task", "--kind", args.kind,
                     "--steps", str(args.steps), "--model-dir", f"{args.model_dir}/{workers}"],
            replicas=replicas)))
    return "---\n".join(documents)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "task", "manifests"):
        p = sub.add_parser(name)
        p.add_argument("--kind", default="parameter_server",
                       choices=["parameter_server", "multi_worker_mirrored"])
        p.add_argument("--steps", type=int, default=2000)
        p.add_argument("--steps-per-loop", type=int, default=50)
        p.add_argument("--workers", type=lambda s: [int(v) for v in s.split(",")],
                       default=[1, 2])
        p.add_argument("--model-dir", default=None)
        p.add_argument("--image", default="estimator-pipelines:latest")
        p.add_argument("--ps", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "task":
        args.model_dir = args.model_dir or tempfile.mkdtemp(prefix="bench-distributed-")
        result = task(args)
        if result is not None:
            print(json.dumps(result), flush=True)
    elif args.command == "manifests":
        args.model_dir = args.model_dir or "gs://BUCKET/figure3"
        print(manifests(args))
    else:
        rows = [run_local(args.kind, w, args.steps, args.steps_per_loop) for w in args.workers]
        print("| strategy | workers | global steps/s | vs 1 worker | examples/s |")
        print("|---|---:|---:|---:|---:|")
        base = rows[0]["global_steps_per_sec"]
        for row in rows:
            per_step = BATCH * (row["workers"] if args.kind == "multi_worker_mirrored" else 1)
            print(f"| {row['kind']} | {row['workers']} | {row['global_steps_per_sec']:.1f} | "
                  f"{row['global_steps_per_sec'] / base:.2f} | "
                  f"{row['global_steps_per_sec'] * per_step:,.0f} |")


if __name__ == "__main__":
    main()
