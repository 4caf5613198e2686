"""Real training clusters on loopback: one process per task, TF_CONFIG, faults (slow).

Every task is `python -m tests.estimator_lib.cluster_task` (trained with
`el.train_and_evaluate`) in its own process group, on ports picked by binding port 0.
Every wait has a deadline, and every process is killed at teardown.

The clusters that train to max_steps train the taxi model (taxi.py: the canned
`el.DNNClassifier` over `el.feature_column` columns, on TFRecord shards of the project's
taxi CSV) and are compared with the same training in one process:
same model, data, optimizer, global batch (64) and number of steps (300, about 1.6
epochs), so the same number of examples. The fault tests use the toy model of toy.py.

Tolerance, |cluster - one process| on the 3,000-trip eval split: AUC <= 0.01, accuracy
<= 0.015, loss <= 0.03. Why these: a cluster cannot replay one process's batches (a
synchronous cluster shards the files per worker; parameter-server workers read on their
own and apply gradients asynchronously, some computed from stale variables), so the
comparison is between two draws of the same training. One process with 4 seeds (which
change initialization and shuffle order) gave AUC 0.934-0.937, accuracy 0.883-0.889 and
loss 0.214-0.228 (the reference, seed 1, is the 0.228); the accuracy's own sampling error on
3,000 trips is about 0.006. The clusters measured here were within 0.004 (AUC), 0.002
(accuracy) and 0.016 (loss) of the reference. The tolerances are 2-4x the seed-to-seed
ranges, and still fail a cluster that learned nothing useful (the majority class scores
accuracy 0.78, AUC 0.5) or diverged. They cannot tell 100 steps from 300 (the model is
close to converged by then), which is why the tests also check that training ended at
exactly max_steps, with every checkpoint whole.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

import estimator_lib as el

from . import taxi

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_tf_config")]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCES = {"auc": 0.01, "accuracy": 0.015, "loss": 0.03}  # Justified in the docstring.
TAXI_STEPS = 300
TAXI_SAVE_STEPS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Starts, kills and restarts the tasks of one loopback cluster."""

    def __init__(self, directory, jobs: dict[str, int], *args: str):
        self.dir = directory
        self.model_dir = os.path.join(directory, "model")
        self.cluster = {job: [f"127.0.0.1:{free_port()}" for _ in range(n)]
                        for job, n in jobs.items()}
        self.args = [str(a) for a in args]
        self.processes: dict[str, subprocess.Popen] = {}
        self.starts: dict[str, int] = {}

    def command(self, *extra: str) -> list[str]:
        """What every task runs (the trainer's cluster tests run another program)."""
        return [sys.executable, "-m", "tests.estimator_lib.cluster_task", self.model_dir,
                *self.args, *extra]

    def start(self, task: str, *extra: str) -> subprocess.Popen:
        job, index = task.split(":")
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": self.cluster, "task": {"type": job, "index": int(index)}}))
        self.starts[task] = self.starts.get(task, 0) + 1
        log = os.path.join(self.dir, f"{task.replace(':', '')}-{self.starts[task]}")
        with open(log + ".out", "w") as out, open(log + ".err", "w") as err:
            self.processes[task] = subprocess.Popen(
                self.command(*extra), cwd=ROOT, env=env, stdout=out, stderr=err,
                start_new_session=True)
        self.processes[task].log = log
        return self.processes[task]

    def start_all(self, *extra: str, evaluator: bool = True) -> None:
        tasks = [f"{job}:{i}" for job, addresses in self.cluster.items()
                 for i in range(len(addresses))]
        for task in tasks + (["evaluator:0"] if evaluator else []):
            self.start(task, *extra)

    def kill(self, task: str) -> None:
        process = self.processes[task]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def wait(self, task: str, timeout: float) -> dict | None:
        """Waits for the task to exit 0; returns the JSON line it printed."""
        process = self.processes[task]
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{task} still running after {timeout} s; stderr:\n{self.stderr(task)}")
        assert process.returncode == 0, f"{task} exited {process.returncode}:\n{self.stderr(task)}"
        with open(process.log + ".out") as f:
            lines = f.read().strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def wait_all(self, timeout: float) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        return {task: self.wait(task, max(deadline - time.monotonic(), 1))
                for task in list(self.processes)}

    def stderr(self, task: str) -> str:
        with open(self.processes[task].log + ".err") as f:
            return f.read()[-4000:]

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture
def clusters(tmp_path):
    made = []

    def make(jobs, *args):
        cluster = Cluster(os.fspath(tmp_path), jobs, *args)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()


