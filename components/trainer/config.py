"""The trainer's configuration: one flat, frozen dataclass, checked at construction."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import estimator_lib as el
from components.common.recipe import CANNED_ESTIMATORS, ModelRecipe, RecipeError

MODEL_DIR = "model_dir"  # under the model artifact, when no model_dir is given
# "auto" picks from TF_CONFIG (see `executor.strategy_kind`); the others are
# `el.distribute.make_strategy`'s kinds.
STRATEGIES = ("auto", *el.distribute.STRATEGY_KINDS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainerConfig:
    """What the trainer reads, trains and writes.

    Args:
        examples_uri: The transform step's transformed examples (`Split-<name>/` shards).
        transform_graph_uri: The transform graph (with `feature_columns.json`).
        model_uri: The model artifact to write: `serving_model/`, `eval_model/`,
            `trainer_result.json`.
        model_dir: Where checkpoints and TensorBoard logs go. The evaluator, running beside
            the trainer, watches the same folder. Defaults to `<model_uri>/model_dir`.
        estimator: A canned estimator's name (see `components.common.recipe`). Exactly one of
            `estimator` and `module_file`.
        module_file: A Python file defining `model_fn(features, labels, mode, params)`.
        params: Hyperparameters (the canned estimator's, or the module's `params`).
        label_key: The label feature; defaults to the transform step's label.
        train_steps: Global steps to train to. Defaults to 2000.
        eval_steps: Batches of the eval split to evaluate; None reads it all.
        batch_size: Training batch size. Defaults to 256.
        eval_batch_size: Evaluation batch size. Defaults to 1024.
        train_split / eval_split: Split names. Default "train" / "eval".
        save_checkpoints_steps: Steps between checkpoints (each one the evaluator evaluates).
            Defaults to a fifth of `train_steps`.
        keep_checkpoint_max: Checkpoints to keep. Defaults to 10.
        steps_per_loop: Training steps per compiled loop. Defaults to 100.
        seed: The random seed (initialization and shuffling). Defaults to 42.
        warm_start_from: A base model to warm-start from: a model_dir, a checkpoint, or a
            trainer's model artifact (its `model_dir/`). Variables whose shape changed (a
            vocabulary that grew) start fresh. Defaults to None.
        eval_throttle_secs: While training, the trainer evaluates a new checkpoint at most
            this often (the evaluator step evaluates every one); the final checkpoint is
            always evaluated. Defaults to 600.
        strategy: The distribution strategy, one of `STRATEGIES`. "auto" (default) reads
            TF_CONFIG (as a TFJob's operator sets it): "parameter_server" when the cluster
            has ps tasks, "multi_worker_mirrored" when it has several training tasks,
            "default" (none) for a single task. The others are
            `el.distribute.make_strategy`'s kinds. Under a strategy, `batch_size` is each
            replica's batch (the global batch is `batch_size` times the replicas), and each
            training task reads its own shard of the batches.
        startup_timeout_secs: How long a cluster task waits for the others to come up
            before failing with the list of those missing. Defaults to 300.

    Raises:
        TypeError, ValueError: For a bad field, naming it.

    Example:
        >>> TrainerConfig(examples_uri=t, transform_graph_uri=g, model_uri=m,
        ...               estimator="DNNLinearCombinedClassifier", train_steps=5000)
    """

    examples_uri: str
    transform_graph_uri: str
    model_uri: str
    model_dir: str | None = None
    estimator: str | None = None
    module_file: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    label_key: str | None = None
    train_steps: int = 2000
    eval_steps: int | None = None
    batch_size: int = 256
    eval_batch_size: int = 1024
    train_split: str = "train"
    eval_split: str = "eval"
    save_checkpoints_steps: int | None = None
    keep_checkpoint_max: int = 10
    steps_per_loop: int = 100
    seed: int = 42
    warm_start_from: str | None = None
    eval_throttle_secs: int = 600
    strategy: str = "auto"
    startup_timeout_secs: float = 300

    def __post_init__(self):
        for name in ("examples_uri", "transform_graph_uri", "model_uri"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise TypeError(f"`{name}` must be a non-empty string (a path or URI); "
                                f"received {value!r}.")
        if self.estimator is not None and self.estimator not in CANNED_ESTIMATORS:
            raise ValueError(f"Unknown canned estimator {self.estimator!r}; choose one of "
                             f"{sorted(CANNED_ESTIMATORS)}, or give a `module_file`.")
        for name in ("train_steps", "batch_size", "eval_batch_size", "keep_checkpoint_max",
                     "steps_per_loop", "eval_throttle_secs"):
            _positive_int(name, getattr(self, name))
        for name in ("eval_steps", "save_checkpoints_steps"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        if self.strategy not in STRATEGIES:
            raise ValueError(f"`strategy` {self.strategy!r} is unknown; choose one of "
                             f"{STRATEGIES}.")
        if isinstance(self.startup_timeout_secs, bool) or not isinstance(
                self.startup_timeout_secs, int | float) or self.startup_timeout_secs <= 0:
            raise ValueError("`startup_timeout_secs` must be a positive number of seconds; "
                             f"received {self.startup_timeout_secs!r}.")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise TypeError(f"`seed` must be an integer; received {self.seed!r}.")
        for name in ("train_split", "eval_split"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"`{name}` must be a split name; received "
                                 f"{getattr(self, name)!r}.")
        try:
            self.recipe()  # checks estimator/module and params together
        except RecipeError as error:
            raise ValueError(str(error)) from None

    @property
    def resolved_model_dir(self) -> str:
        """`model_dir`, or `<model_uri>/model_dir`."""
        return self.model_dir or os.path.join(self.model_uri, MODEL_DIR)

    @property
    def checkpoint_every(self) -> int:
        """Steps between checkpoints."""
        return self.save_checkpoints_steps or max(1, self.train_steps // 5)

    def recipe(self) -> ModelRecipe:
        """The model recipe this config trains."""
        return ModelRecipe(transform_graph_uri=self.transform_graph_uri,
                           estimator=self.estimator, module_file=self.module_file,
                           params=self.params, label_key=self.label_key)


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"`{name}` must be an integer; received {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; received {value}.")
