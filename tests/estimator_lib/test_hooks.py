"""Tests for estimator_lib.hooks: every hook driven by a real `Estimator.train`.

The model is the conftest's `w * x + b` regression (zero-initialized Dense(1), SGD), so
the losses, predictions and weights the hooks see are checked against a numpy replay of
the same steps (`reference_run`).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import time

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.early_stopping import read_eval_metrics

from .conftest import (
    BATCH_SIZE,
    LEARNING_RATE,
    X,
    Y,
    checkpoint_global_step,
    checkpoint_steps,
    make_input_fn,
    reference_run,
)

pytestmark = pytest.mark.usefixtures("no_tf_config")


class Recorder(el.Hook):
    """Records every call as a tuple in `events` (shared between recorders if given)."""

    def __init__(self, name="hook", events=None, fetches=None):
        self.name = name
        self.events = [] if events is None else events
        self.fetches = fetches
        self.results = []  # (global_step, run_values.results) per after_run

    def begin(self):
        self.events.append((self.name, "begin"))

    def after_create(self, run_context):
        self.events.append((self.name, "after_create", run_context.global_step))

    def before_run(self, run_context):
        self.events.append((self.name, "before_run", run_context.global_step,
                            run_context.loop_steps))
        fetches = self.fetches(run_context) if callable(self.fetches) else self.fetches
        return None if fetches is None else el.RunArgs(fetches)

    def after_run(self, run_context, run_values):
        self.events.append((self.name, "after_run", run_context.global_step,
                            run_context.loop_steps))
        self.results.append((run_context.global_step, run_values.results))

    def end(self, run_context):
        self.events.append((self.name, "end", run_context.global_step))

    def calls(self, kind):
        return [e[2:] for e in self.events if e[1] == kind]


def _kernel(estimator):
    return float(np.asarray(estimator.get_variable_value("dense/kernel")).ravel()[0])


# --------------------------------------------------------------------------------------
# StopAtStepHook, steps and max_steps
# --------------------------------------------------------------------------------------


def test_stop_at_step_num_steps_is_incremental_and_exact(make_estimator):
    estimator = make_estimator(steps_per_loop=4)
    recorder = Recorder()
    estimator.train(make_input_fn(), hooks=[el.StopAtStepHook(num_steps=7), recorder])
    # Loops are shortened so the hook gets control exactly at step 7.
    assert [s for s, _ in recorder.calls("after_run")] == [4, 7]
    assert checkpoint_global_step(estimator.latest_checkpoint()) == 7

    estimator.train(make_input_fn(), hooks=[el.StopAtStepHook(num_steps=6)])
    assert estimator.latest_checkpoint().endswith("model.ckpt-13")
    assert checkpoint_global_step(estimator.latest_checkpoint()) == 13
    # The second call restored step 7 and restarted the input at batch 0.
    np.testing.assert_allclose(_kernel(estimator), _replay_two_runs(7, 6)["w"], rtol=1e-5)
    assert _kernel(estimator) != pytest.approx(reference_run(13)["w"], rel=1e-3)


def _replay_two_runs(first_steps, second_steps):
    """Reference weights after two train() calls (each restarts the input at batch 0)."""
    x, y = X[:, 0].astype(np.float64), Y[:, 0].astype(np.float64)
    w = b = 0.0
    for steps in (first_steps, second_steps):
        for step in range(steps):
            start = (step % (len(x) // BATCH_SIZE)) * BATCH_SIZE
            xb, yb = x[start:start + BATCH_SIZE], y[start:start + BATCH_SIZE]
            error = w * xb + b - yb
            w, b = (w - LEARNING_RATE * np.mean(2 * error * xb),
                    b - LEARNING_RATE * np.mean(2 * error))
    return {"w": w, "b": b}


def test_stop_at_step_last_step_is_absolute(make_estimator):
    estimator = make_estimator(steps_per_loop=10)
    recorder = Recorder()
    estimator.train(make_input_fn(), hooks=[el.StopAtStepHook(last_step=13), recorder])
    assert [s for s, _ in recorder.calls("after_run")] == [10, 13]
    assert checkpoint_steps(estimator.model_dir)[-1] == 13

    # Already at (or past) last_step: no loop runs, the step and checkpoint stay.
    for last_step in (13, 5):
        recorder = Recorder()
        estimator.train(make_input_fn(), hooks=[el.StopAtStepHook(last_step=last_step), recorder])
        assert recorder.calls("before_run") == []
        assert recorder.calls("end") == [(13,)]
    assert checkpoint_steps(estimator.model_dir)[-1] == 13


def test_stop_at_step_num_steps_zero_trains_nothing(make_estimator):
    estimator = make_estimator()
    recorder = Recorder()
    estimator.train(make_input_fn(), hooks=[el.StopAtStepHook(num_steps=0), recorder])
    assert recorder.calls("after_run") == []
    assert checkpoint_steps(estimator.model_dir) == [0]
    assert _kernel(estimator) == 0.0


def test_train_steps_and_max_steps(make_estimator):
    estimator = make_estimator(steps_per_loop=5)
    estimator.train(make_input_fn(), max_steps=12)
    assert checkpoint_global_step(estimator.latest_checkpoint()) == 12
    recorder = Recorder()
    estimator.train(make_input_fn(), max_steps=5, hooks=[recorder])  # Already past: skipped.
    assert recorder.events == []
    estimator.train(make_input_fn(), steps=3)
    assert checkpoint_global_step(estimator.latest_checkpoint()) == 15
    np.testing.assert_allclose(_kernel(estimator), _replay_two_runs(12, 3)["w"], rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one of `num_steps` and `last_step`"),
        ({"num_steps": 3, "last_step": 5}, "exactly one of `num_steps` and `last_step`"),
        ({"num_steps": -1}, r"`num_steps` \(-1\) must be >= 0"),
    ],
)
def test_stop_at_step_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        el.StopAtStepHook(**kwargs)


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"max_steps": -3}, {"steps": 2, "max_steps": 4},
                                    {"steps": 1.5}])
def test_train_rejects_bad_steps(make_estimator, kwargs):
    with pytest.raises(ValueError, match="steps"):
        make_estimator().train(make_input_fn(), **kwargs)


# --------------------------------------------------------------------------------------
# The paper's TimeBasedStopHook, written against el.Hook
# --------------------------------------------------------------------------------------


class TimeBasedStopHook(el.Hook):
    """The paper's example hook: stop training after a time budget."""

    def __init__(self, budget_secs):
        self.budget_secs = budget_secs
        self.last_seen_step = None

    def begin(self):
        self._start_time = time.time()

    def after_run(self, run_context, run_values):
        self.last_seen_step = run_context.global_step
        if time.time() - self._start_time >= self.budget_secs:
            run_context.request_stop()


