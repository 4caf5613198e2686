"""Evaluating each checkpoint as it appears: the paper's evaluation worker.

`evaluate_checkpoints(config)` watches the model_dir (`checkpoints.CheckpointWatcher`),
rebuilds the trainer's Estimator from its recipe once the first checkpoint is there, and
evaluates every new checkpoint on the transformed eval split. Each evaluation is streamed
as it happens: a line in the metrics log and a point in TensorBoard's eval summaries
(`<model_dir>/eval/`, written by `Estimator.evaluate`). A restarted evaluator skips the
steps its log already holds.

Example:
    >>> stream = evaluate_checkpoints(config)
    >>> [e.step for e in stream.evaluations], stream.final.step
    ([0, 400, 800], 800)
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

import estimator_lib as el
from components.evaluator.checkpoints import Checkpoint, CheckpointWatcher, TrainingDone
from components.evaluator.config import EvaluatorConfig
from components.evaluator.metrics_log import CheckpointEvaluation, MetricsLog
from components.model.recipe import ModelRecipe

__all__ = ["StreamResult", "evaluate_checkpoints"]

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StreamResult:
    """What watching the model_dir produced.

    Attributes:
        evaluations: Every checkpoint evaluation in the log, by step (earlier runs' too).
        new_steps: The steps this run evaluated.
        missed: Checkpoints deleted (by the trainer's retention) before they were evaluated.
        done: The training-done mark.
        final: The final checkpoint: the done mark's, evaluated.
    """

    evaluations: tuple[CheckpointEvaluation, ...]
    new_steps: tuple[int, ...]
    missed: tuple[Checkpoint, ...]
    done: TrainingDone
    final: CheckpointEvaluation


class _LazyEstimator:
    """Builds the trainer's Estimator and eval input_fn on the first checkpoint."""

    def __init__(self, config: EvaluatorConfig):
        self._config = config
        self.recipe: ModelRecipe | None = None
        self._estimator = self._input_fn = None

    def evaluate(self, checkpoint: Checkpoint) -> dict[str, float]:
        if self._estimator is None:
            config = self._config
            self.recipe = ModelRecipe.read(config.model_dir)
            self._estimator = self.recipe.build_estimator(
                config.model_dir, el.RunConfig(log_step_count_steps=None,
                                               save_checkpoints_secs=None))
            self._input_fn = self.recipe.input_fn(  # the trainer's way of reading the data
                config.transformed_examples_uri, config.eval_split,
                batch_size=config.eval_batch_size, train=False)
        results = self._estimator.evaluate(self._input_fn, steps=self._config.eval_steps,
                                           checkpoint_path=checkpoint.path)
        return _scalars(results)


def evaluate_checkpoints(config: EvaluatorConfig) -> StreamResult:
    """Evaluates every checkpoint of `config.model_dir` once, until training is done.

    Args:
        config: The evaluator's config (model_dir, the transformed examples, polling).

    Returns:
        The evaluations, the done mark and the final checkpoint's evaluation.

    Raises:
        TimeoutError: If no new checkpoint appeared for `config.timeout_seconds` before
            training was marked done; the message names the steps evaluated and the log.
        FileNotFoundError: If a checkpoint appears in a folder without the trainer's recipe,
            or the eval split has no shards.
        RuntimeError: If the final checkpoint could not be evaluated.

    Example:
        >>> evaluate_checkpoints(config).final.metrics["auc"]
        0.91
    """
    log = MetricsLog(config.metrics_log_uri)
    previous = {e.step: e for e in log.read()}
    if previous:
        _LOGGER.info("Resuming: %d checkpoints already evaluated (steps %s) in %s.",
                     len(previous), sorted(previous), log.path)
    watcher = CheckpointWatcher(config.model_dir, poll_seconds=config.poll_seconds,
                                timeout_seconds=config.timeout_seconds,
                                skip_steps=previous)
    estimator = _LazyEstimator(config)
    evaluations, new_steps, missed = dict(previous), [], []
    try:
        for checkpoint in watcher:
            start = time.time()
            try:
                metrics = estimator.evaluate(checkpoint)
            except (tf.errors.NotFoundError, tf.errors.DataLossError) as error:
                # The trainer's retention deleted it while it waited its turn.
                _LOGGER.warning("Checkpoint %s (step %d) is gone before it could be "
                                "evaluated: %s", checkpoint.path, checkpoint.step,
                                str(error).splitlines()[0])
                missed.append(checkpoint)
                continue
            evaluation = CheckpointEvaluation(step=checkpoint.step, checkpoint=checkpoint.path,
                                              metrics=metrics, time=time.time(),
                                              seconds=time.time() - start)
            log.append(evaluation)
            evaluations[checkpoint.step] = evaluation
            new_steps.append(checkpoint.step)
            _LOGGER.info("Step %d: %s (%.1f s)", checkpoint.step, _format(metrics),
                         evaluation.seconds)
    except TimeoutError as error:
        raise TimeoutError(
            f"{error} Evaluated steps: {sorted(evaluations)} (this run: {new_steps}), logged "
            f"in {log.path!r}; a restarted evaluator resumes after them.") from None
    done = watcher.done
    reached = [e for step, e in evaluations.items() if step >= done.final_step]
    if not reached:
        raise RuntimeError(
            f"Training ended at step {done.final_step} ({done.final_checkpoint!r}) but that "
            f"checkpoint was not evaluated (evaluated steps: {sorted(evaluations)}; gone "
            f"before evaluation: {[c.step for c in missed]}).")
    final = min(reached, key=lambda e: e.step)
    return StreamResult(evaluations=tuple(evaluations[s] for s in sorted(evaluations)),
                        new_steps=tuple(new_steps), missed=tuple(missed), done=done,
                        final=final)


def _scalars(results: Mapping[str, object]) -> dict[str, float]:
    scalars = {}
    for key, value in results.items():
        array = np.asarray(value)
        if array.size == 1 and array.dtype.kind in "fiub":
            scalars[key] = float(array)
    return scalars


def _format(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()) if k != "global_step")
