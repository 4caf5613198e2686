"""Fixtures for the evaluator tests: checkpoints of the model trained once
(tests/components/conftest.py `trained`) copied in as the trainer writes them (files first,
then the checkpoint state file that lists them)."""

from __future__ import annotations

import os
import shutil

import tensorflow as tf

from components.artifacts.model import RECIPE_FILE
from components.evaluator.config import EvaluatorConfig
from estimator_lib import training_status
from tests.components.conftest import Trained

CHECKPOINT_NAME = "model.ckpt"


def copy_recipe(source_dir: str, model_dir: str) -> None:
    """What the trainer writes first: the recipe."""
    os.makedirs(model_dir, exist_ok=True)
    shutil.copy(os.path.join(source_dir, RECIPE_FILE), os.path.join(model_dir, RECIPE_FILE))


def copy_checkpoint(source_dir: str, model_dir: str, step: int) -> str:
    """Copies checkpoint `step` in, then lists it in the state file (the commit), as the
    trainer's checkpoint manager does. Returns its path."""
    prefix = f"{CHECKPOINT_NAME}-{step}"
    for name in os.listdir(source_dir):
        if name.startswith(prefix + "."):
            shutil.copy(os.path.join(source_dir, name), os.path.join(model_dir, name))
    write_state(model_dir)
    return os.path.join(model_dir, prefix)


def write_state(model_dir: str) -> None:
    """Writes the `checkpoint` state file listing the checkpoints in `model_dir`."""
    steps = sorted(int(name[len(CHECKPOINT_NAME) + 1:-len(".index")])
                   for name in os.listdir(model_dir)
                   if name.startswith(CHECKPOINT_NAME + "-") and name.endswith(".index"))
    lines = [f'model_checkpoint_path: "{CHECKPOINT_NAME}-{steps[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{CHECKPOINT_NAME}-{s}"' for s in steps]
    temporary = os.path.join(model_dir, ".checkpoint.tmp")
    with open(temporary, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(temporary, os.path.join(model_dir, "checkpoint"))


def mark_done(model_dir: str, step: int) -> None:
    """The chief's training-done mark."""
    training_status.mark_training_done(model_dir, step,
                                       os.path.join(model_dir, f"{CHECKPOINT_NAME}-{step}"))


def model_dir_with(trained: Trained, model_dir: str, steps, *, done: int | None = None) -> str:
    """A copy of the trained model_dir with only the checkpoints of `steps`."""
    copy_recipe(trained.model_dir, model_dir)
    for step in steps:
        copy_checkpoint(trained.model_dir, model_dir, step)
    if done is not None:
        mark_done(model_dir, done)
    return model_dir


def make_config(taxi_data, root, model_dir: str, **kwargs) -> EvaluatorConfig:
    root = str(root)
    defaults = dict(
        model_dir=model_dir, examples_uri=taxi_data.raw_examples_uri,
        transformed_examples_uri=taxi_data.transformed_examples_uri,
        transform_graph_uri=taxi_data.transform_graph_uri,
        evaluation_uri=os.path.join(root, "evaluation"),
        blessing_uri=os.path.join(root, "blessing"), poll_seconds=0.1, timeout_seconds=60)
    return EvaluatorConfig(**{**defaults, **kwargs})


def tensorboard_steps(directory: str, tag: str) -> dict[int, list[float]]:
    """{step: [values written]} of a scalar in the event files of `directory`."""
    from tensorboard.compat.proto.event_pb2 import Event

    values = {}
    for path in tf.io.gfile.glob(os.path.join(directory, "events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(path):
            event = Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag == tag:
                    values.setdefault(event.step, []).append(
                        float(tf.make_ndarray(value.tensor)))
    return values