def test_time_based_stop_hook_stops_an_infinite_run(make_estimator):
    estimator = make_estimator(steps_per_loop=10)
    hook = TimeBasedStopHook(budget_secs=0.05)
    start = time.time()
    estimator.train(make_input_fn(repeat=True), hooks=[hook])  # No steps: input never ends.
    assert time.time() - start < 30
    # Building and tracing the model alone takes longer than the budget, so the hook stops
    # the run after its first loop.
    assert hook.last_seen_step == 10
    latest = estimator.latest_checkpoint()
    assert latest.endswith("model.ckpt-10")
    assert checkpoint_global_step(latest) == hook.last_seen_step
    np.testing.assert_allclose(_kernel(estimator), reference_run(10)["w"], rtol=1e-5)


# --------------------------------------------------------------------------------------
# Hook protocol: order, counts, steps per loop
# --------------------------------------------------------------------------------------


def test_hook_call_order_and_loop_boundaries(make_estimator):
    events = []
    first, second = Recorder("a", events), Recorder("b", events)
    estimator = make_estimator(steps_per_loop=10)
    estimator.train(make_input_fn(), hooks=[first, second], steps=35)

    assert [e[:2] for e in events[:4]] == [("a", "begin"), ("b", "begin"),
                                          ("a", "after_create"), ("b", "after_create")]
    assert events[2][2] == events[3][2] == 0
    loops = [(0, 10, 10), (10, 10, 20), (20, 10, 30), (30, 5, 35)]
    expected_loops = []
    for start, size, end in loops:
        expected_loops += [("a", "before_run", start, size), ("b", "before_run", start, size),
                           ("a", "after_run", end, size), ("b", "after_run", end, size)]
    assert events[4:-2] == expected_loops
    assert events[-2:] == [("a", "end", 35), ("b", "end", 35)]
    counts = {kind: sum(1 for e in events if e[:2] == ("a", kind))
              for kind in ("begin", "after_create", "before_run", "after_run", "end")}
    assert counts == {"begin": 1, "after_create": 1, "before_run": 4, "after_run": 4, "end": 1}


