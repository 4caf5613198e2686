"""Hooks: code that runs around the Estimator's loops (the paper's SessionRunHook).

The Estimator runs several steps inside one tf.function call (`RunConfig.steps_per_loop`).
Hooks run between those calls:

    begin()                       before the model is built
    after_create(run_context)     variables exist and are restored
    loop:
      before_run(run_context)     may return `RunArgs(fetches)`: values to fetch
      ... up to steps_per_loop steps in one call ...
      after_run(run_context, run_values)
    end(run_context)              after the last loop (not called when a hook raised)

How hooks see values when several steps run per loop: `run_values.results` hold the
values of the *last* step of the loop, except `nan_loss`, which is true when *any* step
of the loop had a non-finite loss. A hook that needs a loop to end on a particular
step returns that step from `next_boundary(global_step)`; loops are shortened so every
hook gets control exactly at the steps it asked for (this is how `StopAtStepHook` stops
at exactly `last_step` and checkpoints land on multiples of `save_checkpoints_steps`).
A hook that must see every single step needs `steps_per_loop=1`.

Fetchable names: `loss`, `global_step`, `nan_loss` and every key of the model_fn's
`predictions` dict; a `tf.Variable` may be fetched too.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

logger = logging.getLogger("estimator_lib")


class NanLossDuringTrainingError(RuntimeError):
    """Training produced a NaN or infinite loss; no checkpoint was written for it."""


@dataclasses.dataclass(frozen=True)
class RunArgs:
    """What a hook's `before_run` asks the next loop to fetch.

    Args:
        fetches: A name, a list of names, or a dict of key to name (or tf.Variable).
    """

    fetches: Any = None


@dataclasses.dataclass(frozen=True)
class RunValues:
    """The fetched values (numpy), in the structure of `RunArgs.fetches`."""

    results: Any = None


class RunContext:
    """What a hook sees of the run, and how it stops it.

    Attributes:
        mode: The `ModeKeys` of the run.
        model_dir: The Estimator's model directory.
        global_step: The global step (an int), current when the hook is called.
        loop_steps: Steps the current loop will run (or ran, in `after_run`).
        variables: Dict of stable name to variable of the model.
        checkpoint: The `tf.train.Checkpoint` of the model (TRAIN only).
    """

    def __init__(self, *, mode, model_dir, global_step=0, variables=None, checkpoint=None):
        self.mode = mode
        self.model_dir = model_dir
        self.global_step = int(global_step)
        self.loop_steps = 0
        self.variables = dict(variables or {})
        self.checkpoint = checkpoint
        self._stop_requested = False

    def request_stop(self) -> None:
        """Asks the Estimator to stop after this loop."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested


class Hook:
    """Base class of hooks: every method is a no-op; override what you need.

    Example (the paper's hook, unchanged but for the base class):
        >>> class TimeBasedStopHook(Hook):
        ...     def begin(self):
        ...         self._start_time = time.time()
        ...     def after_run(self, run_context, run_values):
        ...         if time.time() - self._start_time >= 10 * 60:
        ...             run_context.request_stop()
    """

    def begin(self) -> None:
        """Called once before the model is built."""

    def after_create(self, run_context: RunContext) -> None:
        """Called once the variables exist and are restored from a checkpoint."""

    def before_run(self, run_context: RunContext) -> RunArgs | None:
        """Called before each loop; may return `RunArgs` naming values to fetch."""
        return None

    def after_run(self, run_context: RunContext, run_values: RunValues) -> None:
        """Called after each loop with the fetched values."""

    def end(self, run_context: RunContext) -> None:
        """Called once after the last loop."""

    def next_boundary(self, global_step: int) -> int | None:
        """A later global step at which this hook needs a loop to end, or None."""
        return None


