"""The JSON-lines metrics log."""

import json

import pytest

from components.evaluator.metrics_log import CheckpointEvaluation, MetricsLog


def test_appends_one_line_per_evaluation_and_reads_them_back(tmp_path):
    log = MetricsLog(str(tmp_path / "evaluation" / "metrics.jsonl"))
    assert log.read() == [] and log.steps() == set()
    for step in (100, 200):
        log.append(CheckpointEvaluation(step=step, checkpoint=f"/m/model.ckpt-{step}",
                                        metrics={"auc": step / 1000}, time=1.0, seconds=0.5))
    lines = (tmp_path / "evaluation" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [100, 200]
    assert json.loads(lines[1]) == {"step": 200, "checkpoint": "/m/model.ckpt-200",
                                    "metrics": {"auc": 0.2}, "time": 1.0, "seconds": 0.5}
    assert log.steps() == {100, 200} and log.read()[0].metrics == {"auc": 0.1}


def test_a_corrupt_line_is_named(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "checkpoint": "c", "metrics": {}, "time": 1}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not a checkpoint evaluation"):
        MetricsLog(str(path)).read()