def test_hooks_from_the_estimator_spec_run_too(make_estimator):
    spec_hook = Recorder("spec")
    estimator = make_estimator(steps_per_loop=10, params={"training_hooks": [spec_hook]})
    estimator.train(make_input_fn(), steps=20)
    assert [e[1] for e in spec_hook.events] == [
        "begin", "after_create", "before_run", "after_run", "before_run", "after_run", "end"]
    assert spec_hook.calls("end") == [(20,)]


def test_hooks_must_be_hook_instances(make_estimator):
    with pytest.raises(TypeError, match="el.Hook"):
        make_estimator().train(make_input_fn(), hooks=[object()], steps=1)


def test_input_end_stops_training_and_saves_the_final_step(make_estimator):
    estimator = make_estimator(steps_per_loop=5)
    recorder = Recorder()
    estimator.train(make_input_fn(repeat=False), hooks=[recorder])  # 32 / 4 = 8 batches.
    assert [s for s, _ in recorder.calls("after_run")] == [5, 8]
    assert recorder.calls("end") == [(8,)]
    assert checkpoint_steps(estimator.model_dir) == [0, 8]


def test_loop_steps_in_after_run_is_what_the_loop_ran(make_estimator):
    recorder = Recorder()
    make_estimator(steps_per_loop=5).train(make_input_fn(repeat=False), hooks=[recorder])
    assert recorder.calls("after_run") == [(5, 5), (8, 3)]


# --------------------------------------------------------------------------------------
# Fetching with RunArgs
# --------------------------------------------------------------------------------------


