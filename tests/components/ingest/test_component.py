"""The KFP component: it compiles, checks arguments when the pipeline is defined, and runs."""

# No `from __future__ import annotations`: KFP reads the pipelines' annotations as types.

import collections
import dataclasses
import html.parser
import json

import pytest
import yaml
from kfp import compiler, dsl

from components.ingest import IngestConfig, IngestSettings
from components.ingest.component import ingest, ingest_component
from tests.components.ingest.conftest import GOLDEN_SCHEMA, TAXI_CSV


@dsl.pipeline(name="taxi-ingest")
def _two_spans(data: str = "gs://bucket/taxi/span-{SPAN}/*.csv", span: int = 2):
    first = ingest(input_pattern=data, span=1, settings=IngestSettings(label_column="tips"))
    ingest(input_pattern=data, span=span,
           settings=IngestSettings(label_column="tips", splits={"train": 9, "eval": 1},
                                   beam_pipeline_args=("--direct_num_workers=2",)),
           input_schema=first.outputs["schema"],
           baseline_statistics=first.outputs["statistics"])


def test_pipeline_compiles_to_ir_yaml(tmp_path):
    path = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(_two_spans, str(path))
    spec = yaml.safe_load(path.read_text())
    component = spec["components"]["comp-ingest-component"]
    inputs = component["inputDefinitions"]
    assert inputs["parameters"]["input_pattern"]["parameterType"] == "STRING"
    assert inputs["parameters"]["settings"]["parameterType"] == "STRUCT"
    assert inputs["parameters"]["span"]["defaultValue"] == -1
    assert set(inputs["artifacts"]) == {"input_schema", "baseline_statistics"}
    outputs = component["outputDefinitions"]["artifacts"]
    assert {name: o["artifactType"]["schemaTitle"] for name, o in outputs.items()} == {
        "examples": "system.Dataset", "schema": "system.Artifact",
        "statistics": "system.Artifact", "statistics_html": "system.HTML",
        "anomalies": "system.Artifact", "metrics": "system.Metrics"}
    executor = spec["deploymentSpec"]["executors"]["exec-ingest-component"]["container"]
    assert executor["image"] == "estimator-pipelines:0.1.0"
    second = spec["root"]["dag"]["tasks"]["ingest-component-2"]["inputs"]
    settings = second["parameters"]["settings"]["runtimeValue"]["constant"]
    assert settings["splits"] == {"train": 9.0, "eval": 1.0}
    assert IngestSettings.from_json(settings).beam_pipeline_args == ("--direct_num_workers=2",)
    assert second["artifacts"]["input_schema"]["taskOutputArtifact"] == {
        "outputArtifactKey": "schema", "producerTask": "ingest-component"}


@pytest.mark.parametrize("arguments, message", [
    ({"input_pattern": "gs://b/taxi.csv", "span": 3}, r"need a `\{SPAN\}`"),
    ({"input_pattern": 3}, r"`input_pattern` must be a string"),
])
def test_bad_arguments_fail_when_the_pipeline_is_defined(arguments, message):
    with pytest.raises((TypeError, ValueError), match=message):
        @dsl.pipeline(name="bad")
        def _bad():
            ingest(**arguments)


@pytest.mark.parametrize("settings, message", [
    ({"splits": {"train": 0}}, r"must be a positive number"),
    ({"max_bad_row_fraction": 2.0}, r"max_bad_row_fraction"),
    ({"input_format": "avro"}, r"input_format"),
    ({"column_types": {"a": "LONG"}}, r"column_types"),
])
def test_bad_settings_fail_when_made(settings, message):
    with pytest.raises(ValueError, match=message):
        IngestSettings(**settings)


def test_run_time_parameters_are_not_checked_early(tmp_path):
    @dsl.pipeline(name="late")
    def _late(pattern: str = "gs://b/*.csv", span: int = 3):
        ingest(input_pattern=pattern, span=span)
    compiler.Compiler().compile(_late, str(tmp_path / "late.yaml"))


def test_component_settings_and_config_agree():
    # The component carries every setting in `settings`; the config adds where the input
    # is and where the artifacts go.
    inputs = set(ingest_component.component_spec.inputs)
    assert inputs == {"input_pattern", "settings", "span", "span_range", "input_schema",
                      "baseline_statistics"}
    fields = {f.name for f in dataclasses.fields(IngestConfig)}
    assert fields - set(IngestSettings.names()) == {
        "input_pattern", "span", "span_range", "input_schema_uri", "baseline_statistics_uri",
        "examples_uri", "schema_uri", "statistics_uri", "anomalies_uri"}


class _TagChecker(html.parser.HTMLParser):
    """Counts tags and checks that every non-void tag is closed in order."""

    _VOID = {"meta", "br", "img", "link", "hr", "input"}

    def __init__(self):
        super().__init__()
        self.open_tags, self.counts = [], collections.Counter()

    def handle_starttag(self, tag, attrs):
        self.counts[tag] += 1
        if tag not in self._VOID:
            self.open_tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open_tags and self.open_tags.pop() == tag, f"unbalanced </{tag}>"


@pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")
def test_runs_locally_with_kfp_local(tmp_path, monkeypatch):
    from kfp import local

    monkeypatch.chdir(tmp_path)
    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=str(tmp_path / "root"))
    subset = tmp_path / "taxi.csv"
    with open(TAXI_CSV) as f:
        subset.write_text("".join(f.readline() for _ in range(501)))
    task = ingest_component(input_pattern=str(subset), settings={
        "label_column": "tips", "splits": {"train": 4.0, "eval": 1.0}})
    examples = task.outputs["examples"]
    with open(f"{examples.path}/ingest_result.json") as f:
        result = json.load(f)
    assert sum(result["splits"].values()) == 500
    assert examples.metadata["bad_rows"] == 0
    assert task.outputs["anomalies"].metadata["num_anomalies"] == 0
    # The UI's page: one HTML file at the artifact's path, with both splits' tables.
    page_path = task.outputs["statistics_html"].path
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    parser = _TagChecker()
    parser.feed(page)
    assert parser.open_tags == [] and parser.counts["table"] == 4  # numeric + string, x2
    assert page.count("<h2 id='split-") == 2
    assert page.count("<div class='scroll'><table>") == 4  # a wide table scrolls in its box
    for split, count in result["splits"].items():
        assert f"<h2 id='split-{split}'>Split {split}</h2><p>{count:,} examples" in page
    assert ">trip_miles<" in page and "Credit Card" in page
    assert GOLDEN_SCHEMA.exists()
