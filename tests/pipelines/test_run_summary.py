"""The record-run step's Markdown summary, and the stale-verdict check of a cached re-run.

The step's function runs directly on small real artifacts: a blessing written by the
evaluator's writer with the validation's own reasons, push records and a push history
written by the pusher's writers, and version folders in TF Serving's layout.
"""

import json
import os

import pytest
from kfp import dsl

from components.artifacts import evaluation
from components.artifacts.blessing import Blessing, write_blessing
from components.artifacts.examples import INGEST_RESULT_FILE
from components.artifacts.model import TRAINER_RESULT_FILE
from components.artifacts.push import PushOutcome, PushRecord, write_push_record
from components.evaluator.thresholds import parse_thresholds
from components.evaluator.validation import validate
from components.pusher.history import HistoryEntry, HistoryEvent, append_history
from pipelines.record_steps import record_run
from pipelines.run_summary import render_run_summary, served_at_push, stale_verdict

MODEL = "chicago_taxi"
THRESHOLDS = parse_thresholds({"auc": {"lower_bound": 0.7, "max_decrease": 0.01}})
METRICS = {"auc": 0.9481, "accuracy": 0.8712, "example_count": 1960.0}


def _serve(base, *versions):
    """Publishes empty version folders and their history lines (what the pusher leaves)."""
    model_base = os.path.join(base, MODEL)
    for version in versions:
        os.makedirs(os.path.join(model_base, str(version)))
    append_history(model_base, [HistoryEntry(
        event=HistoryEvent.PUSH, version=v, fingerprint=f"f{v}", time="2026-12-03T22:00:00Z",
        model_uri=f"/runs/{v}/model") for v in versions])


def _push_json(base, outcome, version):
    return PushRecord(outcome=outcome, reason=f"outcome {outcome}", model_name=MODEL,
                      serving_base_uri=str(base), model_uri="/runs/1/model", version=version,
                      destination=os.path.join(base, MODEL, str(version))).to_json()


def _artifacts(tmp_path, *, baseline_metrics, no_baseline_reason, push_json, metadata):
    """The record step's four inputs, as the steps leave them."""
    examples = dsl.Dataset(uri=str(tmp_path / "examples"), metadata={"span": 1.0})
    os.makedirs(examples.path)
    with open(os.path.join(examples.path, INGEST_RESULT_FILE), "w") as f:
        json.dump({"span": 1, "spans": [1], "splits": {"train": 13042, "eval": 1960},
                   "bad_rows": 0}, f)
    model = dsl.Model(uri=str(tmp_path / "model"))
    os.makedirs(model.path)
    with open(os.path.join(model.path, TRAINER_RESULT_FILE), "w") as f:
        json.dump({"final_step": 2000, "train_seconds": 41.3, "model_dir": "/m",
                   "metrics": {"loss": 0.31}}, f)
    validation = validate(THRESHOLDS, METRICS, baseline=baseline_metrics,
                          no_baseline_reason=no_baseline_reason)
    blessing = dsl.Artifact(uri=str(tmp_path / "blessing"), metadata=metadata)
    write_blessing(blessing.path, Blessing(blessed=validation.blessed,
                                           reasons=tuple(validation.reasons), metrics=METRICS))
    pushed = dsl.Artifact(uri=str(tmp_path / "pushed_model"))
    os.makedirs(pushed.path)
    write_push_record(pushed.path, PushRecord.from_json(push_json))
    return examples, model, blessing, pushed


def _record(tmp_path, **kwargs):
    examples, model, blessing, pushed = _artifacts(tmp_path, **kwargs)
    summary = dsl.Markdown(uri=str(tmp_path / "record-run" / "summary"))
    record_run.python_func(examples=examples, model=model, blessing=blessing,
                           pushed_model=pushed, summary=summary, records=str(tmp_path / "rec"),
                           run_id="taxi-2", config_name="chicago-taxi", config_digest="d")
    with open(summary.path, encoding="utf-8") as f:
        text = f.read()
    with open(tmp_path / "rec" / "runs" / "taxi-2.json") as f:
        return text, json.load(f)