def test_run_args_fetch_loss_step_predictions_and_variables(make_estimator):
    estimator = make_estimator(steps_per_loop=10)
    recorder = Recorder(fetches=lambda context: {
        "loss": "loss",
        "step": "global_step",
        "pred": "pred",
        "nan": "nan_loss",
        "kernel": context.variables["dense/kernel"],
        "as_list": ["global_step", "double"],
    })
    estimator.train(make_input_fn(), hooks=[recorder], steps=25)
    reference = reference_run(25)
    assert [step for step, _ in recorder.results] == [10, 20, 25]
    for step, values in recorder.results:
        assert int(values["step"]) == step
        # Values of the *last* step of the loop (computed before its update).
        np.testing.assert_allclose(values["loss"], reference["losses"][step - 1], rtol=1e-5)
        assert values["pred"].shape == (4, 1)
        np.testing.assert_allclose(values["pred"][:, 0], reference["preds"][step - 1],
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(values["kernel"][0, 0], reference_run(step)["w"], rtol=1e-5)
        assert not values["nan"]
        assert int(values["as_list"][0]) == step
        np.testing.assert_allclose(values["as_list"][1], 2 * values["pred"], rtol=1e-6)
    assert recorder.results[-1][1]["kernel"][0, 0] == pytest.approx(_kernel(estimator))


def test_run_args_single_name_returns_the_bare_value(make_estimator):
    recorder = Recorder(fetches="global_step")
    make_estimator(steps_per_loop=4).train(make_input_fn(), hooks=[recorder], steps=8)
    assert [(s, int(v)) for s, v in recorder.results] == [(4, 4), (8, 8)]


def test_run_args_unknown_name_lists_fetchable_names(make_estimator):
    recorder = Recorder(fetches={"x": "no_such_tensor"})
    with pytest.raises(ValueError, match="no_such_tensor") as error:
        make_estimator().train(make_input_fn(), hooks=[recorder], steps=5)
    message = str(error.value)
    for name in ("loss", "global_step", "nan_loss", "pred", "double"):
        assert repr(name) in message
    assert recorder.calls("after_run") == []


def test_resolve_fetches_rejects_unfetchable_objects():
    with pytest.raises(TypeError, match="Cannot fetch"):
        el.hooks.resolve_fetches(3.5, {"loss": 1.0})
    with pytest.raises(ValueError, match=r"Fetchable names: \['loss'\]"):
        el.hooks.resolve_fetches("nope", {"loss": 1.0})


# --------------------------------------------------------------------------------------
# LoggingTensorHook
# --------------------------------------------------------------------------------------

_LOG_FIELD = re.compile(r"(\w+) = (\S+?)(?:,|$)")


def _logged(caplog):
    """(step, loss) of each LoggingTensorHook line 'loss = ..., step = ...' (any order)."""
    result = []
    for record in caplog.records:
        fields = dict(_LOG_FIELD.findall(record.getMessage()))
        if record.name == "estimator_lib" and set(fields) == {"step", "loss"}:
            result.append((int(fields["step"]), float(fields["loss"])))
    return result


def test_logging_tensor_hook_every_n_iter_and_at_end(make_estimator, caplog):
    caplog.set_level(logging.INFO, logger="estimator_lib")
    hook = el.LoggingTensorHook({"step": "global_step", "loss": "loss"}, every_n_iter=10,
                                at_end=True)
    make_estimator(steps_per_loop=10).train(make_input_fn(), hooks=[hook], steps=35)
    logged = _logged(caplog)
    reference = reference_run(35)
    # Every 10 steps, plus the last loop's values at the end.
    assert [step for step, _ in logged] == [10, 20, 30, 35]
    for step, loss in logged:
        assert loss == pytest.approx(reference["losses"][step - 1], rel=1e-4)


def test_logging_tensor_hook_only_at_end_and_formatter(make_estimator, caplog):
    caplog.set_level(logging.INFO, logger="estimator_lib")
    hook = el.LoggingTensorHook(["global_step"], at_end=True,
                                formatter=lambda values: f"FINAL {int(values['global_step'])}")
    make_estimator(steps_per_loop=10).train(make_input_fn(), hooks=[hook], steps=25)
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("FINAL")] == [
        "FINAL 25"]


def test_default_logging_hooks_follow_log_step_count_steps(make_estimator, caplog):
    caplog.set_level(logging.INFO, logger="estimator_lib")
    estimator = make_estimator(steps_per_loop=100, log_step_count_steps=5)
    estimator.train(make_input_fn(), steps=15)
    assert [step for step, _ in _logged(caplog)] == [5, 10, 15]
    rates = [r for r in caplog.records if r.getMessage().startswith("global_step/sec")]
    assert len(rates) == 3
    events = read_eval_metrics(estimator.model_dir)
    assert sorted(s for s, v in events.items() if "global_step/sec" in v) == [5, 10, 15]


def test_logging_tensor_hook_needs_a_trigger():
    with pytest.raises(ValueError, match="LoggingTensorHook: set exactly one"):
        el.LoggingTensorHook(["loss"])
    with pytest.raises(ValueError, match="must be positive"):
        el.LoggingTensorHook(["loss"], every_n_iter=0)


# --------------------------------------------------------------------------------------
# NanTensorHook
# --------------------------------------------------------------------------------------


def _checkpoint_snapshot(estimator):
    path = estimator.latest_checkpoint()
    return path, {name: np.array(estimator.get_variable_value(name))
                  for name in estimator.get_variable_names()}


def test_nan_loss_raises_and_leaves_the_checkpoint_unchanged(make_estimator):
    estimator = make_estimator(steps_per_loop=10)
    estimator.train(make_input_fn(), steps=3)
    before_path, before_values = _checkpoint_snapshot(estimator)
    files_before = sorted(os.listdir(estimator.model_dir))

    bad_labels = Y.copy()
    bad_labels[13] = np.nan  # Batch 3: the 4th step of the next train() call.
    with pytest.raises(el.NanLossDuringTrainingError, match="global step 13"):
        estimator.train(make_input_fn(y=bad_labels), steps=20)

    after_path, after_values = _checkpoint_snapshot(estimator)
    assert after_path == before_path and after_path.endswith("model.ckpt-3")
    assert after_values.keys() == before_values.keys()
    for name, value in before_values.items():
        np.testing.assert_array_equal(after_values[name], value)
    assert checkpoint_steps(estimator.model_dir) == [0, 3]
    assert [f for f in sorted(os.listdir(estimator.model_dir)) if "ckpt" in f] == [
        f for f in files_before if "ckpt" in f]


