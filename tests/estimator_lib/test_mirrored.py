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


WIDE_DEEP_SCRIPT = r"""
import json, sys
import numpy as np
import estimator_lib as el
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

rng = np.random.default_rng(0)
x = rng.normal(size=(512, 1)).astype("float32")
c = rng.integers(0, 5, size=(512, 1)).astype("int64")
y = ((x[:, 0] + (c[:, 0] % 2)) > 0.5).astype("float32")[:, None]

def input_fn(input_context=None):
    batch = input_context.get_per_replica_batch_size(32) if input_context else 32
    return tf.data.Dataset.from_tensor_slices(({"x": x, "c": c}, y)).repeat().batch(batch)

def eval_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": x, "c": c}, y)).batch(64)

fc = el.feature_column
ids = fc.categorical_column_with_identity("c", 5)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
def make(config):
    return el.DNNLinearCombinedClassifier(
        linear_feature_columns=[ids], dnn_feature_columns=[fc.numeric_column("x"),
        fc.embedding_column(ids, 2)], dnn_hidden_units=[4], dnn_optimizer="Adam",
        model_dir=sys.argv[1], config=config)
make(el.RunConfig(train_distribute=strategy, log_step_count_steps=None,
                  save_checkpoints_secs=None, tf_random_seed=1)).train(input_fn, steps=100)
results = make(el.RunConfig()).evaluate(eval_input_fn)
slots = [n for n in make(el.RunConfig()).get_variable_names()
         if n.startswith(("linear_optimizer/", "dnn_optimizer/"))
         and not n.endswith(("/iteration", "/learning_rate"))]
print(json.dumps({"results": {k: float(v) for k, v in results.items()}, "slots": slots}))
"""


def test_mirrored_wide_and_deep_with_two_slot_optimizers(tmp_path):
    """Two replicas, each building Ftrl and Adam slots in its own thread, interleaved."""
    result = subprocess.run([sys.executable, "-c", WIDE_DEEP_SCRIPT, str(tmp_path / "model")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["results"]["global_step"] == 100
    assert out["results"]["accuracy"] > 0.85
    # Ftrl: accumulator + linear for 2 linear variables; Adam: 2 moments for 5 DNN variables.
    assert len(out["slots"]) == 2 * 2 + 2 * 5


MIXED_PRECISION_SCRIPT = r"""
import json, sys
import keras
import numpy as np
import estimator_lib as el
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
keras.mixed_precision.set_global_policy("mixed_float16")
from tests.estimator_lib import toy

head = el.heads.BinaryClassHead()

def model_fn(features, labels, mode):
    hidden = keras.layers.Dense(16, activation="relu")(features["x"])
    logits = keras.layers.Dense(1)(hidden)  # float16 under the policy
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.05),
                                                    initial_scale=2.0 ** 30)
    return head.create_estimator_spec(features, mode, logits, labels, optimizer=optimizer)

def input_fn(input_context=None):
    batch = input_context.get_per_replica_batch_size(32) if input_context else 32
    return toy.train_input_fn(batch_size=batch)

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if MIRRORED else None
config = el.RunConfig(train_distribute=strategy, log_step_count_steps=None,
                      save_checkpoints_secs=None, tf_random_seed=1)
estimator = el.Estimator(model_fn, model_dir=sys.argv[1], config=config)
estimator.train(input_fn, steps=150)
results = estimator.evaluate(toy.eval_input_fn)
names = estimator.get_variable_names()
# LossScaleOptimizer's dynamic scale (named by the optimizer's role, not its Keras name).
scale = [estimator.get_variable_value(n) for n in names if n.endswith("/dynamic_scale")]
kernel = [n for n in names if n.endswith("kernel")][0]
print(json.dumps({"results": {k: float(v) for k, v in results.items()},
                  "scale": float(scale[0]) if len(scale) == 1 else None,
                  "kernel_dtype": str(estimator.get_variable_value(kernel).dtype),
                  "logistic_dtype": str(next(estimator.predict(toy.predict_input_fn))["logistic"].dtype)}))
"""


def _run_mixed_precision(model_dir, mirrored):
    script = MIXED_PRECISION_SCRIPT.replace("MIRRORED", str(mirrored))
    result = subprocess.run([sys.executable, "-c", script, str(model_dir)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mixed_float16_with_dynamic_loss_scaling(tmp_path):
    """float16 compute, float32 variables and head outputs; the loss is scaled before the
    gradients (2**30 overflows float16 gradients, so the dynamic scale must come down)."""
    out = _run_mixed_precision(tmp_path / "m", mirrored=False)
    assert out["results"]["global_step"] == 150
    assert out["results"]["accuracy"] > 0.9, out
    assert out["kernel_dtype"] == "float32" and out["logistic_dtype"] == "float32"
    assert out["scale"] is not None and out["scale"] < 2.0 ** 30, out


def test_mirrored_mixed_float16_trains(tmp_path):
    """MirroredStrategy + mixed precision (the GPU setup) on two logical CPUs.

    The replicas call model_fn in their own threads, and Keras keeps its global dtype
    policy per thread: they used to compute in float32 (so 2**30 never overflowed and
    the dynamic scale never came down). The scale coming down shows they compute in
    float16 and the loss scale is applied.
    """
    out = _run_mixed_precision(tmp_path / "m", mirrored=True)
    assert out["results"]["global_step"] == 150
    assert out["results"]["accuracy"] > 0.9, out
    assert out["kernel_dtype"] == "float32" and out["logistic_dtype"] == "float32"
    assert out["scale"] is not None and out["scale"] < 2.0 ** 30, out


SUMMARY_SCRIPT = r"""
import sys
import estimator_lib as el
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tests.estimator_lib import toy

def model_fn(features, labels, mode):
    tf.summary.scalar("mean_x", tf.reduce_mean(features["x"]))  # no step: the Estimator's
    return toy.model_fn(features, labels, mode)

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
config = el.RunConfig(train_distribute=strategy, log_step_count_steps=None,
                      save_checkpoints_secs=None, save_summary_steps=10)
el.Estimator(model_fn, model_dir=sys.argv[1], config=config).train(
    lambda input_context=None: toy.train_input_fn(16), steps=20)
"""


def test_mirrored_model_fn_with_summaries(tmp_path):
    """A model_fn writing summaries builds (eagerly, under the strategy) and records them."""
    model_dir = tmp_path / "m"
    result = subprocess.run([sys.executable, "-c", SUMMARY_SCRIPT, str(model_dir)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    import tensorflow as tf

    steps = sorted(event.step
                   for path in tf.io.gfile.glob(str(model_dir / "events.out.tfevents.*"))
                   for event in tf.compat.v1.train.summary_iterator(path)
                   for value in event.summary.value if value.tag.endswith("mean_x"))
    assert steps == [0, 10], steps  # Recorded by the loop every 10 steps, not by the build.