class _Timer:
    """Triggers every N steps or every N seconds (exactly one of them)."""

    def __init__(self, every_steps=None, every_secs=None, name="hook", allow_never=False):
        self.never = allow_never and every_steps is None and every_secs is None
        if (every_steps is None) == (every_secs is None) and not self.never:
            raise ValueError(
                f"{name}: set exactly one of every N steps ({every_steps!r}) and every N "
                f"seconds ({every_secs!r})."
            )
        for value in (every_steps, every_secs):
            if value is not None and value <= 0:
                raise ValueError(f"{name}: the interval must be positive; received {value!r}.")
        self.every_steps = every_steps
        self.every_secs = every_secs
        self.last_step = None
        self.last_time = None

    def should_trigger(self, step: int) -> bool:
        if self.never:
            return False
        if self.last_step is None:
            return True
        if step <= self.last_step:
            return False
        if self.every_steps is not None:
            return step >= self.last_step + self.every_steps
        return time.time() >= self.last_time + self.every_secs

    def update(self, step: int):
        """Records a trigger; returns (seconds, steps) since the previous one, or None."""
        now = time.time()
        elapsed = None
        if self.last_time is not None:
            elapsed = (now - self.last_time, step - self.last_step)
        self.last_step, self.last_time = step, now
        return elapsed

    def next_boundary(self, step: int) -> int | None:
        if self.every_steps is None:
            return None
        if self.last_step is None:
            return (step // self.every_steps + 1) * self.every_steps
        return self.last_step + self.every_steps


class StopAtStepHook(Hook):
    """Stops after `num_steps` more steps, or at global step `last_step`.

    Example:
        >>> estimator.train(input_fn, hooks=[StopAtStepHook(last_step=1000)])
    """

    def __init__(self, num_steps: int | None = None, last_step: int | None = None):
        if (num_steps is None) == (last_step is None):
            raise ValueError("StopAtStepHook: set exactly one of `num_steps` and `last_step`.")
        if num_steps is not None and num_steps < 0:
            raise ValueError(f"`num_steps` ({num_steps}) must be >= 0.")
        self._num_steps = num_steps
        self.last_step = last_step

    def after_create(self, run_context):
        if self._num_steps is not None:
            self.last_step = run_context.global_step + self._num_steps
        if run_context.global_step >= self.last_step:
            run_context.request_stop()

    def before_run(self, run_context):
        if run_context.global_step >= self.last_step:
            run_context.request_stop()

    def after_run(self, run_context, run_values):
        if run_context.global_step >= self.last_step:
            run_context.request_stop()

    def next_boundary(self, global_step):
        return self.last_step


class LoggingTensorHook(Hook):
    """Logs named values every N loops' worth of steps, every N seconds, or at the end.

    Args:
        tensors: A list of fetchable names, or a dict of label to name.
        every_n_iter: Log every N global steps.
        every_n_secs: Log every N seconds.
        at_end: Also log the values of the last loop at the end.
        formatter: Callable(dict of label to value) -> str.

    Example:
        >>> LoggingTensorHook(["loss", "global_step"], every_n_iter=100)
    """

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False, formatter=None):
        if isinstance(tensors, str):
            tensors = [tensors]
        self._tensors = dict(tensors) if isinstance(tensors, Mapping) else {t: t for t in tensors}
        self._at_end = at_end
        self._timer = None if (every_n_iter is None and every_n_secs is None and at_end) else _Timer(
            every_n_iter, every_n_secs, "LoggingTensorHook")
        self._formatter = formatter
        self._last = None
        self._triggered = False

    def before_run(self, run_context):
        self._triggered = self._timer is not None and self._timer.should_trigger(
            run_context.global_step + run_context.loop_steps)
        return RunArgs(self._tensors) if (self._triggered or self._at_end) else None

    def after_run(self, run_context, run_values):
        self._last = run_values.results
        if self._triggered:
            self._timer.update(run_context.global_step)
            self._log(run_values.results)

    def end(self, run_context):
        if self._at_end and self._last is not None:
            self._log(self._last)

    def next_boundary(self, global_step):
        return None if self._timer is None else self._timer.next_boundary(global_step)

    def _log(self, values):
        if self._formatter is not None:
            logger.info(self._formatter(values))
        else:
            logger.info(", ".join(f"{k} = {_format(v)}" for k, v in values.items()))


def _format(value):
    array = np.asarray(value)
    return f"{array.item():.6g}" if array.size == 1 and array.dtype.kind == "f" else str(value)


class NanTensorHook(Hook):
    """Stops training when the loss is NaN or infinite, before a checkpoint is saved.

    Args:
        loss_tensor: The fetchable name of the loss. Default "loss".
        fail_on_nan_loss: Raise `NanLossDuringTrainingError` (default; the last checkpoint
            is left as it was) or only stop (training then ends as usual, and the final
            checkpoint, of the diverged model, is saved, as in the legacy Estimator).
    """

    def __init__(self, loss_tensor: str = "loss", fail_on_nan_loss: bool = True):
        self._name = loss_tensor
        self._fail = fail_on_nan_loss

    def before_run(self, run_context):
        return RunArgs({"loss": self._name, "nan_loss": "nan_loss"} if self._name == "loss"
                       else {"loss": self._name})

    def after_run(self, run_context, run_values):
        values = run_values.results
        bad = bool(values.get("nan_loss", False)) or not np.all(np.isfinite(values["loss"]))
        if not bad:
            return
        message = (f"NaN or infinite loss in the loop that ended at global step "
                   f"{run_context.global_step}")
        if self._fail:
            raise NanLossDuringTrainingError(f"{message}; the last checkpoint is unchanged.")
        # Not failing: the run ends normally, so the final checkpoint is still saved.
        logger.error("%s; stopping training.", message)
        run_context.request_stop()