def test_nan_loss_in_the_middle_of_a_loop_is_caught(make_estimator):
    # Only the 4th step's loss is infinite and its gradients are finite, so the last step
    # of the loop has a finite loss: the `nan_loss` flag (any step) must still catch it.
    extra = np.zeros_like(X)
    extra[12:16] = np.inf
    estimator = make_estimator(steps_per_loop=10)
    recorder = Recorder(fetches=["loss", "nan_loss"])
    with pytest.raises(el.NanLossDuringTrainingError):
        estimator.train(make_input_fn(extra=extra), hooks=[recorder], steps=10)
    assert recorder.results == []  # NanTensorHook runs first and raised.
    assert checkpoint_steps(estimator.model_dir) == [0]


def test_nan_tensor_hook_without_failing_only_requests_stop(caplog):
    caplog.set_level(logging.ERROR, logger="estimator_lib")
    hook = el.NanTensorHook(fail_on_nan_loss=False)
    context = el.RunContext(mode=el.ModeKeys.TRAIN, model_dir="/tmp/unused", global_step=10)
    assert hook.before_run(context).fetches == {"loss": "loss", "nan_loss": "nan_loss"}
    hook.after_run(context, el.RunValues({"loss": np.float32(1.0), "nan_loss": np.False_}))
    assert not context.stop_requested
    hook.after_run(context, el.RunValues({"loss": np.float32(1.0), "nan_loss": np.True_}))
    assert context.stop_requested
    messages = [r.getMessage() for r in caplog.records if r.name == "estimator_lib"]
    assert messages == ["NaN or infinite loss in the loop that ended at global step 10; "
                        "stopping training."]

    failing = el.NanTensorHook(loss_tensor="my_loss")
    assert failing.before_run(context).fetches == {"loss": "my_loss"}
    with pytest.raises(el.NanLossDuringTrainingError):
        failing.after_run(context, el.RunValues({"loss": np.array([1.0, np.inf])}))


def test_user_nan_hook_without_failing_stops_training(make_estimator):
    bad_labels = Y.copy()
    bad_labels[5] = np.nan
    estimator = make_estimator(steps_per_loop=1)
    estimator.train(make_input_fn(y=bad_labels), steps=10,
                    hooks=[el.NanTensorHook(fail_on_nan_loss=False)])
    # Stopped right after the NaN step (batch 1 = step 2); the run then ends as usual, so
    # its final checkpoint (of the diverged model) is saved, as documented.
    assert checkpoint_steps(estimator.model_dir) == [0, 2]
    assert checkpoint_global_step(estimator.latest_checkpoint()) == 2
    assert np.isnan(_kernel(estimator))


# --------------------------------------------------------------------------------------
# StepCounterHook and SummarySaverHook
# --------------------------------------------------------------------------------------


def test_step_counter_hook_writes_global_step_per_sec(make_estimator, tmp_path):
    output_dir = str(tmp_path / "counter")
    hook = el.StepCounterHook(every_n_steps=10, output_dir=output_dir)
    make_estimator(steps_per_loop=100).train(make_input_fn(), hooks=[hook], steps=35)
    events = read_eval_metrics(output_dir)
    assert sorted(events) == [10, 20, 30]
    for values in events.values():
        assert set(values) == {"global_step/sec"}
        assert values["global_step/sec"] > 0
    assert hook.last_rate == pytest.approx(events[30]["global_step/sec"], rel=1e-5)


def test_summary_saver_hook_writes_fetched_values(make_estimator, tmp_path):
    output_dir = str(tmp_path / "summaries")
    hook = el.SummarySaverHook(save_steps=10, output_dir=output_dir, tensors=("loss", "double"))
    make_estimator(steps_per_loop=100).train(make_input_fn(), hooks=[hook], steps=35)
    events = read_eval_metrics(output_dir)
    reference = reference_run(35)
    assert sorted(events) == [10, 20, 30]
    for step, values in events.items():
        assert values["loss"] == pytest.approx(reference["losses"][step - 1], rel=1e-5)
        assert values["double"] == pytest.approx(2 * np.mean(reference["preds"][step - 1]),
                                                 rel=1e-5)


