"""Configuration and thresholds: bad values fail at construction, naming the problem."""

import pytest

from components.evaluator import EvaluatorConfig, MetricThreshold, parse_thresholds

URIS = dict(model_dir="/m", examples_uri="/e", transformed_examples_uri="/t",
            transform_graph_uri="/g", evaluation_uri="/out/evaluation",
            blessing_uri="/out/blessing")


def test_the_pipeline_yaml_shape_parses():
    thresholds = parse_thresholds({"auc": {"lower_bound": 0.7, "max_decrease": 0.01},
                                   "log_loss": {"upper_bound": 0.6, "max_increase": 0.05}})
    assert thresholds["auc"] == MetricThreshold(metric="auc", lower_bound=0.7,
                                                max_decrease=0.01)
    assert thresholds["log_loss"].to_json() == {"upper_bound": 0.6, "max_increase": 0.05}
    assert thresholds["auc"].has_change_bounds
    config = EvaluatorConfig(**URIS, thresholds={"auc": {"lower_bound": 1}},
                             slices=["payment_type"])
    assert config.thresholds["auc"].lower_bound == 1.0 and config.slices == ("payment_type",)
    assert config.metrics_log_uri == "/out/evaluation/metrics.jsonl"
    assert config.resolved_report_uri == "/out/evaluation/report.html"
    assert parse_thresholds(None) == {} and EvaluatorConfig(**URIS).thresholds == {}


@pytest.mark.parametrize("thresholds, error, match", [
    ({"aucc": {"lower_bound": 0.7}}, ValueError, r"Unknown metric 'aucc'.*'auc'"),
    ({"los": {"upper_bound": 0.7}}, ValueError, r"Unknown metric 'los'.*\`log_loss\`"),
    ({"auc": {"lower": 0.7}}, ValueError, r"Unknown keys \['lower'\] in `thresholds.auc`"),
    ({"auc": {}}, ValueError, "sets no bound"),
    ({"auc": 0.7}, TypeError, r"`thresholds.auc` must be a mapping of bounds"),
    ({"auc": {"lower_bound": "0.7"}}, TypeError, "must be a number"),
    ({"auc": {"lower_bound": float("nan")}}, ValueError, "must be finite"),
    ({"auc": {"max_decrease": -0.01}}, ValueError, "must be >= 0"),
    ({"auc": {"lower_bound": 0.8, "upper_bound": 0.7}}, ValueError, "no value passes"),
    ([("auc", 0.7)], TypeError, "must be a mapping of metric names"),
])
def test_bad_thresholds_are_refused_with_the_reason(thresholds, error, match):
    with pytest.raises(error, match=match):
        EvaluatorConfig(**URIS, thresholds=thresholds)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(model_dir=""), TypeError, "`model_dir` must be a non-empty string"),
    (dict(serving_base_uri="/srv"), ValueError, "Give both `serving_base_uri` and"),
    (dict(model_name="taxi"), ValueError, "Give both"),
    (dict(serving_base_uri="/srv", model_name="../x"), ValueError,
     "`model_name`: Invalid model name '../x'"),
    (dict(serving_base_uri="/srv", model_name="taxi", baseline_model_uri="/b"), ValueError,
     "at most one baseline"),
    (dict(slices="payment_type"), TypeError, "`slices` must be a list"),
    (dict(slices=["a", "a"]), ValueError, "repeats a key"),
    (dict(slices=[""]), ValueError, "non-empty strings"),
    (dict(eval_steps=0), ValueError, "`eval_steps` must be >= 1"),
    (dict(eval_batch_size=1.5), TypeError, "`eval_batch_size` must be an integer"),
    (dict(timeout_seconds=0), ValueError, "`timeout_seconds`"),
    (dict(poll_seconds=True), ValueError, "`poll_seconds`"),
    (dict(eval_split="a/b"), ValueError, "`eval_split`"),
])
def test_bad_fields_are_refused_with_their_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        EvaluatorConfig(**{**URIS, **kwargs})