class _SummaryWriters:
    """One file writer per directory, shared by the hooks of a process."""

    _writers: dict[str, Any] = {}

    @classmethod
    def get(cls, logdir: str):
        if logdir not in cls._writers:
            cls._writers[logdir] = tf.summary.create_file_writer(logdir)
        return cls._writers[logdir]


def summary_writer(logdir: str):
    """The shared `tf.summary` file writer for `logdir`."""
    return _SummaryWriters.get(logdir)


class StepCounterHook(Hook):
    """Logs and writes `global_step/sec` every N steps or seconds.

    Example:
        >>> StepCounterHook(every_n_steps=100, output_dir="/tmp/model")
    """

    def __init__(self, every_n_steps=100, every_n_secs=None, output_dir=None):
        if every_n_secs is not None:
            every_n_steps = None
        self._timer = _Timer(every_n_steps, every_n_secs, "StepCounterHook")
        self._output_dir = output_dir
        self.last_rate = None

    def after_create(self, run_context):
        self._timer.update(run_context.global_step)
        self._output_dir = self._output_dir or run_context.model_dir

    def after_run(self, run_context, run_values):
        step = run_context.global_step
        if self._timer.should_trigger(step):
            elapsed = self._timer.update(step)
            if elapsed and elapsed[0] > 0 and elapsed[1] > 0:
                self.last_rate = elapsed[1] / elapsed[0]
                logger.info("global_step/sec: %.4g", self.last_rate)
                if self._output_dir:
                    with summary_writer(self._output_dir).as_default():
                        tf.summary.scalar("global_step/sec", self.last_rate, step=step)

    def next_boundary(self, global_step):
        return self._timer.next_boundary(global_step)


class SummarySaverHook(Hook):
    """Writes scalar summaries of fetched values every N steps or seconds.

    (model_fn's own `tf.summary` calls are recorded in-graph every
    `RunConfig.save_summary_steps`; this hook is for values fetched between loops.)

    Args:
        save_steps, save_secs: The interval (exactly one).
        output_dir: Where to write; default the model_dir.
        tensors: Fetchable names to write. Default ("loss",).
    """

    def __init__(self, save_steps=None, save_secs=None, output_dir=None, tensors=("loss",)):
        self._timer = _Timer(save_steps, save_secs, "SummarySaverHook")
        self._output_dir = output_dir
        self._tensors = list(tensors)
        self._triggered = False

    def after_create(self, run_context):
        self._output_dir = self._output_dir or run_context.model_dir

    def before_run(self, run_context):
        self._triggered = self._timer.should_trigger(
            run_context.global_step + run_context.loop_steps)
        return RunArgs({t: t for t in self._tensors}) if self._triggered else None

    def after_run(self, run_context, run_values):
        if not self._triggered:
            return
        self._timer.update(run_context.global_step)
        with summary_writer(self._output_dir).as_default():
            for name, value in run_values.results.items():
                tf.summary.scalar(name, np.mean(value), step=run_context.global_step)

    def next_boundary(self, global_step):
        return self._timer.next_boundary(global_step)


class LossSummaryHook(SummarySaverHook):
    """The Estimator's default summary: the loss, written after each loop that reaches a
    multiple of `save_steps` (at the loop's last step; loops are not shortened for it).

    `RunConfig.save_summary_steps` sets it; model_fn's own summaries are recorded in-graph
    at the same interval. A summary op inside the step would cost a conditional per step.
    """

    def __init__(self, save_steps: int, output_dir=None):
        super().__init__(save_steps=save_steps, output_dir=output_dir, tensors=("loss",))

    def before_run(self, run_context):
        start, every = run_context.global_step, self._timer.every_steps
        self._triggered = (start + run_context.loop_steps) // every > start // every
        return RunArgs({"loss": "loss"}) if self._triggered else None

    def next_boundary(self, global_step):
        return None


class CheckpointSaverListener:
    """Called around each checkpoint save by `CheckpointSaverHook`.

    Example:
        >>> class ExportOnSave(CheckpointSaverListener):
        ...     def after_save(self, global_step):
        ...         print("saved", global_step)
    """

    def begin(self) -> None:
        """Called once before training."""

    def before_save(self, global_step: int) -> None:
        """Called before each save."""

    def after_save(self, global_step: int) -> bool | None:
        """Called after each save; returning True asks training to stop."""
        return None

    def end(self, global_step: int) -> None:
        """Called once at the end, after the final save."""


