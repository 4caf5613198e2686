"""The training-done marker, and waiting for the checkpoints of a running training.

When a distributed training ends, the chief writes the marker file
`<model_dir>/training_done` (`TRAINING_DONE_FILENAME`): a JSON object with the final
`global_step`, the final `checkpoint` path and the `time` (seconds since the epoch).
Tasks that have no other way to learn that training is over read it and exit: parameter
servers, the workers of a parameter-server cluster, the evaluator task of
`train_and_evaluate`, and pipeline components that watch a model_dir. The chief removes
a stale marker when a new training starts in the same model_dir. The marker is written
atomically (a temporary file, then a rename), so a reader never sees half of it.

Example:
    >>> for path in checkpoints_until_done("/tmp/model", poll_secs=5):
    ...     estimator.evaluate(eval_input_fn, checkpoint_path=path)
    >>> training_done("/tmp/model")
    True
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import tensorflow as tf

logger = logging.getLogger("estimator_lib")

TRAINING_DONE_FILENAME = "training_done"
_STEP_KEY = "global_step/.ATTRIBUTES/VARIABLE_VALUE"


def training_done_path(model_dir: str) -> str:
    """The path of the training-done marker in `model_dir`."""
    return os.path.join(os.fspath(model_dir), TRAINING_DONE_FILENAME)


def read_training_done(model_dir: str) -> dict[str, Any] | None:
    """The marker's content (`global_step`, `checkpoint`, `time`), or None if absent.

    Example:
        >>> read_training_done("/tmp/model")["global_step"]
        1000
    """
    path = training_done_path(model_dir)
    try:
        with tf.io.gfile.GFile(path, "r") as f:
            return json.loads(f.read())
    except tf.errors.NotFoundError:
        return None
    except json.JSONDecodeError as error:
        raise ValueError(f"The training-done marker {path!r} is not valid JSON: {error}") from None


def training_done(model_dir: str) -> bool:
    """Whether the chief has marked the training in `model_dir` as finished.

    Example:
        >>> if training_done(estimator.model_dir):
        ...     print("final checkpoint:", estimator.latest_checkpoint())
    """
    return tf.io.gfile.exists(training_done_path(model_dir))


def mark_training_done(model_dir: str, global_step: int, checkpoint: str | None) -> str:
    """Writes the marker atomically; returns its path. Called by the chief."""
    path = training_done_path(model_dir)
    temp = f"{path}.tmp-{os.getpid()}"
    content = {"global_step": int(global_step), "checkpoint": checkpoint, "time": time.time()}
    with tf.io.gfile.GFile(temp, "w") as f:
        f.write(json.dumps(content))
    tf.io.gfile.rename(temp, path, overwrite=True)
    logger.info("Training done at global step %d; marked in %s.", global_step, path)
    return path


def clear_training_done(model_dir: str) -> None:
    """Removes a marker left by an earlier training (the chief, before it trains)."""
    path = training_done_path(model_dir)
    if tf.io.gfile.exists(path):
        tf.io.gfile.remove(path)


def checkpoint_step(checkpoint_path: str) -> int:
    """The global step saved in a checkpoint."""
    return int(tf.train.load_variable(checkpoint_path, _STEP_KEY))


def checkpoints_until_done(model_dir: str, *, max_steps: int | None = None,
                           poll_secs: float = 1.0,
                           timeout_secs: float | None = None) -> Iterator[str]:
    """Yields each new latest checkpoint of `model_dir` once, until training is over.

    A checkpoint is yielded when it is the newest one and was not yielded before; the
    ones written while the caller was busy with the previous one are skipped, except
    the final one, which is always yielded. The iteration ends after the checkpoint
    whose global step is >= `max_steps`, or, when the training-done marker is present,
    after the checkpoint it names (or the newest one).

    Args:
        model_dir: The directory the training writes checkpoints to.
        max_steps: The training's last step, if known.
        poll_secs: Seconds between looks at the directory. Default 1.
        timeout_secs: Give up (and return) when no new checkpoint appeared for this long
            and training is not done. Default None: wait forever.

    Yields:
        Checkpoint paths (prefixes), newest first seen, oldest first.

    Example:
        >>> for path in checkpoints_until_done(model_dir, max_steps=1000):
        ...     print(checkpoint_step(path))
    """
    if poll_secs <= 0:
        raise ValueError(f"`poll_secs` ({poll_secs!r}) must be positive.")
    last_path, last_step = None, -1
    last_new = time.monotonic()
    while True:
        # Read the marker before the checkpoint: a checkpoint seen after the marker is
        # at least as new as the one the marker names.
        done = read_training_done(model_dir) if training_done(model_dir) else None
        path = tf.train.latest_checkpoint(model_dir) if tf.io.gfile.isdir(model_dir) else None
        if path is not None and path != last_path:
            step = _step_or_none(path)
            if step is not None and step > last_step:
                last_path, last_step = path, step
                last_new = time.monotonic()
                yield path
                if max_steps is not None and step >= max_steps:
                    return
                continue  # Look again at once: training may have moved on meanwhile.
        if done is not None and (last_step >= int(done.get("global_step", -1))
                                 or path == last_path):
            return
        if timeout_secs is not None and time.monotonic() - last_new > timeout_secs:
            logger.warning("No new checkpoint in %s for %.0f s; stopped waiting.", model_dir,
                           timeout_secs)
            return
        time.sleep(poll_secs)


def _step_or_none(path: str) -> int | None:
    try:
        return checkpoint_step(path)
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError):
        # Deleted by the chief's retention between listing and reading it.
        return None
