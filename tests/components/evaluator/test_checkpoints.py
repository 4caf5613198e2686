"""The checkpoint watcher on tiny real checkpoints (a global step, nothing else)."""

import os
import shutil
import threading
import time

import pytest
import tensorflow as tf

from components.evaluator.checkpoints import CheckpointWatcher, list_checkpoints
from estimator_lib import training_status


def _save(model_dir: str, step: int) -> str:
    checkpoint = tf.train.Checkpoint(global_step=tf.Variable(step, dtype=tf.int64))
    manager = tf.train.CheckpointManager(checkpoint, model_dir, max_to_keep=None,
                                         checkpoint_name="model.ckpt")
    return manager.save(checkpoint_number=step)


def test_lists_complete_checkpoints_by_step_and_skips_deleted_ones(tmp_path):
    model_dir = str(tmp_path)
    assert list_checkpoints(model_dir) == [] and list_checkpoints(str(tmp_path / "no")) == []
    for step in (0, 50, 100):
        _save(model_dir, step)
    assert [c.step for c in list_checkpoints(model_dir)] == [0, 50, 100]
    for name in os.listdir(model_dir):  # retention deleted step 50 after the listing
        if name.startswith("model.ckpt-50."):
            os.remove(os.path.join(model_dir, name))
    assert [c.step for c in list_checkpoints(model_dir)] == [0, 100]


def test_a_copied_model_dir_resolves_paths_inside_itself(tmp_path):
    _save(str(tmp_path / "a"), 7)
    state = open(tmp_path / "a" / "checkpoint").read()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "a")
    with open(tmp_path / "b" / "checkpoint", "w") as f:  # absolute paths to the old place
        f.write(state.replace('"model.ckpt', f'"{tmp_path / "a"}/model.ckpt'))
    (checkpoint,) = list_checkpoints(str(tmp_path / "b"))
    assert checkpoint.path == str(tmp_path / "b" / "model.ckpt-7")


def test_yields_each_checkpoint_once_as_it_appears_then_stops_on_the_done_mark(tmp_path):
    model_dir = str(tmp_path / "model_dir")
    seen = []

    def trainer():
        for step in (10, 20, 30):
            _save(model_dir, step)
            while step not in [c.step for c in seen]:
                time.sleep(0.01)
        _save(model_dir, 40)  # two before the watcher looks again: both are yielded
        _save(model_dir, 50)
        training_status.mark_training_done(model_dir, 50, os.path.join(model_dir,
                                                                       "model.ckpt-50"))

    thread = threading.Thread(target=trainer)
    thread.start()
    for checkpoint in CheckpointWatcher(model_dir, poll_seconds=0.02, timeout_seconds=30):
        seen.append(checkpoint)
        time.sleep(0.05)
    thread.join()
    assert [c.step for c in seen] == [10, 20, 30, 40, 50]


def test_skip_steps_resume_and_an_early_done_mark_with_no_final_checkpoint(tmp_path):
    model_dir = str(tmp_path)
    for step in (0, 5):
        _save(model_dir, step)
    training_status.mark_training_done(model_dir, 5, None)
    assert [c.step for c in CheckpointWatcher(model_dir, skip_steps={0})] == [5]
    assert list(CheckpointWatcher(model_dir, skip_steps={0, 5})) == []
    training_status.mark_training_done(model_dir, 9, "model.ckpt-9")
    with pytest.raises(RuntimeError, match=r"marked done at step 9.*listed steps: \[0, 5\]"):
        list(CheckpointWatcher(model_dir, poll_seconds=0.01))


def test_times_out_when_nothing_new_comes(tmp_path):
    _save(str(tmp_path), 3)
    watcher = CheckpointWatcher(str(tmp_path), poll_seconds=0.05, timeout_seconds=0.3)
    seen = []
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"No new checkpoint .* steps handled: \[3\]"):
        for checkpoint in watcher:
            seen.append(checkpoint.step)
    assert seen == [3] and 0.3 <= time.monotonic() - start < 5
