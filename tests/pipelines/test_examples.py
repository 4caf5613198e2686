"""The bundled example pipelines beside taxi, end to end as a new user runs them (slow).

Penguins (multiclass; the species by name; R-style "NA" cells) and Seattle weather
(regression): `estpipe run` ingests, transforms, trains, evaluates with thresholds and
pushes; the local model server then answers TF Serving's gRPC and REST clients in the user's
own terms: species names, degrees C.
"""

import glob
import json
import os
import urllib.request

import pytest

from components.ingest import DEFAULT_MISSING_VALUES
from pipelines import cli
from serving import ModelConfig, ModelServer, ServerOptions, ServingClient, csv_examples
from tests.pipelines.conftest import EXAMPLES, write_example_config

SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


def _run(example: str, tmp_path, capsys) -> tuple[str, str]:
    path, raw = write_example_config(example, tmp_path)
    assert cli.main(["run", path]) == 0
    report = capsys.readouterr().out
    assert "Evaluator: BLESSED" in report, report
    schema = glob.glob(str(tmp_path / "runs" / "*" / "ingest-component" / "schema" /
                           "schema.pbtxt"))[0]
    return str(tmp_path / "serving" / raw["serving"]["model_name"]), schema


def _rest(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_penguins_species_are_served_back_by_name(tmp_path, capsys):
    base, schema = _run("penguins", tmp_path, capsys)
    data = os.path.join(EXAMPLES, "penguins", "data", "penguins.csv")
    rows = csv_examples(data, schema, missing_values=DEFAULT_MISSING_VALUES,
                        leave_out=("species",))
    with open(data) as f:
        species = [line.split(",")[0] for line in f.readlines()[1:]]
    picks = [0, 160, 300]  # an Adelie, a Gentoo and a Chinstrap of the file
    assert [species[i] for i in picks] == ["Adelie", "Gentoo", "Chinstrap"]
    options = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0)
    with ModelServer([ModelConfig("penguins", base)], options=options) as server:
        with ServingClient(server.grpc_address) as client:
            answers = client.classify("penguins", [rows[i] for i in picks])
        rest = _rest(f"{server.rest_url}/v1/models/penguins:classify",
                     {"examples": [rows[i] for i in picks]})["result"]
    for answer in (answers, [[(name, score) for name, score in item] for item in rest]):
        for item, expected in zip(answer, [species[i] for i in picks], strict=True):
            assert {name for name, _ in item} == SPECIES  # three classes, no phantom fourth
            assert max(item, key=lambda pair: pair[1])[0] == expected
            assert sum(score for _, score in item) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_seattle_weather_highs_are_served_in_degrees(tmp_path, capsys):
    base, schema = _run("seattle_weather", tmp_path, capsys)
    data = os.path.join(EXAMPLES, "seattle_weather", "data", "seattle-weather.csv")
    rows = csv_examples(data, schema, num_examples=60, leave_out=("temp_max",))
    with open(data) as f:
        highs = [float(line.split(",")[2]) for line in f.readlines()[1:61]]
    options = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0)
    with ModelServer([ModelConfig("seattle_weather", base)], options=options) as server:
        with ServingClient(server.grpc_address) as client:
            grpc_values = client.regress("seattle_weather", rows)
        rest = _rest(f"{server.rest_url}/v1/models/seattle_weather:regress",
                     {"examples": rows})["result"]
    assert rest == pytest.approx(grpc_values, rel=1e-5)
    assert all(-15.0 < value < 45.0 for value in grpc_values)  # degrees C, Seattle
    errors = [abs(value - high) for value, high in zip(grpc_values, highs, strict=True)]
    assert sum(errors) / len(errors) < 5.0  # within a few degrees of the day's real high