def test_summary_saver_hook_defaults_to_model_dir(make_estimator):
    estimator = make_estimator(steps_per_loop=10, save_summary_steps=None)
    estimator.train(make_input_fn(), hooks=[el.SummarySaverHook(save_steps=20)], steps=40)
    events = read_eval_metrics(estimator.model_dir)
    reference = reference_run(40)
    # With loops shorter than the interval, the first write is at the end of the first
    # loop, then every 20 steps after it (as the legacy SecondOrStepTimer did).
    assert {s: v["loss"] for s, v in events.items()} == pytest.approx(
        {10: reference["losses"][9], 30: reference["losses"][29]}, rel=1e-5)


@pytest.mark.parametrize("hook_class", [el.SummarySaverHook, el.ProfilerHook])
def test_interval_hooks_need_exactly_one_interval(hook_class):
    with pytest.raises(ValueError, match="set exactly one"):
        hook_class()
    with pytest.raises(ValueError, match="set exactly one"):
        hook_class(save_steps=1, save_secs=1)
    with pytest.raises(ValueError, match="must be positive"):
        hook_class(save_steps=-2)


# --------------------------------------------------------------------------------------
# CheckpointSaverHook, listeners and RunConfig checkpointing
# --------------------------------------------------------------------------------------


def test_checkpoint_saver_hook_save_steps_and_max_to_keep(make_estimator, tmp_path):
    checkpoint_dir = str(tmp_path / "extra_checkpoints")
    hook = el.CheckpointSaverHook(checkpoint_dir, save_steps=7, max_to_keep=3)
    make_estimator(steps_per_loop=100).train(make_input_fn(), hooks=[hook], steps=30)
    # Saved at 0, 7, 14, 21, 28 and the final 30; the 3 newest are kept.
    assert checkpoint_steps(checkpoint_dir) == [21, 28, 30]
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [
        "model.ckpt-21", "model.ckpt-28", "model.ckpt-30"]
    path = os.path.join(checkpoint_dir, "model.ckpt-28")
    assert checkpoint_global_step(path) == 28
    kernel = el.checkpoint.load_variable(path, "dense/kernel")
    np.testing.assert_allclose(kernel[0, 0], reference_run(28)["w"], rtol=1e-5)
    assert hook.last_saved_step == 30


def test_checkpoint_saver_hook_checks_arguments_and_mode(tmp_path):
    with pytest.raises(ValueError, match="CheckpointSaverHook: set exactly one"):
        el.CheckpointSaverHook(str(tmp_path), save_steps=5, save_secs=5)
    with pytest.raises(ValueError, match="must be positive"):
        el.CheckpointSaverHook(str(tmp_path), save_steps=0)
    hook = el.CheckpointSaverHook(str(tmp_path), save_steps=1)
    context = el.RunContext(mode=el.ModeKeys.EVAL, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="only in training"):
        hook.after_create(context)


@pytest.mark.parametrize("steps_per_loop", [1, 100])
def test_run_config_save_checkpoints_steps(make_estimator, steps_per_loop):
    estimator = make_estimator(steps_per_loop=steps_per_loop, save_checkpoints_steps=4,
                               keep_checkpoint_max=None)
    estimator.train(make_input_fn(), steps=10)
    assert checkpoint_steps(estimator.model_dir) == [0, 4, 8, 10]
    for step in (4, 8, 10):
        path = os.path.join(estimator.model_dir, f"model.ckpt-{step}")
        assert checkpoint_global_step(path) == step
        np.testing.assert_allclose(el.checkpoint.load_variable(path, "dense/kernel")[0, 0],
                                   reference_run(step)["w"], rtol=1e-5)
    # Resuming at a multiple keeps the multiples.
    estimator.train(make_input_fn(), steps=6)
    assert checkpoint_steps(estimator.model_dir) == [0, 4, 8, 10, 14, 16]


