"""ParameterServerStrategy rounds on an in-process cluster: a round lost in transport is retried.

The ps and worker servers run in a subprocess beside the coordinator (one process, real
gRPC servers on loopback), so the strategy's runtime never touches the pytest process.

The fault seen in CI after a chief restart (a worker's reply that could not be parsed,
an InternalError raised by the coordinator's join) cannot be produced on demand, so it is
the one test double here: the real ClusterCoordinator, whose `join` raises that error
after the round's loops ran (their results lost, as then). Everything else is real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r"""
import json, logging, socket, sys
import tensorflow as tf
import estimator_lib as el
from estimator_lib import _coordinated
from tests.estimator_lib import toy

def port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

spec = tf.train.ClusterSpec({"chief": [f"127.0.0.1:{port()}"],
                             "worker": [f"127.0.0.1:{port()}" for _ in range(2)],
                             "ps": [f"127.0.0.1:{port()}"]})
# In one process the servers share an inter-op pool; a small one deadlocks (2 cores here).
config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=16)
servers = [tf.distribute.Server(spec, job_name=job, task_index=i, protocol="grpc",
                                config=config, start=True)
           for job in ("worker", "ps") for i in range(len(spec.as_dict()[job]))]
strategy = tf.distribute.experimental.ParameterServerStrategy(
    tf.distribute.cluster_resolver.SimpleClusterResolver(spec, task_type="chief", task_id=0,
                                                         rpc_layer="grpc"))

ERROR, FAULTS = getattr(tf.errors, sys.argv[2]), int(sys.argv[3])
injected = []

class LosesReplies:
    # The real coordinator; `join` raises after the loops ran, FAULTS times.
    def __init__(self, real):
        self._real = real
    def __getattr__(self, name):
        return getattr(self._real, name)
    def join(self):
        self._real.join()
        if len(injected) < FAULTS:
            injected.append(1)
            raise ERROR(None, None, "Unable to parse request (injected)")

real_coordinator = _coordinated.coordinator
_coordinated.coordinator = lambda strategy: LosesReplies(real_coordinator(strategy))

warnings = []
class Collect(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            warnings.append(record.getMessage())
logging.getLogger("estimator_lib").addHandler(Collect())

run_config = el.RunConfig(train_distribute=strategy, log_step_count_steps=None,
                          save_checkpoints_steps=10, save_checkpoints_secs=None,
                          steps_per_loop=10)
estimator = el.Estimator(toy.model_fn, model_dir=sys.argv[1], config=run_config)
try:
    estimator.train(lambda input_context=None: toy.train_input_fn(16), max_steps=30)
    outcome = "trained"
except tf.errors.OpError as error:
    outcome = type(error).__name__
print(json.dumps({"outcome": outcome, "injected": len(injected), "warnings": warnings,
                  "checkpoint": estimator.latest_checkpoint()}))
"""


def _train(tmp_path, error: str, faults: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "m"), error, str(faults)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _retries(out) -> list[str]:
    return [w for w in out["warnings"] if "scheduling the rest again" in w]


def test_a_round_lost_in_transport_is_retried_and_training_ends_at_max_steps(tmp_path):
    out = _train(tmp_path, "InternalError", faults=2)
    assert out["outcome"] == "trained", out
    assert out["checkpoint"].endswith("model.ckpt-30"), out  # Not 40 or 50: no step twice.
    retries = _retries(out)
    assert len(retries) == 2, out
    assert "Steps 1-10" in retries[0] and "InternalError" in retries[0], out
    assert "retry 2 of 3" in retries[1], out


def test_retries_are_bounded(tmp_path):
    out = _train(tmp_path, "UnavailableError", faults=100)
    assert out["outcome"] == "UnavailableError", out
    assert out["injected"] == 4 and len(_retries(out)) == 3, out


def test_an_error_of_the_model_is_not_retried(tmp_path):
    out = _train(tmp_path, "InvalidArgumentError", faults=1)
    assert out["outcome"] == "InvalidArgumentError", out
    assert not _retries(out), out
