"""Tests for estimator_lib.early_stopping: read_eval_metrics and the stop_if_no_* hooks."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.early_stopping import (
    read_eval_metrics,
    stop_if_no_decrease_hook,
    stop_if_no_increase_hook,
)

from .conftest import BATCH_SIZE, X, Y, checkpoint_steps, make_input_fn, reference_run

pytestmark = pytest.mark.usefixtures("no_tf_config")

# loss is best at step 20, then gets worse; accuracy is best at step 20 too.
HISTORY = {
    10: {"loss": 1.0, "accuracy": 0.50},
    20: {"loss": 0.5, "accuracy": 0.80},
    30: {"loss": 0.6, "accuracy": 0.70},
    40: {"loss": 0.7, "accuracy": 0.75},
    50: {"loss": 0.8, "accuracy": 0.60},
}


def _write_eval_summaries(eval_dir, history):
    writer = tf.summary.create_file_writer(eval_dir)
    with writer.as_default():
        for step, values in history.items():
            for name, value in values.items():
                tf.summary.scalar(name, value, step=step)
    writer.close()


def _decides_to_stop(hook, global_step=10, start_step=0):
    """Runs the hook's protocol by hand; True if it asked to stop after one loop."""
    context = el.RunContext(mode=el.ModeKeys.TRAIN, model_dir="/unused", global_step=start_step)
    hook.after_create(context)
    context.global_step = global_step
    hook.after_run(context, el.RunValues())
    return context.stop_requested


# --------------------------------------------------------------------------------------
# read_eval_metrics
# --------------------------------------------------------------------------------------


def test_read_eval_metrics_returns_the_written_values(tmp_path):
    eval_dir = str(tmp_path / "eval")
    _write_eval_summaries(eval_dir, HISTORY)
    metrics = read_eval_metrics(eval_dir)
    assert sorted(metrics) == [10, 20, 30, 40, 50]
    for step, values in HISTORY.items():
        assert metrics[step] == pytest.approx(values)


def test_read_eval_metrics_merges_files_and_skips_non_scalars(tmp_path):
    eval_dir = str(tmp_path / "eval")
    _write_eval_summaries(eval_dir, {5: {"loss": 2.0}})
    writer = tf.summary.create_file_writer(eval_dir, filename_suffix=".second")
    with writer.as_default():
        tf.summary.scalar("auc", 0.75, step=5)
        tf.summary.scalar("loss", 1.25, step=15)
        tf.summary.histogram("weights", [1.0, 2.0, 3.0], step=15)
        tf.summary.text("note", "not a number", step=15)
    writer.close()
    assert read_eval_metrics(eval_dir) == {5: {"loss": 2.0, "auc": 0.75}, 15: {"loss": 1.25}}


def test_read_eval_metrics_of_a_missing_directory_is_empty(tmp_path):
    assert read_eval_metrics(str(tmp_path / "nothing_here")) == {}


def test_read_eval_metrics_reads_what_evaluate_wrote(make_estimator):
    estimator = make_estimator(steps_per_loop=10)
    estimator.train(make_input_fn(), steps=10)
    results = estimator.evaluate(make_input_fn(repeat=False))
    # The mean of the 8 batch losses of the model after 10 steps.
    reference = reference_run(10)
    x, y = X[:, 0].astype(np.float64), Y[:, 0].astype(np.float64)
    errors = (reference["w"] * x + reference["b"] - y) ** 2
    expected = np.mean([errors[i:i + BATCH_SIZE].mean() for i in range(0, len(x), BATCH_SIZE)])
    assert float(results["loss"]) == pytest.approx(expected, rel=1e-5)
    metrics = read_eval_metrics(estimator.eval_dir())
    assert list(metrics) == [10]
    assert metrics[10]["loss"] == pytest.approx(float(results["loss"]))


# --------------------------------------------------------------------------------------
# The decision, through the hook protocol
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_steps, stops", [(10, True), (20, True), (30, True), (31, False)])
def test_stop_if_no_decrease(make_estimator, max_steps, stops):
    estimator = make_estimator()
    _write_eval_summaries(estimator.eval_dir(), HISTORY)
    hook = stop_if_no_decrease_hook(estimator, "loss", max_steps, run_every_steps=10)
    # Best loss at step 20; the last evaluation (50) is 30 steps later.
    assert _decides_to_stop(hook) is stops