def test_a_cached_re_run_says_its_no_baseline_verdict_is_stale(tmp_path):
    # Run 1 found nothing served and pushed version 1; run 2 reused run 1's evaluator
    # outputs (metadata included, as kfp's cache keeps it) and its pusher found version 1.
    serving = tmp_path / "serving"
    _serve(serving, 1)
    first_push_reason = f"no version is served under {str(serving / MODEL)!r} yet: the first push"
    text, record = _record(
        tmp_path, baseline_metrics=None, no_baseline_reason=first_push_reason,
        push_json=_push_json(serving, PushOutcome.ALREADY_PUSHED, 1),
        metadata={"baseline_source": evaluation.BASELINE_SERVED,
                  "evaluated_at": "2026-12-03T22:10:04+00:00"})
    note = record["blessing_note"]
    assert note.startswith("The verdict was reached at 2026-12-03T22:10:04+00:00 against no "
                           "baseline (nothing was served), but version 1 was served when")
    lines = text.splitlines()
    stale = lines.index(r"> **Stale verdict:** " + note.replace("_", r"\_"))
    # The stale note comes before the reasons it qualifies, which stay (what was judged).
    assert lines[stale - 2] == "## Evaluator: BLESSED"
    assert lines[stale + 2].startswith(r"- No baseline (no version is served under")
    assert "| pusher | already served as version 1; nothing pushed |" in lines


@pytest.mark.parametrize("served, outcome, pushed_version, judged, stale", [
    ((), PushOutcome.PUSHED, 1, None, False),  # the first push: nothing was served, rightly
    ((1,), PushOutcome.PUSHED, 2, 1, False),  # judged against v1, which was served
    ((1, 2), PushOutcome.PUSHED, 3, 1, True),  # v2 came in between
    ((1,), PushOutcome.NOT_BLESSED, None, 1, False),
    ((1, 2), PushOutcome.NOT_BLESSED, None, 1, True),
    ((1,), PushOutcome.ALREADY_PUSHED, 1, None, True),  # the reported case
])
def test_the_verdict_is_stale_exactly_when_its_baseline_was_not_served_at_push_time(
        tmp_path, served, outcome, pushed_version, judged, stale):
    serving = tmp_path / "serving"
    _serve(serving, *served)
    if outcome is PushOutcome.PUSHED:  # the pusher's own version is published too
        _serve(serving, pushed_version)
    push = _push_json(serving, outcome, pushed_version)
    metadata = {"baseline_source": "served", "evaluated_at": "t"}
    if judged is not None:
        metadata["baseline_version"] = float(judged)  # KFP metadata numbers are floats
    assert (stale_verdict(metadata, push) is not None) == stale
    # Another baseline source, or an old blessing without the metadata: not judged.
    assert stale_verdict({**metadata, "baseline_source": "given"}, push) is None
    assert stale_verdict({}, push) is None


def test_a_pushed_version_does_not_count_as_served_before_it(tmp_path):
    serving = tmp_path / "serving"
    _serve(serving, 1, 2)
    assert served_at_push(_push_json(serving, PushOutcome.PUSHED, 2)) == 1
    assert served_at_push(_push_json(serving, PushOutcome.NOT_BLESSED, None)) == 2
    # A version pruned by this push was still served when the pusher ran: the history says.
    os.rmdir(serving / MODEL / "1")
    assert served_at_push(_push_json(serving, PushOutcome.PUSHED, 2)) == 1


def test_the_summary_of_a_fresh_run_lists_steps_metrics_reasons_and_the_push(tmp_path):
    serving = tmp_path / "serving"
    _serve(serving, 1, 2)
    text, record = _record(
        tmp_path, baseline_metrics={"auc": 0.9470, "accuracy": 0.87},
        no_baseline_reason="", push_json=_push_json(serving, PushOutcome.PUSHED, 2),
        metadata={"baseline_source": "served", "baseline_version": 1.0, "evaluated_at": "t"})
    assert record["blessing_note"] is None and "Stale" not in text
    assert text.startswith("# Run taxi-2\n")
    assert "| ingest | span 1: train 13,042, eval 1,960 rows |" in text
    assert "| trainer | trained to step 2000 in 41.3 s |" in text
    assert "| evaluator | **BLESSED** |" in text
    assert f"| pusher | pushed version 2 to `{serving / MODEL / '2'}` |" in text
    # Metrics: the headline ones first, in the console's order, then the rest.
    metrics = text.split("## Metrics (eval split)")[1].split("##")[0]
    rows = [line for line in metrics.splitlines() if line.startswith("| ")][2:]
    assert rows == ["| auc | 0.9481 |", "| accuracy | 0.8712 |",
                        "| example\\_count | 1,960 |"]
    assert "- PASSED auc: 0.9481 \\>= lower\\_bound 0.7." in text
    assert "- PASSED auc max\\_decrease" in text


def test_markdown_special_characters_in_reasons_are_escaped():
    text = render_run_summary(run_id="r", ingest=None, trainer=None, push=None,
                              blessing={"blessed": False, "reasons": ["a|b *c* <d>"]})
    assert "- a\\|b \\*c\\* \\<d\\>" in text
