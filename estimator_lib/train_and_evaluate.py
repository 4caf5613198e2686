"""`train_and_evaluate`: the paper's Experiment, one entry point for local and cluster runs.

Locally (no TF_CONFIG) it trains and, at each new checkpoint (at most once every
`EvalSpec.throttle_secs`), evaluates and runs the exporters; the final checkpoint is
always evaluated (without an EvalSpec, where an evaluation worker watches the model_dir, it
only trains). On a cluster every task calls the same function, and it runs the
task's role from TF_CONFIG (read once, by `RunConfig`):

| role | what it does | when it ends |
|---|---|---|
| chief (or worker 0 of a chief-less cluster) | trains, saves checkpoints | at `max_steps` (or end of input); then writes the training-done marker |
| worker, synchronous cluster (MultiWorkerMirroredStrategy) | trains in lockstep with the chief | with the chief |
| worker or ps, parameter-server cluster | serves variables / runs steps the chief schedules | when the marker appears |
| evaluator | evaluates each new checkpoint once, runs exporters | after the final checkpoint |

See `estimator_lib.training_status` for the marker, and `estimator_lib.distribute` for
making the strategy of each role.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from estimator_lib import distribute
from estimator_lib import training_status as status
from estimator_lib.exporters import Exporter
from estimator_lib.hooks import CheckpointSaverListener, Hook

logger = logging.getLogger("estimator_lib")


def _check_hooks(hooks, where: str) -> tuple[Hook, ...]:
    hooks = tuple(hooks or ())
    for hook in hooks:
        if not isinstance(hook, Hook):
            raise TypeError(f"`{where}.hooks` must hold el.Hook instances; received {hook!r}.")
    return hooks


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """What to train on and for how long.

    Args:
        input_fn: Returns the training `tf.data.Dataset`; may take `params`, `config`,
            `mode` and `input_context` (for per-worker sharding on a cluster).
        max_steps: Train until the global step reaches this. Default None: until the
            input ends (a cluster needs a repeating input and `max_steps`).
        hooks: Extra `el.Hook`s for training.

    Raises:
        TypeError: If input_fn is not callable or a hook is not an `el.Hook`.
        ValueError: If max_steps is not a positive integer.

    Example:
        >>> train_spec = TrainSpec(train_input_fn, max_steps=10_000)
    """

    input_fn: Callable
    max_steps: int | None = None
    hooks: Sequence[Hook] = ()

    def __post_init__(self):
        if not callable(self.input_fn):
            raise TypeError(f"`TrainSpec.input_fn` must be callable; received {self.input_fn!r}.")
        if self.max_steps is not None and (
                isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int)
                or self.max_steps <= 0):
            raise ValueError(
                f"`TrainSpec.max_steps` ({self.max_steps!r}) must be a positive integer or None."
            )
        object.__setattr__(self, "hooks", _check_hooks(self.hooks, "TrainSpec"))


@dataclasses.dataclass(frozen=True)
class EvalSpec:
    """What to evaluate on, how often, and what to export after each evaluation.

    Args:
        input_fn: Returns the evaluation `tf.data.Dataset`.
        steps: Batches per evaluation; None evaluates until the input ends. Default 100.
        name: Name of the evaluation (summaries go to `model_dir/eval_<name>`). Default
            None (`model_dir/eval`).
        hooks: Extra `el.Hook`s for evaluation.
        exporters: `el.exporters.Exporter`s (or one) run after each evaluation; their
            names must differ.
        start_delay_secs: The evaluator task waits this long before its first look for
            a checkpoint (not used locally). Default 120.
        throttle_secs: Evaluate at most once every this many seconds; a newer
            checkpoint waits. The final checkpoint is always evaluated. Default 600.

    Raises:
        TypeError: For a non-callable input_fn, or hooks/exporters of the wrong type.
        ValueError: For non-positive steps, negative delays, or duplicate exporter names.

    Example:
        >>> eval_spec = EvalSpec(eval_input_fn, steps=None, throttle_secs=60,
        ...                      exporters=[el.exporters.LatestExporter("latest", receiver_fn)])
    """

    input_fn: Callable
    steps: int | None = 100
    name: str | None = None
    hooks: Sequence[Hook] = ()
    exporters: Sequence[Exporter] = ()
    start_delay_secs: float = 120
    throttle_secs: float = 600

    def __post_init__(self):
        if not callable(self.input_fn):
            raise TypeError(f"`EvalSpec.input_fn` must be callable; received {self.input_fn!r}.")
        if self.steps is not None and (isinstance(self.steps, bool)
                                       or not isinstance(self.steps, int) or self.steps <= 0):
            raise ValueError(
                f"`EvalSpec.steps` ({self.steps!r}) must be a positive integer or None "
                "(until the input ends)."
            )
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"`EvalSpec.name` must be a string or None; received {self.name!r}.")
        for field in ("start_delay_secs", "throttle_secs"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"`EvalSpec.{field}` ({value!r}) must be a number >= 0.")
        object.__setattr__(self, "hooks", _check_hooks(self.hooks, "EvalSpec"))
        exporters = self.exporters
        if isinstance(exporters, Exporter):
            exporters = (exporters,)
        exporters = tuple(exporters or ())
        for exporter in exporters:
            if not isinstance(exporter, Exporter):
                raise TypeError(
                    "`EvalSpec.exporters` must hold el.exporters.Exporter instances; "
                    f"received {exporter!r}."
                )
        names = [e.name for e in exporters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"`EvalSpec.exporters` names must be unique (each names a directory); "
                f"{duplicates} repeat."
            )
        object.__setattr__(self, "exporters", exporters)


def train_and_evaluate(estimator, train_spec: TrainSpec, eval_spec: EvalSpec | None
                       ) -> tuple[dict[str, Any] | None, list[str] | None]:
    """Trains, evaluates and exports; on a cluster, runs this task's role.

    Args:
        estimator: An `el.Estimator`; its `config` says where it runs (TF_CONFIG).
        train_spec: A `TrainSpec`.
        eval_spec: An `EvalSpec`; or None where evaluation happens elsewhere (an evaluation
            worker watching the model_dir, e.g. a pipeline's evaluator step): a local run
            then trains and marks training done, as a chief beside an evaluator task does.

    Returns:
        `(metrics, export_paths)` of the final evaluation where this task evaluates
        (locally, and on the evaluator task); `(None, None)` on training and serving tasks.

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For a cluster this function cannot run (see `distribute.Role`).

    Example:
        >>> metrics, exports = train_and_evaluate(
        ...     estimator, TrainSpec(train_input_fn, max_steps=1000),
        ...     EvalSpec(eval_input_fn, throttle_secs=30,
        ...              exporters=[el.exporters.LatestExporter("latest", receiver_fn)]))
        >>> metrics["global_step"]
        1000
    """
    from estimator_lib.estimator import Estimator

    if not isinstance(estimator, Estimator):
        raise TypeError(f"`estimator` must be an el.Estimator; received {type(estimator).__name__}.")
    if not isinstance(train_spec, TrainSpec):
        raise TypeError(f"`train_spec` must be an el.TrainSpec; received {type(train_spec).__name__}.")
    if eval_spec is not None and not isinstance(eval_spec, EvalSpec):
        raise TypeError(f"`eval_spec` must be an el.EvalSpec or None; received "
                        f"{type(eval_spec).__name__}.")
    config = estimator.config
    role = distribute.task_role(config.cluster, config.train_distribute)
    logger.info("train_and_evaluate: task %s:%d runs as %s.", config.task_type, config.task_id,
                role.value)
    if role == distribute.Role.LOCAL:
        if eval_spec is None:  # evaluation happens elsewhere: train as a chief does
            _run_trainer(estimator, train_spec, is_chief=True)
            return None, None
        return _run_local(estimator, train_spec, eval_spec)
    if role == distribute.Role.EVALUATOR:
        if eval_spec is None:
            raise ValueError("An evaluator task needs an EvalSpec; `eval_spec` is None.")
        return _run_evaluator(estimator, train_spec, eval_spec)
    if role == distribute.Role.SERVER:
        distribute.serve_until_done(config.cluster, estimator.model_dir)
        return None, None
    _run_trainer(estimator, train_spec, config.is_chief)
    return None, None


# -- roles ---------------------------------------------------------------------------------------
def _run_trainer(estimator, train_spec: TrainSpec, is_chief: bool) -> None:
    if is_chief:
        status.clear_training_done(estimator.model_dir)
    if train_spec.max_steps is None:
        logger.warning("Distributed training without `TrainSpec.max_steps` ends when the input "
                       "ends; the tasks must then see the same number of batches.")
    estimator.train(train_spec.input_fn, hooks=list(train_spec.hooks),
                    max_steps=train_spec.max_steps)
    if is_chief:
        latest = estimator.latest_checkpoint()
        step = status.checkpoint_step(latest) if latest else 0
        status.mark_training_done(estimator.model_dir, step, latest)


class _Evaluations:
    """Evaluates checkpoints and runs the exporters; remembers what it exported."""

    def __init__(self, estimator, eval_spec: EvalSpec):
        self._estimator = estimator
        self._spec = eval_spec
        self.result: dict[str, Any] | None = None
        self.checkpoint: str | None = None
        self.final_done = False
        self._exported: dict[str, str] = {}  # exporter name -> export of self.checkpoint

    def evaluate(self, checkpoint_path: str, is_final: bool) -> dict[str, Any]:
        result = self._estimator.evaluate(
            self._spec.input_fn, steps=self._spec.steps, hooks=list(self._spec.hooks),
            checkpoint_path=checkpoint_path, name=self._spec.name)
        self.result, self.checkpoint, self._exported = result, checkpoint_path, {}
        self._export(is_final)
        return result

    def finish(self, checkpoint_path: str | None) -> tuple[dict | None, list[str]]:
        """Makes sure `checkpoint_path` (the final one) was evaluated and finally exported."""
        if checkpoint_path is None:
            return self.result, []
        if checkpoint_path != self.checkpoint:
            self.evaluate(checkpoint_path, is_final=True)
        elif not self.final_done:
            self._export(is_final=True)
        return self.result, list(self._exported.values())

    def _export(self, is_final: bool) -> None:
        for exporter in self._spec.exporters:
            if exporter.name in self._exported:  # Already exported this checkpoint.
                continue
            path = exporter.export(
                self._estimator, os.path.join(self._estimator.model_dir, "export", exporter.name),
                self.checkpoint, self.result, is_final)
            if path is not None:
                self._exported[exporter.name] = os.fspath(path)
        self.final_done = is_final

    def latest(self) -> str | None:
        return self._estimator.latest_checkpoint()


class _EvaluateOnSave(CheckpointSaverListener):
    """Evaluates a checkpoint just saved, at most once every `throttle_secs` (local runs)."""

    def __init__(self, evaluations: _Evaluations, throttle_secs: float, start_step: int,
                 max_steps: int | None):
        self._evaluations = evaluations
        self._throttle_secs = throttle_secs
        self._start_step = start_step
        self._max_steps = max_steps
        self._last_time = None

    def after_save(self, global_step):
        if global_step <= self._start_step:
            return None  # The checkpoint saved before any training step.
        if self._max_steps is not None and global_step >= self._max_steps:
            return None  # The final checkpoint: evaluated once training returns.
        now = time.monotonic()
        if self._last_time is not None and now - self._last_time < self._throttle_secs:
            return None
        self._last_time = now
        self._evaluations.evaluate(self._evaluations.latest(), is_final=False)
        return None


def _run_local(estimator, train_spec: TrainSpec, eval_spec: EvalSpec):
    evaluations = _Evaluations(estimator, eval_spec)
    latest = estimator.latest_checkpoint()
    start_step = status.checkpoint_step(latest) if latest else 0
    status.clear_training_done(estimator.model_dir)
    listener = _EvaluateOnSave(evaluations, eval_spec.throttle_secs, start_step,
                               train_spec.max_steps)
    estimator.train(train_spec.input_fn, hooks=list(train_spec.hooks),
                    max_steps=train_spec.max_steps, saving_listeners=[listener])
    final = estimator.latest_checkpoint()
    metrics, exports = evaluations.finish(final)
    if final is not None:
        status.mark_training_done(estimator.model_dir, status.checkpoint_step(final), final)
    return metrics, exports


def _run_evaluator(estimator, train_spec: TrainSpec, eval_spec: EvalSpec):
    model_dir = estimator.model_dir
    max_steps = train_spec.max_steps
    if eval_spec.start_delay_secs:
        logger.info("Evaluator: waiting %.0f s (start_delay_secs) for training to start.",
                    eval_spec.start_delay_secs)
        _sleep_unless_done(model_dir, eval_spec.start_delay_secs)
    evaluations = _Evaluations(estimator, eval_spec)
    poll_secs = min(max(eval_spec.throttle_secs, 0.5), 5.0)
    for path in status.checkpoints_until_done(model_dir, max_steps=max_steps,
                                              poll_secs=poll_secs):
        started = time.monotonic()
        step = status.checkpoint_step(path)
        done = status.read_training_done(model_dir)
        is_final = ((max_steps is not None and step >= max_steps)
                    or (done is not None and step >= int(done["global_step"])))
        try:
            evaluations.evaluate(path, is_final=is_final)
        except (tf.errors.NotFoundError, ValueError) as error:
            if tf.io.gfile.exists(path + ".index"):
                raise
            logger.warning("Evaluator: checkpoint %s was deleted before it was evaluated (%s); "
                           "raise keep_checkpoint_max to evaluate all.", path, error)
            continue
        if is_final:
            break
        _sleep_unless_done(model_dir, eval_spec.throttle_secs - (time.monotonic() - started))
    final = evaluations.checkpoint
    if final is not None and not evaluations.final_done:
        latest = estimator.latest_checkpoint()
        final = latest if latest is not None else final
    metrics, exports = evaluations.finish(final)
    logger.info("Evaluator: done after the checkpoint at step %s.",
                None if metrics is None else int(metrics["global_step"]))
    return metrics, exports


def _sleep_unless_done(model_dir: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if status.training_done(model_dir):
            return
        time.sleep(min(left, 1.0))
