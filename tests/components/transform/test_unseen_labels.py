"""A class label of the eval split that the training split never had is counted by name by
the transform step (its result, its result file and its log), right after it runs."""

import json
import logging
import os

import pytest

from components.artifacts import transform_graph
from components.transform.counts import unseen_labels
from components.transform.executor import count_labels
from tests.components.transform.conftest import _run
from tests.components.transform.taxi_inputs import load_frame, split_frame, write_inputs

SPEC = """\
label: payment_type
features:
  - {name: fare, transform: z_score}
  - {name: payment_type, transform: vocabulary}
"""


class _Lines(logging.Handler):
    """Keeps the messages logged to it."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def unseen_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("unseen_labels"))
    frame = load_frame(400)
    eval_rows = frame.index[frame["row_id"] % 5 == 0]  # the eval split of `write_inputs`
    frame.loc[eval_rows[:7], "payment_type"] = "Bitcoin"
    frame.loc[eval_rows[7:9], "payment_type"] = "IOU"
    inputs = write_inputs(os.path.join(root, "ingest"), frame)
    spec_file = os.path.join(root, "spec.yaml")
    with open(spec_file, "w") as f:
        f.write(SPEC)
    logger, lines = logging.getLogger("components.transform.executor"), _Lines()
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        run = _run(inputs, root, spec_file=spec_file)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
    return run, frame, "\n".join(lines.lines)


def _expected(frame):
    train, eval_ = split_frame(frame)
    classes = set(train["payment_type"])
    counts = eval_["payment_type"].value_counts()
    return {label: int(n) for label, n in sorted(counts.items()) if label not in classes}


def test_unseen_eval_labels_are_counted_by_name(unseen_run):
    run, frame, _ = unseen_run
    expected = _expected(frame)
    assert expected["Bitcoin"] == 7 and expected["IOU"] == 2
    assert dict(run.result.unseen_labels) == {"eval": expected}
    # The rows stay in the transformed eval split: the trainer and evaluator leave them out.
    assert run.result.rows["eval"] == len(split_frame(frame)[1])


def test_the_result_file_and_the_log_name_them(unseen_run):
    run, frame, log = unseen_run
    path = os.path.join(run.config.transformed_examples_uri, transform_graph.RESULT_FILE)
    with open(path) as f:
        written = json.load(f)
    assert written["splits"]["eval"]["unseen_labels"] == _expected(frame)
    assert "unseen_labels" not in written["splits"]["train"]  # the analyzed split: its classes
    total = sum(_expected(frame).values())
    assert f"{total} rows of split 'eval' have labels that the analyzed split(s) ['train']" in log
    assert "'Bitcoin': 7" in log and "'IOU': 2" in log


def test_counting_from_the_files_agrees(unseen_run):
    """A runner without metrics counts the labels in the written shards instead."""
    run, frame, _ = unseen_run
    counted = count_labels(run.split_files("eval"), "payment_type")
    assert counted == split_frame(frame)[1]["payment_type"].value_counts().to_dict()
    classes = run.tft_output.vocabulary_by_name("payment_type")
    assert unseen_labels(counted, [c.decode() for c in classes]) == _expected(frame)


def test_a_label_that_is_not_a_class_label_is_not_counted(spec_run):
    assert dict(spec_run.result.unseen_labels) == {}