@pytest.mark.parametrize("max_steps, stops", [(30, True), (31, False)])
def test_stop_if_no_increase(make_estimator, max_steps, stops):
    estimator = make_estimator()
    _write_eval_summaries(estimator.eval_dir(), HISTORY)
    hook = stop_if_no_increase_hook(estimator, "accuracy", max_steps, run_every_steps=10)
    assert _decides_to_stop(hook) is stops


def test_increasing_metric_never_stops_a_decrease_hook_the_other_way_round(make_estimator):
    estimator = make_estimator()
    history = {step: {"loss": 1.0 / step, "accuracy": 1.0 - 1.0 / step} for step in (10, 20, 30)}
    _write_eval_summaries(estimator.eval_dir(), history)
    assert not _decides_to_stop(stop_if_no_decrease_hook(estimator, "loss", 10,
                                                         run_every_steps=1))
    assert not _decides_to_stop(stop_if_no_increase_hook(estimator, "accuracy", 10,
                                                         run_every_steps=1))
    assert _decides_to_stop(stop_if_no_increase_hook(estimator, "loss", 10, run_every_steps=1))
    assert _decides_to_stop(stop_if_no_decrease_hook(estimator, "accuracy", 10,
                                                     run_every_steps=1))


@pytest.mark.parametrize("min_steps, stops", [(0, True), (50, True), (51, False)])
def test_min_steps(make_estimator, min_steps, stops):
    estimator = make_estimator()
    _write_eval_summaries(estimator.eval_dir(), HISTORY)
    hook = stop_if_no_decrease_hook(estimator, "loss", 30, min_steps=min_steps,
                                    run_every_steps=10)
    assert _decides_to_stop(hook) is stops


def test_missing_metric_or_no_evaluations_never_stop(make_estimator):
    estimator = make_estimator()
    assert not _decides_to_stop(stop_if_no_decrease_hook(estimator, "loss", 1, run_every_steps=1))
    _write_eval_summaries(estimator.eval_dir(), HISTORY)
    assert not _decides_to_stop(stop_if_no_decrease_hook(estimator, "auc", 1, run_every_steps=1))


def test_eval_dir_name_selects_the_evaluation(make_estimator):
    estimator = make_estimator()
    _write_eval_summaries(estimator.eval_dir("validation"), HISTORY)
    assert estimator.eval_dir("validation").endswith("eval_validation")
    assert _decides_to_stop(stop_if_no_decrease_hook(
        estimator, "loss", 20, eval_dir_name="validation", run_every_steps=10))
    assert not _decides_to_stop(stop_if_no_decrease_hook(estimator, "loss", 20,
                                                         run_every_steps=10))


def test_the_check_runs_every_n_steps(make_estimator):
    estimator = make_estimator()
    _write_eval_summaries(estimator.eval_dir(), HISTORY)
    hook = stop_if_no_decrease_hook(estimator, "loss", 20, run_every_steps=10)
    context = el.RunContext(mode=el.ModeKeys.TRAIN, model_dir="/unused", global_step=100)
    hook.after_create(context)
    assert hook.next_boundary(100) == 110
    context.global_step = 105
    hook.after_run(context, el.RunValues())
    assert not context.stop_requested  # Not due yet.
    context.global_step = 110
    hook.after_run(context, el.RunValues())
    assert context.stop_requested


def test_the_check_runs_every_n_seconds_by_default(make_estimator):
    estimator = make_estimator()
    _write_eval_summaries(estimator.eval_dir(), HISTORY)
    hook = stop_if_no_decrease_hook(estimator, "loss", 20)  # run_every_secs=60
    assert hook.next_boundary(0) is None
    assert not _decides_to_stop(hook, global_step=1000)  # Less than 60 s since creation.
    hook = stop_if_no_decrease_hook(estimator, "loss", 20, run_every_secs=1e-9)
    assert _decides_to_stop(hook, global_step=1)


# --------------------------------------------------------------------------------------
# The decision, through a real training run
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_steps, final_step", [(20, 5), (1000, 30)])
def test_early_stopping_in_training(make_estimator, max_steps, final_step):
    estimator = make_estimator(steps_per_loop=100)
    _write_eval_summaries(estimator.eval_dir(), HISTORY)
    hook = stop_if_no_decrease_hook(estimator, "loss", max_steps, run_every_steps=5)
    estimator.train(make_input_fn(), hooks=[hook], steps=30)
    # The hook shortens the loops to 5 steps and stops at its first check when the
    # history says so; otherwise training runs all 30 steps.
    assert checkpoint_steps(estimator.model_dir)[-1] == final_step
    np.testing.assert_allclose(estimator.get_variable_value("dense/kernel")[0, 0],
                               reference_run(final_step)["w"], rtol=1e-5)