class CheckpointSaverHook(Hook):
    """Saves checkpoints every N steps or seconds, and at the end of training.

    Args:
        checkpoint_dir: Directory for the checkpoints.
        save_secs, save_steps: The interval (at most one; with neither, checkpoints are
            saved only at the start and the end of training).
        listeners: `CheckpointSaverListener`s called around each save.
        max_to_keep: How many checkpoints to keep (None keeps all). Default 5.
        checkpoint_basename: File prefix. Default "model.ckpt".
    """

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, listeners=None,
                 max_to_keep=5, checkpoint_basename="model.ckpt"):
        self._timer = _Timer(save_steps, save_secs, "CheckpointSaverHook", allow_never=True)
        self._dir = os.fspath(checkpoint_dir)
        self._listeners = list(listeners or ())
        self._max_to_keep = max_to_keep or None
        self._basename = checkpoint_basename
        self._manager = None
        self.last_saved_step = None

    def begin(self):
        for listener in self._listeners:
            listener.begin()

    def after_create(self, run_context):
        if run_context.checkpoint is None:
            raise ValueError("CheckpointSaverHook runs only in training.")
        self._manager = tf.train.CheckpointManager(
            run_context.checkpoint, self._dir, max_to_keep=self._max_to_keep,
            checkpoint_name=self._basename)
        step = run_context.global_step
        latest = self._manager.latest_checkpoint
        if latest is None or not latest.endswith(f"-{step}"):
            self._save(run_context)
        else:
            self._timer.update(step)
            self.last_saved_step = step

    def after_run(self, run_context, run_values):
        if self._timer.should_trigger(run_context.global_step):
            self._save(run_context)

    def end(self, run_context):
        if self.last_saved_step != run_context.global_step:
            self._save(run_context)
        for listener in self._listeners:
            listener.end(run_context.global_step)

    def next_boundary(self, global_step):
        return self._timer.next_boundary(global_step)

    def _save(self, run_context):
        step = run_context.global_step
        for listener in self._listeners:
            listener.before_save(step)
        path = self._manager.save(checkpoint_number=step)
        self._timer.update(step)
        self.last_saved_step = step
        logger.info("Saved checkpoint for step %d: %s", step, path)
        if any(listener.after_save(step) for listener in self._listeners):
            run_context.request_stop()


class ProfilerHook(Hook):
    """Records a TensorFlow profile of one loop every N steps or seconds.

    The trace is written for TensorBoard's profile plugin under
    `output_dir/plugins/profile/`.

    Args:
        save_steps, save_secs: The interval (exactly one).
        output_dir: Where to write; default the model_dir.
    """

    def __init__(self, save_steps=None, save_secs=None, output_dir=""):
        self._timer = _Timer(save_steps, save_secs, "ProfilerHook")
        self._output_dir = output_dir
        self._active = False

    def after_create(self, run_context):
        self._output_dir = self._output_dir or run_context.model_dir
        self._timer.update(run_context.global_step)

    def before_run(self, run_context):
        if self._timer.should_trigger(run_context.global_step + run_context.loop_steps):
            tf.profiler.experimental.start(self._output_dir)
            self._active = True
        return None

    def after_run(self, run_context, run_values):
        if self._active:
            tf.profiler.experimental.stop()
            self._active = False
            self._timer.update(run_context.global_step)
            logger.info("Profile of the loop ending at step %d written to %s",
                        run_context.global_step, self._output_dir)

    def end(self, run_context):
        if self._active:
            tf.profiler.experimental.stop()
            self._active = False

    def next_boundary(self, global_step):
        return self._timer.next_boundary(global_step)


def resolve_fetches(fetches, available: Mapping[str, Any]):
    """Maps a `RunArgs.fetches` structure to values from `available` (name -> value)."""
    if fetches is None:
        return None
    if isinstance(fetches, str):
        if fetches not in available:
            raise ValueError(
                f"A hook asked to fetch {fetches!r}, which this model does not provide. "
                f"Fetchable names: {sorted(available)}. Add it to model_fn's predictions."
            )
        return np.asarray(available[fetches])
    if isinstance(fetches, tf.Variable):
        return fetches.numpy()
    if isinstance(fetches, Mapping):
        return {k: resolve_fetches(v, available) for k, v in fetches.items()}
    if isinstance(fetches, Sequence):
        return [resolve_fetches(v, available) for v in fetches]
    if callable(fetches):
        return fetches()
    raise TypeError(f"Cannot fetch {fetches!r}: use names, a tf.Variable, or lists/dicts of them.")


def fetch_names(fetches) -> set[str]:
    """The names a `RunArgs.fetches` structure refers to."""
    if isinstance(fetches, str):
        return {fetches}
    if isinstance(fetches, Mapping):
        return set().union(*(fetch_names(v) for v in fetches.values())) if fetches else set()
    if isinstance(fetches, list | tuple):
        return set().union(*(fetch_names(v) for v in fetches)) if fetches else set()
    return set()


HookList = Sequence[Hook]
Callback = Callable[..., Any]
