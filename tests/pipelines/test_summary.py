"""The terminal summary of `estpipe run`: its Model line reads the evaluator's metrics."""

import json
import types

from components.artifacts.blessing import BLESSING_FILE
from components.artifacts.model import TRAINER_RESULT_FILE
from pipelines.local_run import LocalRunResult, StepTiming
from pipelines.summary import summarize


def _artifact(folder, name, content):
    folder.mkdir()
    (folder / name).write_text(json.dumps(content))
    return types.SimpleNamespace(path=str(folder))


def _result(tmp_path, trainer_metrics, blessing_metrics):
    outputs = {
        "model": _artifact(tmp_path / "model", TRAINER_RESULT_FILE,
                           {"final_step": 200, "train_seconds": 4.0,
                            "metrics": trainer_metrics}),
        "blessing": _artifact(tmp_path / "blessing", BLESSING_FILE,
                              {"blessed": True, "reasons": ["PASSED auc: 0.91 >= 0.7."],
                               "metrics": blessing_metrics}),
    }
    return LocalRunResult(steps=[StepTiming("trainer", 6.0, "SUCCESS", {"training": 4.0})],
                          outputs=outputs, log_path="/runs/logs/run.log", seconds=20.0,
                          pipeline_root="/runs")


def test_the_model_line_shows_the_evaluators_metrics_and_one_loss(tmp_path):
    # The pipeline's trainer does not evaluate: its metrics are empty.
    text = summarize(_result(tmp_path, {}, {"auc": 0.91346, "accuracy": 0.859375,
                                            "log_loss": 0.3563, "loss": 0.3563,
                                            "average_loss": 0.3563, "example_count": 64}))
    model = next(line for line in text.splitlines() if line.startswith("Model:"))
    assert model == ("Model: trained to step 200 (4.0s of training); eval split: auc 0.9135, "
                     "accuracy 0.8594, log_loss 0.3563")
    assert "the run took 5.0x its training time (20.0s for 4.0s of training)" in text
    assert "Evaluator: BLESSED" in text


def test_without_a_verdict_the_model_line_falls_back_to_the_trainers_metrics(tmp_path):
    result = _result(tmp_path, {"auc": 0.9, "loss": 0.4}, {})
    result.outputs.pop("blessing")
    model = next(line for line in summarize(result).splitlines() if line.startswith("Model:"))
    assert model.endswith("eval split: auc 0.9000, loss 0.4000")