@pytest.mark.parametrize("keep, expected", [(2, [9, 10]), (0, [0, 3, 6, 9, 10])])
def test_run_config_keep_checkpoint_max(make_estimator, keep, expected):
    estimator = make_estimator(save_checkpoints_steps=3, keep_checkpoint_max=keep)
    estimator.train(make_input_fn(), steps=10)
    assert checkpoint_steps(estimator.model_dir) == expected
    assert estimator.latest_checkpoint().endswith("model.ckpt-10")


def test_run_config_without_checkpoint_triggers_saves_at_start_and_end(make_estimator):
    recorder = Recorder()
    estimator = make_estimator(save_checkpoints_secs=None, steps_per_loop=2)
    assert estimator.config.save_checkpoints_steps is None
    estimator.train(make_input_fn(), steps=5, hooks=[recorder])
    assert [s for s, _ in recorder.calls("after_run")] == [2, 4, 5]
    assert checkpoint_steps(estimator.model_dir) == [0, 5]


class ListenerRecorder(el.CheckpointSaverListener):
    def __init__(self, stop_at=None):
        self.events = []
        self.stop_at = stop_at

    def begin(self):
        self.events.append(("begin",))

    def before_save(self, global_step):
        self.events.append(("before_save", global_step))

    def after_save(self, global_step):
        self.events.append(("after_save", global_step))
        return global_step == self.stop_at

    def end(self, global_step):
        self.events.append(("end", global_step))


def test_checkpoint_saver_listener_calls(make_estimator, tmp_path):
    listener = ListenerRecorder()
    hook = el.CheckpointSaverHook(str(tmp_path / "ckpt"), save_steps=10, listeners=[listener])
    make_estimator(steps_per_loop=100).train(make_input_fn(), hooks=[hook], steps=25)
    assert listener.events == [
        ("begin",),
        ("before_save", 0), ("after_save", 0),
        ("before_save", 10), ("after_save", 10),
        ("before_save", 20), ("after_save", 20),
        ("before_save", 25), ("after_save", 25),
        ("end", 25),
    ]


def test_saving_listeners_of_train(make_estimator):
    listener = ListenerRecorder()
    estimator = make_estimator(save_checkpoints_steps=10)
    estimator.train(make_input_fn(), steps=25, saving_listeners=[listener])
    saves = [e for e in listener.events if e[0] != "begin"]
    assert saves == [("before_save", 0), ("after_save", 0), ("before_save", 10),
                     ("after_save", 10), ("before_save", 20), ("after_save", 20),
                     ("before_save", 25), ("after_save", 25), ("end", 25)]


def test_saving_listeners_of_train_get_begin(make_estimator):
    listener = ListenerRecorder()
    make_estimator(save_checkpoints_steps=10).train(make_input_fn(), steps=5,
                                                    saving_listeners=[listener])
    assert listener.events[0] == ("begin",)


def test_listener_after_save_true_stops_training(make_estimator):
    listener = ListenerRecorder(stop_at=10)
    estimator = make_estimator(steps_per_loop=4, save_checkpoints_steps=5)
    estimator.train(make_input_fn(), steps=100, saving_listeners=[listener])
    assert estimator.latest_checkpoint().endswith("model.ckpt-10")
    assert checkpoint_steps(estimator.model_dir) == [0, 5, 10]
    assert listener.events[-1] == ("end", 10)
    assert ("before_save", 10) in listener.events
    assert sum(1 for e in listener.events if e == ("before_save", 10)) == 1  # Not saved twice.


# --------------------------------------------------------------------------------------
# ProfilerHook
# --------------------------------------------------------------------------------------


def test_profiler_hook_writes_a_profile(make_estimator, tmp_path):
    output_dir = str(tmp_path / "profile_out")
    make_estimator(steps_per_loop=5).train(
        make_input_fn(), hooks=[el.ProfilerHook(save_steps=5, output_dir=output_dir)], steps=5)
    runs = glob.glob(os.path.join(output_dir, "plugins", "profile", "*"))
    assert runs, f"no profile under {output_dir}: {list(os.walk(output_dir))}"
    assert glob.glob(os.path.join(runs[0], "*.xplane.pb"))
