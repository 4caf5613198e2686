"""Watching a model_dir: every checkpoint once, in step order, until training is done.

The trainer's checkpoint manager writes a checkpoint's files, then adds it to the
`checkpoint` state file: a checkpoint is complete once the state file lists it, so that is
what the watcher reads (not a glob of `*.index`, which sees half-written checkpoints). It
yields each listed checkpoint it has not yielded before, oldest first, so checkpoints
written while the caller was busy are evaluated too (unless the trainer's retention
deleted them meanwhile; the caller sees that as a missing checkpoint).

It stops once the training-done mark is present and a checkpoint at (or past) its final
step was yielded, and raises `TimeoutError` when no new checkpoint appeared for
`timeout_seconds` while training is not done. The mark is estimator_lib's (`training_done`,
written by the chief in `el.train_and_evaluate`), read through `components.model.recipe`.

Example:
    >>> watcher = CheckpointWatcher(model_dir, poll_seconds=5, timeout_seconds=3600)
    >>> for checkpoint in watcher:
    ...     estimator.evaluate(eval_fn, checkpoint_path=checkpoint.path)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterable, Iterator

import tensorflow as tf

import estimator_lib as el
from components.model import recipe
from estimator_lib import training_status

__all__ = ["Checkpoint", "CheckpointWatcher", "TrainingDone", "list_checkpoints",
           "read_training_done", "resolve_checkpoint"]

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, order=True)
class Checkpoint:
    """A complete checkpoint: its global step and path prefix (e.g. `.../model.ckpt-300`)."""

    step: int
    path: str


@dataclasses.dataclass(frozen=True)
class TrainingDone:
    """The training-done mark: the step training ended at, and its checkpoint."""

    final_step: int
    final_checkpoint: str | None


def read_training_done(model_dir: str) -> TrainingDone | None:
    """The training-done mark (`components.model.recipe`), or None while training runs.

    Example:
        >>> read_training_done("/runs/1/model/model_dir").final_step
        2000
    """
    mark = recipe.read_training_done(model_dir)
    if mark is None:
        return None
    return TrainingDone(int(mark["final_step"]), mark.get("final_checkpoint"))


def list_checkpoints(model_dir: str) -> list[Checkpoint]:
    """The complete checkpoints the state file of `model_dir` lists, by step.

    Paths are resolved inside `model_dir` when the recorded ones do not exist (the
    model_dir was copied or is mounted elsewhere). Checkpoints deleted since the listing
    was written are left out.

    Example:
        >>> [c.step for c in list_checkpoints("/runs/1/model/model_dir")]
        [0, 400, 800]
    """
    return _list(model_dir, {})


def _list(model_dir: str, steps: dict[str, int]) -> list[Checkpoint]:
    state = tf.train.get_checkpoint_state(model_dir) if tf.io.gfile.isdir(model_dir) else None
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    found = {}
    for path in filter(None, paths):
        path = _resolve(model_dir, path)
        step = steps.get(path)
        if step is None:
            step = _step_or_none(path)
            if step is None:
                continue
            steps[path] = step
        found[step] = Checkpoint(step, path)
    return sorted(found.values())


def resolve_checkpoint(model_dir: str, path: str) -> str:
    """`path`, or the checkpoint of that name inside `model_dir` if `path` does not exist."""
    return _resolve(model_dir, path)


def _resolve(model_dir: str, path: str) -> str:
    if tf.io.gfile.exists(path + ".index"):
        return path
    return os.path.join(model_dir, os.path.basename(path))


def _step_or_none(path: str) -> int | None:
    try:
        return training_status.checkpoint_step(path)
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError):
        return None  # deleted by the trainer's retention since the state file was read


class CheckpointWatcher:
    """Yields each new complete checkpoint of a model_dir once, oldest first.

    Args:
        model_dir: The folder the trainer writes; it may not exist yet.
        poll_seconds: Seconds between looks. Defaults to 5.
        timeout_seconds: How long to wait for a new checkpoint (or the done mark) before
            giving up. Defaults to 3600.
        skip_steps: Steps already handled (a restarted evaluator's log): not yielded.

    Attributes:
        done: The training-done mark, once seen.
        yielded: The checkpoints yielded so far.

    Raises (while iterating):
        TimeoutError: No new checkpoint for `timeout_seconds` and training is not done.
        RuntimeError: Training is marked done but no checkpoint reaches its final step.

    Example:
        >>> for checkpoint in CheckpointWatcher(model_dir, skip_steps={0, 100}):
        ...     print(checkpoint.step)
        200
    """

    def __init__(self, model_dir: str, *, poll_seconds: float = 5.0,
                 timeout_seconds: float = 3600.0, skip_steps: Iterable[int] = ()):
        self.model_dir = model_dir
        self.poll_seconds = float(poll_seconds)
        self.timeout_seconds = float(timeout_seconds)
        self.done: TrainingDone | None = None
        self.yielded: list[Checkpoint] = []
        self._handled = set(skip_steps)
        self._steps: dict[str, int] = {}

    def __iter__(self) -> Iterator[Checkpoint]:
        last_new = time.monotonic()
        announced = False
        while True:
            # The mark first: a listing read after it includes the final checkpoint.
            self.done = read_training_done(self.model_dir)
            new = [c for c in _list(self.model_dir, self._steps) if c.step not in self._handled]
            if new:
                for checkpoint in new:
                    self._handled.add(checkpoint.step)
                    self.yielded.append(checkpoint)
                    yield checkpoint
                last_new = time.monotonic()
                continue  # look again at once: training may have moved on meanwhile
            if self.done is not None:
                if max(self._handled, default=-1) >= self.done.final_step:
                    _LOGGER.info("Training is done (final step %d); every checkpoint up to "
                                 "it was handled.", self.done.final_step)
                    return
                raise RuntimeError(
                    f"Training in {self.model_dir!r} is marked done at step "
                    f"{self.done.final_step} ({self.done.final_checkpoint!r}), but its "
                    "checkpoint state lists no checkpoint at that step (listed steps: "
                    f"{sorted(self._steps.values())}). Was the model_dir copied without it?")
            waited = time.monotonic() - last_new
            if waited > self.timeout_seconds:
                raise TimeoutError(
                    f"No new checkpoint in {self.model_dir!r} for {waited:.0f} s "
                    f"(`timeout_seconds` {self.timeout_seconds:g}) and training is not marked "
                    f"done (no {el.TRAINING_DONE_FILENAME}); steps handled: {sorted(self._handled)}.")
            if not announced:
                _LOGGER.info("Waiting for checkpoints in %s (every %g s, up to %g s).",
                             self.model_dir, self.poll_seconds, self.timeout_seconds)
                announced = True
            time.sleep(self.poll_seconds)
