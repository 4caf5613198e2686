"""Shared fixtures: one real estimator_lib SavedModel per session, and artifact folders.

The model is the estimator_lib toy classifier (three float features in `x`), trained for a
few steps and exported with a parsing receiver, so its signatures take raw serialized
tf.Example like the trainer's export does.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
import tensorflow as tf

import estimator_lib as el
from tests.estimator_lib import toy

FAST = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None, steps_per_loop=10,
                    tf_random_seed=1)


@pytest.fixture(scope="session")
def exports(tmp_path_factory) -> dict[str, str]:
    """Two real exports of one trained model: `good`, and `needs_y`, whose serving input
    requires a feature `y` that the raw examples lack (its signatures raise)."""
    root = tmp_path_factory.mktemp("exports")
    estimator = el.Estimator(toy.model_fn, model_dir=str(root / "model_dir"), config=FAST)
    estimator.train(toy.train_input_fn, steps=10)
    good = estimator.export_saved_model(
        str(root / "good"), el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC))
    needs_y = estimator.export_saved_model(
        str(root / "needs_y"), el.export.build_parsing_serving_input_receiver_fn(
            {**toy.FEATURE_SPEC, "y": tf.io.FixedLenFeature([1], tf.float32)}))
    return {"good": good, "needs_y": needs_y}


def make_model_artifact(root, saved_model_dir: str, *, tag: str | None = None,
                        trainer_result: dict | None = None) -> str:
    """A trainer `model` artifact: `serving_model/` (a copy) and `trainer_result.json`.

    `tag` adds `assets.extra/tag.txt`, which gives the model a different fingerprint while
    leaving it a valid SavedModel.
    """
    uri = os.path.join(str(root), "model" if tag is None else f"model_{tag}")
    shutil.copytree(saved_model_dir, os.path.join(uri, "serving_model"))
    if tag is not None:
        os.makedirs(os.path.join(uri, "serving_model", "assets.extra"))
        with open(os.path.join(uri, "serving_model", "assets.extra", "tag.txt"), "w") as f:
            f.write(tag)
    with open(os.path.join(uri, "trainer_result.json"), "w") as f:
        json.dump(trainer_result or {"final_step": 10, "metrics": {"loss": 0.5}}, f)
    return uri


def make_blessing(root, blessed: bool, reasons=(), metrics=None, name="blessing") -> str:
    """An evaluator `blessing` artifact."""
    uri = os.path.join(str(root), name)
    os.makedirs(uri)
    with open(os.path.join(uri, "blessing.json"), "w") as f:
        json.dump({"blessed": blessed, "reasons": list(reasons),
                   "metrics": metrics or {"auc": 0.81, "accuracy": 0.74}}, f)
    return uri


@pytest.fixture(scope="session")
def examples_uri(tmp_path_factory) -> str:
    """A raw `examples` artifact: Split-eval/ and Split-train/ gzip TFRecord shards."""
    uri = str(tmp_path_factory.mktemp("examples"))
    for split in ("eval", "train"):
        os.makedirs(os.path.join(uri, f"Split-{split}"))
        path = os.path.join(uri, f"Split-{split}", "data-00000-of-00001.tfrecord.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for record in toy.serialized_examples(40):
                writer.write(record)
    return uri


@pytest.fixture
def model_uri(exports, tmp_path) -> str:
    return make_model_artifact(tmp_path, exports["good"])
