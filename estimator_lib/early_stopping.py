"""Early stopping on evaluation metrics: hooks that stop training when a metric stalls.

The hooks read the metrics `Estimator.evaluate` writes to TensorBoard event files under
`estimator.eval_dir(eval_dir_name)`, as the legacy Estimator's did, so they work when
evaluation runs in another process (the paper's evaluation worker).
"""

from __future__ import annotations

import glob
import logging
import operator
import os
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tensorflow.core.util import event_pb2

from estimator_lib.hooks import Hook, _Timer

logger = logging.getLogger("estimator_lib")


def read_eval_metrics(eval_dir: str) -> dict[int, dict[str, float]]:
    """Global step to {metric name: value} from the event files in `eval_dir`.

    Example:
        >>> read_eval_metrics(estimator.eval_dir())[1000]["loss"]
    """
    metrics: dict[int, dict[str, float]] = {}
    for path in sorted(glob.glob(os.path.join(eval_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.HasField("tensor"):
                    number = tf.make_ndarray(value.tensor)
                elif value.HasField("simple_value"):
                    number = value.simple_value
                else:
                    continue
                number = np.asarray(number)
                if number.size == 1 and number.dtype.kind in "biuf":  # Not text summaries.
                    metrics.setdefault(event.step, {})[value.tag] = float(number.item())
    return metrics


class _StopOnPredicateHook(Hook):
    def __init__(self, should_stop: Callable[[], bool], run_every_secs=60, run_every_steps=None):
        if run_every_steps is not None:
            run_every_secs = None
        self._timer = _Timer(run_every_steps, run_every_secs, "early stopping")
        self._should_stop = should_stop

    def after_create(self, run_context):
        self._timer.update(run_context.global_step)

    def after_run(self, run_context, run_values):
        if self._timer.should_trigger(run_context.global_step):
            self._timer.update(run_context.global_step)
            if self._should_stop():
                logger.info("Early stopping at global step %d.", run_context.global_step)
                run_context.request_stop()

    def next_boundary(self, global_step):
        return self._timer.next_boundary(global_step)


def _stop_if(estimator, metric_name, max_steps_without_change, better, min_steps,
             run_every_secs, run_every_steps, eval_dir_name):
    eval_dir = estimator.eval_dir(eval_dir_name)

    def should_stop() -> bool:
        history = read_eval_metrics(eval_dir)
        best_value, best_step = None, None
        for step in sorted(history):
            if metric_name not in history[step]:
                continue
            value = history[step][metric_name]
            if best_value is None or better(value, best_value):
                best_value, best_step = value, step
            if step >= min_steps and step - best_step >= max_steps_without_change:
                logger.info("%r has not improved on %.6g (step %d) for %d steps.",
                            metric_name, best_value, best_step, step - best_step)
                return True
        return False

    return _StopOnPredicateHook(should_stop, run_every_secs, run_every_steps)


def stop_if_no_decrease_hook(estimator, metric_name: str, max_steps_without_decrease: int,
                             eval_dir_name: str | None = None, min_steps: int = 0,
                             run_every_secs: float | None = 60,
                             run_every_steps: int | None = None) -> Hook:
    """A hook that stops training when `metric_name` has not decreased for N steps.

    Example:
        >>> hook = stop_if_no_decrease_hook(estimator, "loss", 1000, run_every_steps=100)
        >>> estimator.train(input_fn, hooks=[hook])
    """
    return _stop_if(estimator, metric_name, max_steps_without_decrease, operator.lt, min_steps,
                    run_every_secs, run_every_steps, eval_dir_name)


def stop_if_no_increase_hook(estimator, metric_name: str, max_steps_without_increase: int,
                             eval_dir_name: str | None = None, min_steps: int = 0,
                             run_every_secs: float | None = 60,
                             run_every_steps: int | None = None) -> Hook:
    """A hook that stops training when `metric_name` has not increased for N steps.

    Example:
        >>> hook = stop_if_no_increase_hook(estimator, "auc", 1000, run_every_steps=100)
    """
    return _stop_if(estimator, metric_name, max_steps_without_increase, operator.gt, min_steps,
                    run_every_secs, run_every_steps, eval_dir_name)


