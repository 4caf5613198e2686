"""The trainer's settings (`TrainerSettings`) and its executor config (`TrainerConfig`: the
settings plus the artifact URIs), frozen and checked at construction."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import estimator_lib as el
from components.artifacts import model
from components.common.settings import Settings
from components.model.recipe import CANNED_ESTIMATORS, ModelRecipe, RecipeError

# "auto" picks from TF_CONFIG (see `executor.strategy_kind`); the others are
# `el.distribute.make_strategy`'s kinds.
STRATEGIES = ("auto", *el.distribute.STRATEGY_KINDS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainerSettings(Settings):
    """What the trainer trains and how: the trainer's settings, each declared once here.

    The pipeline YAML's `model:` and `training:` sections, the KFP component's `settings`
    parameter and the trainer's command-line flags all come from these fields.

    Args:
        estimator: A canned estimator's name (see `components.model.recipe`). Exactly one of
            `estimator` and `module_file`.
        module_file: A Python file defining `model_fn(features, labels, mode, params)` (the
            YAML's `model.module`).
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
        log_every_steps: Steps between the trainer's progress lines (global step and
            steps per second). Defaults to None: a tenth of `train_steps`, and at least
            `steps_per_loop`.
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
        >>> TrainerSettings(estimator="DNNLinearCombinedClassifier", train_steps=5000)
    """

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
    log_every_steps: int | None = None
    eval_throttle_secs: int = 600
    strategy: str = "auto"
    startup_timeout_secs: float = 300

    def __post_init__(self):
        if self.estimator is not None and self.estimator not in CANNED_ESTIMATORS:
            raise ValueError(f"`estimator` {self.estimator!r} is not a canned estimator; "
                             f"choose one of {sorted(CANNED_ESTIMATORS)}, or give a "
                             "`module_file`.")
        for name in ("train_steps", "batch_size", "eval_batch_size", "keep_checkpoint_max",
                     "steps_per_loop", "eval_throttle_secs"):
            _positive_int(name, getattr(self, name))
        for name in ("eval_steps", "save_checkpoints_steps", "log_every_steps"):
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
        if (self.estimator is None) == (self.module_file is None):
            raise ValueError("`estimator`: give a canned estimator's name, or a Python file "
                             "with model_fn as the module (`module_file`): exactly one of the "
                             f"two; received estimator={self.estimator!r}, "
                             f"module_file={self.module_file!r}.")
        if not isinstance(self.params, Mapping):
            raise TypeError(f"`params` must be a mapping of hyperparameters; received "
                            f"{self.params!r}.")
        try:
            self.recipe("<known at run time>")  # the recipe's own checks of the values
        except RecipeError as error:
            raise ValueError(f"`params` {error}") from None

    @property
    def checkpoint_every(self) -> int:
        """Steps between checkpoints."""
        return self.save_checkpoints_steps or max(1, self.train_steps // 5)

    def recipe(self, transform_graph_uri: str) -> ModelRecipe:
        """The model recipe these settings train over `transform_graph_uri`."""
        return ModelRecipe(transform_graph_uri=transform_graph_uri,
                           estimator=self.estimator, module_file=self.module_file,
                           params=self.params, label_key=self.label_key)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainerConfig(TrainerSettings):
    """The trainer's settings plus where it reads and writes: what `executor.run` takes.

    Args:
        examples_uri: The transform step's transformed examples (`Split-<name>/` shards).
        transform_graph_uri: The transform graph (with `feature_columns.json`).
        model_uri: The model artifact to write (`components.artifacts.model`).
        model_dir: Where checkpoints and TensorBoard logs go. The evaluator, running beside
            the trainer, watches the same folder. Defaults to `<model_uri>/model_dir`.
        warm_start_from: A base model to warm-start from: a model_dir, a checkpoint, or a
            trainer's model artifact (its `model_dir/`). A canned model keeps the learned rows
            of every token its vocabularies still hold, where they grew or reordered; other
            variables whose shape changed start fresh. Defaults to None.
        evaluate: Evaluate the final checkpoint here (and others at most every
            `eval_throttle_secs`), giving `TrainerResult.metrics`. False where an evaluation
            worker evaluates every checkpoint, e.g. a pipeline's evaluator step: the trainer
            then only trains, as a chief beside an evaluator task does (a TF_CONFIG
            evaluator task still evaluates). Defaults to True.
        **settings: `TrainerSettings`.

    Example:
        >>> TrainerConfig(examples_uri=t, transform_graph_uri=g, model_uri=m,
        ...               estimator="DNNLinearCombinedClassifier", train_steps=5000)
    """

    examples_uri: str
    transform_graph_uri: str
    model_uri: str
    model_dir: str | None = None
    warm_start_from: str | None = None
    evaluate: bool = True

    def __post_init__(self):
        if not isinstance(self.evaluate, bool):
            raise TypeError(f"`evaluate` must be True or False; received {self.evaluate!r}.")
        for name in ("examples_uri", "transform_graph_uri", "model_uri"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise TypeError(f"`{name}` must be a non-empty string (a path or URI); "
                                f"received {value!r}.")
        super().__post_init__()

    @property
    def resolved_model_dir(self) -> str:
        """`model_dir`, or `<model_uri>/model_dir`."""
        return self.model_dir or os.path.join(self.model_uri, model.MODEL_DIR)

    def recipe(self, transform_graph_uri: str | None = None) -> ModelRecipe:
        """The model recipe this config trains (over its own transform graph)."""
        return super().recipe(transform_graph_uri or self.transform_graph_uri)


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"`{name}` must be an integer; received {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; received {value}.")
