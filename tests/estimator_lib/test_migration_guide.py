"""The code of docs/migrating-from-tf-estimator.md runs.

Blocks marked `<!-- tested: NAME -->` are executed: the rewritten model_fn trains,
evaluates (its metrics and summary), predicts and exports; the taxi port runs with the
legacy benchmark's own `columns` and `make_input_fn`, taken unchanged from
bench/legacy_taxi_wide_deep.py with `fc = el.feature_column` (the guide's claim that they
port by changing only the module).
"""

from __future__ import annotations

import ast
import glob
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDE = os.path.join(ROOT, "docs", "migrating-from-tf-estimator.md")
LEGACY_SCRIPT = os.path.join(ROOT, "bench", "legacy_taxi_wide_deep.py")


def _block(name: str) -> str:
    with open(GUIDE) as f:
        text = f.read()
    match = re.search(rf"<!-- tested: {name} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"no tested block {name!r} in the guide"
    return match.group(1)


def _legacy_functions(*names) -> str:
    """The source of top-level functions of the legacy benchmark script, unchanged."""
    with open(LEGACY_SCRIPT) as f:
        source = f.read()
    tree = ast.parse(source)
    found = {node.name: ast.get_source_segment(source, node) for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name in names}
    assert sorted(found) == sorted(names)
    return "\n\n".join(found[n] for n in names)


def test_rewritten_model_fn(tmp_path):
    namespace = {"el": el, "keras": keras, "tf": tf}
    exec(_block("model_fn"), namespace)  # noqa: S102 - the guide's own code
    fc = el.feature_column
    params = {"columns": [fc.numeric_column("x0"), fc.numeric_column("x1")],
              "hidden_units": [4], "learning_rate": 0.1}
    rng = np.random.default_rng(0)
    x = {"x0": rng.normal(size=[64, 1]).astype(np.float32),
         "x1": rng.normal(size=[64, 1]).astype(np.float32)}
    y = (x["x0"] + x["x1"] > 0).astype(np.float32)

    def input_fn():
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(16)

    estimator = el.Estimator(namespace["model_fn"], model_dir=str(tmp_path), params=params,
                             config=el.RunConfig(save_summary_steps=1, steps_per_loop=2))
    estimator.train(input_fn, steps=4)
    metrics = estimator.evaluate(input_fn)
    assert {"auc", "mean_probability", "loss", "global_step"} <= set(metrics)
    assert metrics["global_step"] == 4 and 0 <= metrics["auc"] <= 1
    predictions = list(estimator.predict(lambda: tf.data.Dataset.from_tensor_slices(x).batch(16)))
    assert len(predictions) == 64 and set(predictions[0]) == {"probabilities", "logits"}
    tags = set()
    for path in glob.glob(str(tmp_path / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {value.tag for value in event.summary.value}
    assert "mean_probability" in tags  # The model_fn's tf.summary.scalar was written.
    receiver = el.export.build_raw_serving_input_receiver_fn(
        {"x0": tf.TensorSpec([None, 1], tf.float32), "x1": tf.TensorSpec([None, 1], tf.float32)})
    assert os.path.isdir(estimator.export_saved_model(str(tmp_path / "export"), receiver))


def _taxi_like_records(path: str, rows: int = 64) -> None:
    """Random trips with every feature the legacy benchmark's columns read."""
    rng = np.random.default_rng(1)
    with tf.io.TFRecordWriter(path) as writer:
        for _ in range(rows):
            floats = {k: float(rng.normal()) for k in (
                "trip_miles", "fare", "pickup_latitude", "pickup_longitude", "dropoff_latitude",
                "dropoff_longitude")}
            floats["tips_label"] = float(rng.integers(0, 2))
            ints = {"trip_start_hour": int(rng.integers(0, 24)),
                    "trip_start_day": int(rng.integers(1, 8))}
            strings = {"payment_type": str(rng.choice(["Cash", "Credit Card"])),
                       "company": str(rng.choice(["A", "B", "C"]))}
            feature = {k: tf.train.Feature(float_list=tf.train.FloatList(value=[v]))
                       for k, v in floats.items()}
            feature.update({k: tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))
                            for k, v in ints.items()})
            feature.update({k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode()]))
                            for k, v in strings.items()})
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature))
                         .SerializeToString())


