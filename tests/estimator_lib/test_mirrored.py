"""MirroredStrategy over two logical CPU devices, in a subprocess.

Logical devices must be configured before TensorFlow initializes its runtime, which the
test process has already done, hence the subprocess.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r"""
import json, sys
import estimator_lib as el
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tests.estimator_lib import toy

contexts = []

def input_fn(input_context=None):
    contexts.append((input_context.num_replicas_in_sync, input_context.num_input_pipelines)
                    if input_context else None)
    batch = input_context.get_per_replica_batch_size(32) if input_context else 32
    return toy.train_input_fn(batch_size=batch)

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
config = el.RunConfig(train_distribute=strategy, eval_distribute=strategy,
                      log_step_count_steps=None, save_checkpoints_secs=None)
estimator = el.Estimator(toy.model_fn, model_dir=sys.argv[1], config=config,
                         params={"learning_rate": 0.5})
estimator.train(input_fn, steps=60)
distributed = estimator.evaluate(toy.eval_input_fn)
plain = el.Estimator(toy.model_fn, model_dir=sys.argv[1]).evaluate(toy.eval_input_fn)
print(json.dumps({"contexts": contexts, "distributed": {k: float(v) for k, v in distributed.items()},
                  "plain": {k: float(v) for k, v in plain.items()}}))
"""


def test_mirrored_strategy_trains_and_evaluates_like_one_device(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "model")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["contexts"] == [[2, 1]]  # input_fn got the input context: 2 replicas, 1 pipeline
    assert out["distributed"]["global_step"] == 60
    assert out["distributed"]["accuracy"] > 0.9
    for key in ("loss", "accuracy"):
        assert abs(out["distributed"][key] - out["plain"][key]) < 1e-5