@pytest.fixture(scope="module")
def taxi_data(tmp_path_factory) -> str:
    """The taxi CSV as TFRecord shards (4 train, 4 eval), written once per module."""
    return taxi.write_shards(os.fspath(tmp_path_factory.mktemp("taxi") / "data"))


@pytest.fixture(scope="module")
def taxi_single_process(taxi_data, tmp_path_factory) -> dict[str, float]:
    """The metrics of the same taxi training in one process (the reference)."""
    model_dir = os.fspath(tmp_path_factory.mktemp("single") / "model")
    estimator = taxi.make_estimator(model_dir, el.RunConfig(
        save_checkpoints_steps=TAXI_SAVE_STEPS, steps_per_loop=10, log_step_count_steps=None,
        tf_random_seed=1))
    estimator.train(taxi.train_input_fn(taxi_data), max_steps=TAXI_STEPS)
    return {k: float(v) for k, v in estimator.evaluate(taxi.eval_input_fn(taxi_data)).items()}


def wait_for_checkpoint(model_dir, step: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = tf.train.latest_checkpoint(model_dir) if os.path.isdir(model_dir) else None
        if latest and int(latest.rsplit("-", 1)[1]) >= step:
            return int(latest.rsplit("-", 1)[1])
        time.sleep(0.2)
    pytest.fail(f"No checkpoint at step >= {step} in {model_dir} after {timeout} s.")


def checkpoints_are_whole(model_dir, save_steps: int, max_steps: int) -> list[int]:
    """Every checkpoint the state file lists loads and holds the step its name says."""
    state = tf.train.get_checkpoint_state(model_dir)
    steps = []
    for path in state.all_model_checkpoint_paths:
        step = int(path.rsplit("-", 1)[1])
        reader = tf.train.load_checkpoint(path)  # Fails on a missing or corrupt file.
        assert el.training_status.checkpoint_step(path) == step
        for key, dtype in reader.get_variable_to_dtype_map().items():
            if dtype.is_floating:
                assert np.all(np.isfinite(reader.get_tensor(key))), (path, key)
        steps.append(step)
    assert steps == sorted(set(steps)), steps  # No step saved twice, none out of order.
    assert all(s % save_steps == 0 or s == max_steps for s in steps), steps
    assert steps[-1] == max_steps
    return steps


def evaluations(eval_dir) -> list[int]:
    """The global steps of every evaluation written to eval_dir (repeats included)."""
    steps = []
    for name in sorted(os.listdir(eval_dir)):
        for record in tf.data.TFRecordDataset(os.path.join(eval_dir, name)):
            event = event_pb2.Event.FromString(record.numpy())
            if any(v.tag == "loss" for v in event.summary.value):
                steps.append(event.step)
    return steps


def assert_close_to(metrics, reference):
    assert metrics["global_step"] == reference["global_step"] == TAXI_STEPS
    for key, tolerance in TOLERANCES.items():
        assert abs(metrics[key] - reference[key]) <= tolerance, (key, metrics, reference)


# -- the taxi model trained to max_steps, with an evaluator ------------------------------------
@pytest.mark.parametrize("kind, jobs", [
    ("multi_worker_mirrored", {"worker": 2}),
    ("parameter_server", {"chief": 1, "worker": 2, "ps": 1}),
])
def test_cluster_trains_the_taxi_model_like_one_process(clusters, taxi_data, taxi_single_process,
                                                        kind, jobs):
    cluster = clusters(jobs, kind, TAXI_STEPS, "--model", "taxi", "--data", taxi_data,
                       "--save-steps", TAXI_SAVE_STEPS, "--step-sleep", 0.03)
    cluster.start_all()
    results = cluster.wait_all(timeout=170)
    evaluator = results.pop("evaluator:0")
    assert all(r["metrics"] is None for r in results.values())  # Trainers and servers.
    assert_close_to(evaluator["metrics"], taxi_single_process)
    assert checkpoints_are_whole(cluster.model_dir, TAXI_SAVE_STEPS, TAXI_STEPS)[-1] == TAXI_STEPS
    evaluated = evaluations(os.path.join(cluster.model_dir, "eval"))
    assert evaluated == sorted(set(evaluated)) and evaluated[-1] == TAXI_STEPS  # Once each.
    assert len(evaluated) >= 2, evaluated  # It followed the training, not just its end.
    assert el.training_status.read_training_done(cluster.model_dir)["global_step"] == TAXI_STEPS


def test_multi_worker_mirrored_trains_sparse_gradients(clusters, taxi_data):
    """Wide & deep (sparse linear weights and embeddings) on two synchronous workers:
    the workers' batches touch different rows, which a sparse all-reduce cannot take."""
    cluster = clusters({"worker": 2}, "multi_worker_mirrored", 100, "--model", "taxi_wide_deep",
                       "--data", taxi_data, "--save-steps", 50)
    cluster.start_all()
    results = cluster.wait_all(timeout=170)
    metrics = results.pop("evaluator:0")["metrics"]
    assert metrics["global_step"] == 100
    assert metrics["auc"] > 0.85, metrics
    assert checkpoints_are_whole(cluster.model_dir, 50, 100)[-1] == 100


# -- faults ---------------------------------------------------------------------------------------
def test_parameter_server_worker_killed_and_restarted(clusters):
    cluster = clusters({"chief": 1, "worker": 2, "ps": 1}, "parameter_server", 200,
                       "--save-steps", 20, "--step-sleep", 0.05)
    cluster.start_all(evaluator=False)
    wait_for_checkpoint(cluster.model_dir, 40)
    cluster.kill("worker:1")
    time.sleep(2)
    cluster.start("worker:1")
    cluster.wait_all(timeout=180)
    assert cluster.starts["worker:1"] == 2
    checkpoints_are_whole(cluster.model_dir, 20, 200)


def test_parameter_server_chief_killed_and_restarted(clusters):
    cluster = clusters({"chief": 1, "worker": 2, "ps": 1}, "parameter_server", 200,
                       "--save-steps", 20, "--step-sleep", 0.05)
    cluster.start_all(evaluator=False)
    killed_after = wait_for_checkpoint(cluster.model_dir, 40)
    cluster.kill("chief:0")
    before = checkpoints_are_whole(cluster.model_dir, 20, tf_latest_step(cluster.model_dir))
    cluster.start("chief:0")
    cluster.wait_all(timeout=180)
    after = checkpoints_are_whole(cluster.model_dir, 20, 200)
    assert after[:len(before)] == before and before[-1] >= killed_after  # Nothing lost...
    assert after[len(before)] == before[-1] + 20  # ...and it went on from the latest.


def tf_latest_step(model_dir) -> int:
    return int(tf.train.latest_checkpoint(model_dir).rsplit("-", 1)[1])


def test_multi_worker_mirrored_worker_killed_then_cluster_restarted(clusters):
    """A synchronous cluster cannot go on without a worker: the survivor fails within
    the heartbeat timeout, and the restarted cluster resumes from the latest checkpoint."""
    cluster = clusters({"worker": 2}, "multi_worker_mirrored", 200, "--save-steps", 20,
                       "--step-sleep", 0.05)
    cluster.start_all(evaluator=False)
    wait_for_checkpoint(cluster.model_dir, 40)
    cluster.kill("worker:1")
    killed_at = time.monotonic()
    survivor = cluster.processes["worker:0"]
    survivor.wait(timeout=90)
    assert survivor.returncode != 0
    assert time.monotonic() - killed_at < 90
    before = tf_latest_step(cluster.model_dir)
    cluster.start("worker:0")
    cluster.start("worker:1")
    cluster.wait_all(timeout=180)
    after = checkpoints_are_whole(cluster.model_dir, 20, 200)
    assert before in after and after[after.index(before) + 1] == before + 20


@pytest.mark.parametrize("kind, jobs, task", [
    ("parameter_server", {"chief": 1, "worker": 2, "ps": 1}, "chief:0"),
    ("multi_worker_mirrored", {"worker": 2}, "worker:0"),
])
def test_a_worker_that_never_comes_up_is_a_clear_error(clusters, kind, jobs, task):
    cluster = clusters(jobs, kind, 20, "--startup-timeout", 5)
    for job, count in jobs.items():  # Every task but worker 1.
        for index in range(count):
            if f"{job}:{index}" != "worker:1":
                cluster.start(f"{job}:{index}")
    started = time.monotonic()
    process = cluster.processes[task]
    process.wait(timeout=120)
    assert process.returncode != 0
    assert time.monotonic() - started < 120
    assert f"worker:1 ({cluster.cluster['worker'][1]})" in cluster.stderr(task)
    assert "did not come up within 5 s" in cluster.stderr(task)