@pytest.fixture
def taxi_port(tmp_path):
    """The guide's port, with the legacy script's columns and input_fn, and a config."""
    namespace = {"el": el, "keras": keras, "tf": tf, "fc": el.feature_column}
    exec(_legacy_functions("feature_spec", "make_input_fn", "_zscore", "columns"), namespace)  # noqa: S102
    exec(_block("taxi-port"), namespace)  # noqa: S102
    path = str(tmp_path / "train.tfrecord")
    _taxi_like_records(path)
    lat_long = ["pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude"]
    cfg = {"numeric_keys": ["trip_miles", "fare", *lat_long],
           "numeric": {k: [0.0, 1.0] for k in ["trip_miles", "fare", *lat_long]},
           "string_keys": ["payment_type", "company"],
           "vocab": {"payment_type": ["Cash", "Credit Card"], "company": ["A", "B"]},
           "identity": {"trip_start_hour": 24, "trip_start_day": 8},
           "lat_long_keys": lat_long, "boundaries": {k: [-0.5, 0.5] for k in lat_long},
           "cross_buckets": 100, "embed_dim": 2, "hidden": [4], "label": "tips_label",
           "batch": 16, "num_train": 64, "train": path}
    return namespace, cfg


def test_taxi_port_trains_with_legacy_rates_and_times_its_loops(taxi_port, tmp_path):
    ns, cfg = taxi_port
    model = ns["estimator"](cfg, str(tmp_path / "model"), seed=0)
    timer = ns["Timer"](warmup=3, last=10)
    model.train(ns["make_input_fn"](cfg, cfg["train"], True, 0), hooks=[timer], steps=10)
    assert timer.t0 is not None and timer.t1 is not None and timer.t1 >= timer.t0
    rates = {n: float(model.get_variable_value(n)) for n in model.get_variable_names()
             if n.endswith("learning_rate")}
    assert sorted(rates.values()) == pytest.approx([0.001, 0.005])  # tf.estimator's defaults
    assert "auc" in model.evaluate(ns["make_input_fn"](cfg, cfg["train"], False))


def test_taxi_port_warm_starts_the_dnn_part(taxi_port, tmp_path):
    ns, cfg = taxi_port
    names = ns["write_dnn_init"](cfg, str(tmp_path / "init"), seed=0)
    assert "dnn_hiddenlayer_0/kernel" in names and "dnn_logits/bias" in names
    initial = el.checkpoint.load_variable(tf.train.latest_checkpoint(str(tmp_path / "init")),
                                          "dnn_hiddenlayer_0/kernel")
    model = ns["estimator"](cfg, str(tmp_path / "model"), seed=1,
                            warm_start=str(tmp_path / "init"))
    model.train(ns["make_input_fn"](cfg, cfg["train"], True, 0), steps=1)
    # Seed 1 would draw other weights: these are seed 0's, after one step at rate 0.001.
    np.testing.assert_allclose(model.get_variable_value("dnn_hiddenlayer_0/kernel"), initial,
                               atol=0.01)
    assert np.abs(model.get_variable_value("dnn_hiddenlayer_0/kernel") - initial).max() > 0


