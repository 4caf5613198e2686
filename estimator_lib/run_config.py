"""`RunConfig`: where and how an Estimator runs (params say what it learns)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import tensorflow as tf

from estimator_lib.distribute import ClusterInfo

_DEFAULT = object()  # Marks save_checkpoints_secs left at its default.


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Immutable run configuration; change it with `replace(**changes)`.

    Args:
        model_dir: Directory (or URI) for checkpoints, summaries and exports.
        tf_random_seed: Seed for TensorFlow and Keras random ops. Default None.
        save_summary_steps: Write summaries every N global steps. Default 100.
        save_checkpoints_steps: Save a checkpoint every N steps. Default None.
        save_checkpoints_secs: Save a checkpoint every N seconds. Default 600 unless
            `save_checkpoints_steps` is set (at most one of the two may be set).
        keep_checkpoint_max: Checkpoints to keep (None or 0 keeps all). Default 5.
        log_step_count_steps: Log loss and global_step/sec every N steps. Default 100.
        steps_per_loop: Training steps run inside one tf.function call. Hooks,
            summaries and checkpoints happen between loops (a loop is shortened to end
            on a step where one is due). Default 100.
        train_distribute: A `tf.distribute.Strategy` for training. Default None.
        eval_distribute: A `tf.distribute.Strategy` for evaluation. Default None.

    TF_CONFIG is read once, at construction: see `cluster_spec`, `task_type`,
    `task_id`, `is_chief`, `num_worker_replicas` and `num_ps_replicas`.

    Raises:
        ValueError: For negative or zero counts, or both checkpoint triggers set.

    Example:
        >>> config = RunConfig(model_dir="/tmp/model", save_checkpoints_steps=500)
        >>> config.replace(steps_per_loop=50).steps_per_loop
        50
    """

    model_dir: str | None = None
    tf_random_seed: int | None = None
    save_summary_steps: int | None = 100
    save_checkpoints_steps: int | None = None
    save_checkpoints_secs: Any = _DEFAULT
    keep_checkpoint_max: int | None = 5
    log_step_count_steps: int | None = 100
    steps_per_loop: int = 100
    train_distribute: tf.distribute.Strategy | None = None
    eval_distribute: tf.distribute.Strategy | None = None
    cluster: ClusterInfo = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.save_checkpoints_secs is _DEFAULT:
            secs = None if self.save_checkpoints_steps is not None else 600
            object.__setattr__(self, "save_checkpoints_secs", secs)
        elif self.save_checkpoints_secs is not None and self.save_checkpoints_steps is not None:
            raise ValueError(
                "Set at most one of `save_checkpoints_steps` "
                f"({self.save_checkpoints_steps}) and `save_checkpoints_secs` "
                f"({self.save_checkpoints_secs})."
            )
        for name in ("save_summary_steps", "save_checkpoints_steps", "save_checkpoints_secs",
                     "log_step_count_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int | float) or value <= 0):
                raise ValueError(f"`{name}` ({value!r}) must be a positive number or None.")
        if not isinstance(self.steps_per_loop, int) or self.steps_per_loop < 1:
            raise ValueError(f"`steps_per_loop` ({self.steps_per_loop!r}) must be a positive integer.")
        if self.keep_checkpoint_max is not None and self.keep_checkpoint_max < 0:
            raise ValueError(f"`keep_checkpoint_max` ({self.keep_checkpoint_max!r}) must be >= 0.")
        if self.model_dir is not None:
            object.__setattr__(self, "model_dir", os.fspath(self.model_dir))
        for name in ("train_distribute", "eval_distribute"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tf.distribute.Strategy):
                raise TypeError(
                    f"`{name}` must be a tf.distribute.Strategy; received {type(value).__name__}."
                )
        if self.cluster is None:
            object.__setattr__(self, "cluster", ClusterInfo.from_tf_config())

    def replace(self, **changes) -> RunConfig:
        """Returns a copy with `changes` applied (and validated)."""
        if "save_checkpoints_steps" in changes and "save_checkpoints_secs" not in changes:
            changes["save_checkpoints_secs"] = _DEFAULT
        return dataclasses.replace(self, **changes)

    @property
    def cluster_spec(self) -> tf.train.ClusterSpec:
        return self.cluster.cluster_spec

    @property
    def task_type(self) -> str | None:
        return self.cluster.task_type

    @property
    def task_id(self) -> int:
        return self.cluster.task_id

    @property
    def is_chief(self) -> bool:
        return self.cluster.is_chief

    @property
    def num_worker_replicas(self) -> int:
        return self.cluster.num_worker_replicas

    @property
    def num_ps_replicas(self) -> int:
        return self.cluster.num_ps_replicas