# tf.estimator 2.15's public names (dir() of each module in TensorFlow 2.15 with
# tensorflow-estimator 2.15), which the guide's table must each answer.
LEGACY_PUBLIC_NAMES = {
    "tf.estimator": [
        "BaselineClassifier", "BaselineEstimator", "BaselineRegressor", "BestExporter",
        "BinaryClassHead", "CheckpointSaverHook", "CheckpointSaverListener", "DNNClassifier",
        "DNNEstimator", "DNNLinearCombinedClassifier", "DNNLinearCombinedEstimator",
        "DNNLinearCombinedRegressor", "DNNRegressor", "Estimator", "EstimatorSpec", "EvalSpec",
        "Exporter", "FeedFnHook", "FinalExporter", "FinalOpsHook", "GlobalStepWaiterHook",
        "Head", "LatestExporter", "LinearClassifier", "LinearEstimator", "LinearRegressor",
        "LoggingTensorHook", "LogisticRegressionHead", "ModeKeys", "MultiClassHead",
        "MultiHead", "MultiLabelHead", "NanLossDuringTrainingError", "NanTensorHook",
        "PoissonRegressionHead", "ProfilerHook", "RegressionHead", "RunConfig",
        "SecondOrStepTimer", "SessionRunArgs", "SessionRunContext", "SessionRunHook",
        "SessionRunValues", "StepCounterHook", "StopAtStepHook", "SummarySaverHook",
        "TrainSpec", "VocabInfo", "WarmStartSettings", "add_metrics",
        "classifier_parse_example_spec", "regressor_parse_example_spec", "train_and_evaluate"],
    "tf.estimator.export": [
        "ClassificationOutput", "EvalOutput", "ExportOutput", "PredictOutput",
        "RegressionOutput", "ServingInputReceiver", "TensorServingInputReceiver",
        "build_parsing_serving_input_receiver_fn", "build_raw_serving_input_receiver_fn"],
    "tf.estimator.experimental": [
        "InMemoryEvaluatorHook", "LinearSDCA", "RNNClassifier", "RNNEstimator",
        "build_raw_supervised_input_receiver_fn", "call_logit_fn", "make_early_stopping_hook",
        "make_stop_at_checkpoint_step_hook", "stop_if_higher_hook", "stop_if_lower_hook",
        "stop_if_no_decrease_hook", "stop_if_no_increase_hook"],
    "tf.feature_column": [
        "bucketized_column", "categorical_column_with_hash_bucket",
        "categorical_column_with_identity", "categorical_column_with_vocabulary_file",
        "categorical_column_with_vocabulary_list", "crossed_column", "embedding_column",
        "indicator_column", "make_parse_example_spec", "numeric_column",
        "sequence_categorical_column_with_hash_bucket", "sequence_categorical_column_with_identity",
        "sequence_categorical_column_with_vocabulary_file",
        "sequence_categorical_column_with_vocabulary_list", "sequence_numeric_column",
        "shared_embeddings", "weighted_categorical_column"],
    "Estimator": [
        "config", "eval_dir", "evaluate", "experimental_export_all_saved_models",
        "export_saved_model", "export_savedmodel", "get_variable_names", "get_variable_value",
        "latest_checkpoint", "model_dir", "model_fn", "params", "predict", "train"],
    "RunConfig": [
        "checkpoint_save_graph_def", "cluster_spec", "device_fn", "eval_distribute",
        "evaluation_master", "experimental_max_worker_delay_secs", "global_id_in_cluster",
        "is_chief", "keep_checkpoint_every_n_hours", "keep_checkpoint_max",
        "log_step_count_steps", "master", "model_dir", "num_ps_replicas", "num_worker_replicas",
        "protocol", "replace", "save_checkpoints_secs", "save_checkpoints_steps",
        "save_summary_steps", "service", "session_config", "session_creation_timeout_secs",
        "task_id", "task_type", "tf_random_seed", "train_distribute"],
}


def _table_section() -> str:
    with open(GUIDE) as f:
        text = f.read()
    return text[text.index("## Every public name of tf.estimator 2.15"):]


@pytest.mark.parametrize("module", sorted(LEGACY_PUBLIC_NAMES))
def test_every_legacy_public_name_is_in_the_table(module):
    table = _table_section()
    missing = [n for n in LEGACY_PUBLIC_NAMES[module] if not re.search(rf"\b{re.escape(n)}\b",
                                                                         table)]
    assert missing == []


def test_every_el_name_the_guide_gives_exists():
    with open(GUIDE) as f:
        text = f.read()
    names = sorted(set(re.findall(r"\bel\.([A-Za-z_][\w.]*[A-Za-z_\d])", text)))
    unresolved = []
    for dotted in names:
        target = el
        for part in dotted.split("."):
            if not hasattr(target, part):
                unresolved.append(dotted)
                break
            target = getattr(target, part)
    assert unresolved == []
