"""`estpipe` at the console, run as a user runs it: what the last lines say, and the exit status.

In process (`main([...])` with capsys) where the exit status and stderr are enough; in a
subprocess where what matters is that no traceback reaches the terminal.
"""

import json
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from pipelines import cli, local_run
from pipelines.records import lineage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE_DIR = os.path.join(ROOT, "examples", "chicago_taxi")
TAXI_CONFIG = os.path.join(EXAMPLE_DIR, "pipeline.yaml")
CLUSTER = ["--root", "gs://bucket/runs", "--serving-base", "gs://bucket/serving",
           "--input-pattern", "gs://bucket/data/*.csv"]


def _estpipe(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=ROOT))


def _last_line(text):
    return text.rstrip("\n").splitlines()[-1]


@pytest.fixture
def taxi_config(tmp_path):
    """The taxi pipeline on 200 of its rows, everything under tmp_path; edit with `write`."""
    with open(os.path.join(EXAMPLE_DIR, "data", "data.csv")) as f:
        lines = [next(f) for _ in range(201)]
    (tmp_path / "data.csv").write_text("".join(lines))
    with open(TAXI_CONFIG) as f:
        raw = yaml.safe_load(f)
    raw["pipeline"]["root"] = str(tmp_path / "runs")
    raw["data"]["input_pattern"] = str(tmp_path / "data.csv")
    raw["transform"]["spec"] = os.path.join(EXAMPLE_DIR, "transform_spec.yaml")
    raw["serving"]["base_dir"] = str(tmp_path / "serving")

    def write(edit=lambda raw: None):
        edit(raw)
        path = tmp_path / "pipeline.yaml"
        path.write_text(yaml.safe_dump(raw))
        return str(path)

    return write


# compile and submit: overrides, and no path of this machine in what a cluster gets.

def test_compile_for_a_cluster_holds_no_path_of_this_machine(tmp_path, capsys):
    output = tmp_path / "taxi.yaml"
    saved = os.umask(0o022)
    try:
        assert cli.main(["compile", TAXI_CONFIG, "-o", str(output), *CLUSTER,
                         "--model-name", "taxi_tips", "--train-steps", "5000"]) == 0
    finally:
        os.umask(saved)
    assert _last_line(capsys.readouterr().out) == \
        f"Wrote Kubeflow IR YAML for 'chicago-taxi' to {output}"
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o644  # readable, as files are
    text = output.read_text()
    local = {ROOT, os.path.realpath(ROOT), "/tmp", os.path.expanduser("~"), os.getcwd(),
             str(tmp_path)}
    for path in local:
        assert path not in text, path
    assert not re.search(r"(?<![\w/:])/(work|tmp|home|root|Users)/", text)
    spec = yaml.safe_load(text)
    assert spec["defaultPipelineRoot"] == "gs://bucket/runs"
    defaults = {name: p.get("defaultValue")
                for name, p in spec["root"]["inputDefinitions"]["parameters"].items()}
    assert defaults["input_pattern"] == "gs://bucket/data/*.csv"
    assert defaults["serving_base_uri"] == "gs://bucket/serving"
    assert defaults["model_name"] == "taxi_tips"
    assert defaults["train_steps"] == 5000
    tasks = spec["root"]["dag"]["tasks"]
    constant = lambda task, name: tasks[task]["inputs"]["parameters"][name]["runtimeValue"][  # noqa: E731
        "constant"]
    assert constant("plan-model-dir", "pipeline_root") == "gs://bucket/runs"
    assert constant("record-run", "records") == "gs://bucket/runs/records"


def test_the_span_gate_and_warm_start_steps_hold_no_path_of_this_machine_either(taxi_config,
                                                                               tmp_path):
    def warm(raw):
        raw["training"]["warm_start"] = True

    output = tmp_path / "out" / "taxi.yaml"
    assert cli.main(["compile", taxi_config(warm), "-o", str(output), "--root",
                     "gs://bucket/runs", "--serving-base", "gs://bucket/serving",
                     "--input-pattern", "gs://bucket/data/span-{SPAN}/*.csv"]) == 0
    text = output.read_text()
    assert str(tmp_path) not in text and ROOT not in text and "/tmp/" not in text
    spec = yaml.safe_load(text)
    tasks = spec["root"]["dag"]["tasks"]
    inner = tasks["condition-1"]["componentRef"]["name"]
    gated = spec["components"][inner]["dag"]["tasks"]
    assert tasks["check-new-span"]["inputs"]["parameters"]["pipeline_root"]["runtimeValue"][
        "constant"] == "gs://bucket/runs"
    assert gated["resolve-base-model"]["inputs"]["parameters"]["pipeline_root"][
        "runtimeValue"]["constant"] == "gs://bucket/runs"


def test_compile_refuses_local_paths_for_a_cluster_unless_allowed(tmp_path, capsys):
    output = tmp_path / "taxi.yaml"
    assert cli.main(["compile", TAXI_CONFIG, "-o", str(output), "--root", "gs://bucket/runs"]) \
        == 2
    last = _last_line(capsys.readouterr().err)
    assert last.startswith("estpipe compile: the pipeline would hold paths of this machine, "
                           "which a cluster cannot reach: the serving base '")
    assert "(--serving-base), the input pattern '" in last and "(--input-pattern)" in last
    assert "pipeline root" not in last  # given as gs://
    assert last.endswith("Give object-store URIs (e.g. --root gs://bucket/runs), or "
                         "--allow-local to keep them.")
    assert not output.exists()
    assert cli.main(["compile", TAXI_CONFIG, "-o", str(output), "--allow-local",
                     "--root", "runs/here"]) == 0
    spec = yaml.safe_load(output.read_text())
    assert spec["defaultPipelineRoot"] == os.path.abspath("runs/here")


def test_submit_refuses_local_paths_before_it_reaches_the_endpoint(capsys):
    # A closed port: had submit compiled and called the endpoint, the error would name it.
    assert cli.main(["submit", TAXI_CONFIG, "--host", "http://127.0.0.1:9"]) == 2
    last = _last_line(capsys.readouterr().err)
    assert last.startswith("estpipe submit: the pipeline would hold paths of this machine")
    assert "the pipeline root '" in last


def test_a_bad_image_is_one_line_and_status_2_with_no_traceback():
    done = _estpipe("compile", "--image", "Bad Image", *CLUSTER, "-o", os.devnull + ".yaml")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "estpipe compile: `image` 'Bad Image' is not a container image reference "
        "(e.g. registry.example.com/ml/estimator-pipelines:0.1.0)."]


def test_a_usage_error_is_one_line_and_status_2(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["compile", "--train-steps", "0"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "estpipe compile: --train-steps must be positive, got 0 (see `estpipe compile --help`)"]
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--model-name", "../taxi"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "estpipe run: argument --model-name: Invalid model name '../taxi': use 1 to 128 "
        "letters, digits, '_', '-' or '.', starting with a letter or digit, without '..' "
        "(e.g. 'chicago_taxi'). It names the folder `<serving_base>/<model_name>/` and the "
        "model TF Serving clients ask for. (see `estpipe run --help`)"]
    assert cli.main(["run", os.path.join(ROOT, "no-such.yaml")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"estpipe run: The pipeline config {os.path.join(ROOT, 'no-such.yaml')!r} does not "
        "exist."]


# run: -v after the command, the checks before the run, a failing step's own error.

def test_run_takes_v_after_the_command_too(tmp_path):
    done = _estpipe("run", TAXI_CONFIG, "-v", "--input-pattern", str(tmp_path / "*.csv"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert " DEBUG " in done.stderr  # -v took effect: debug logging
    assert _last_line(done.stderr) == \
        f"estpipe run: The input pattern {str(tmp_path / '*.csv')!r} matches no files."


def test_a_missing_label_or_slice_column_stops_the_run_before_it_starts(taxi_config, tmp_path,
                                                                        capsys):
    def edit(raw):
        raw["data"]["label_column"] = "tip"
        raw["evaluation"]["slices"] = ["trip_start_hour", "hour"]

    assert cli.main(["run", taxi_config(edit)]) == 2
    err = capsys.readouterr().err
    with open(tmp_path / "data.csv") as f:
        columns = f.readline().strip().split(",")
    assert err.splitlines() == [
        f"estpipe run: `data.label_column` 'tip' and `evaluation.slices` 'hour' are not columns "
        f"of {tmp_path / 'data.csv'}; the columns are {columns}."]

    def a_typo_in_column_types(raw):
        raw["data"]["label_column"] = "tips"
        raw["evaluation"]["slices"] = ["trip_start_hour"]
        raw["data"]["column_types"] = {"fares": "float"}

    assert cli.main(["run", taxi_config(a_typo_in_column_types)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"estpipe run: `data.column_types` 'fares' is not a column of {tmp_path / 'data.csv'}; "
        f"the columns are {columns}."]
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_a_step_that_fails_ends_with_its_own_error_then_the_log(taxi_config, tmp_path, capsys,
                                                               monkeypatch):
    # Half the rows lack the label: more than max_bad_row_fraction, so ingest fails (the
    # header has every column: the checks before the run pass).
    lines = (tmp_path / "data.csv").read_text().splitlines()
    rows = [line.rsplit(",", 1)[0] + "," if i % 2 else line for i, line in enumerate(lines[1:])]
    (tmp_path / "data.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    monkeypatch.setattr(local_run, "HEARTBEAT_SECONDS", 0.1)  # in process, ingest fails fast

    assert cli.main(["run", taxi_config(), "--no-cache"]) == 1
    err = capsys.readouterr().err.splitlines()
    logs = list((tmp_path / "runs" / "logs").iterdir())
    assert len(logs) == 1
    assert err[-1] == f"Full log: {logs[0]}"
    cause = err.index("estpipe run: the step 'ingest' failed: BadRowsError: 100 of 200 rows "
                      "(50.00%) are bad, more than `max_bad_row_fraction` (0.01). Top reasons:")
    assert err[cause + 1].startswith("  100 x missing_label in 'tips'")
    assert err[cause + 2].startswith("Every bad row is in the quarantine: ")
    assert len(err) - cause <= 5
    assert err[cause - 1].startswith("[1] ingest FAILURE in ")
    text = "\n".join(err)
    assert "Inner task failed" not in text and "Traceback" not in text
    # The heartbeat counts from the step's start: 0.1 s, 0.2 s, ... (the step takes longer).
    beats = [line.strip() for line in err if "still running" in line]
    assert beats and beats == [f"ingest still running ({n * 0.1:g}s)"
                               for n in range(1, len(beats) + 1)]
    log = logs[0].read_text()
    assert "\x1b[" not in log  # no colour codes
    assert "Task 'ingest-component' finished with status FAILURE" in log


# lineage: a summary to read, the JSON on request.

@pytest.fixture
def recorded(tmp_path):
    """A pushed version 1, a rollback to it as version 3, and the record of the run behind it."""
    from components.pusher.history import HistoryEntry, HistoryEvent, append_history

    root, serving = tmp_path / "runs", tmp_path / "serving"
    model_uri = str(root / "taxi-1" / "trainer-op" / "model")
    record = {
        "run_id": "taxi-1", "finished_at": "2026-12-03T23:16:12+00:00",
        "config": {"name": "chicago-taxi", "digest": "1da5c80c2ee36733"},
        "span": 7, "spans": [7], "examples_uri": str(root / "taxi-1" / "examples"),
        "rows": {"eval": 81, "train": 263}, "model_uri": model_uri, "model_dir": None,
        "final_step": 1500, "warm_started_from": None,
        "metrics": {"accuracy": 0.9753086419753086, "auc": 0.9993869858000292,
                    "example_count": 81.0},
        "blessed": True, "blessing_reasons": ["PASSED auc: 0.9994 >= lower_bound 0.7."],
        "pushed": True, "push_outcome": "pushed", "version": 1,
        "destination": str(serving / "chicago_taxi" / "1"),
    }
    (root / "records" / "runs").mkdir(parents=True)
    (root / "records" / "runs" / "taxi-1.json").write_text(json.dumps(record))
    append_history(str(serving / "chicago_taxi"), [
        HistoryEntry(event=HistoryEvent.PUSH, version=1, fingerprint="a1",
                     time="2026-12-03T23:16:13+00:00", model_uri=model_uri),
        HistoryEntry(event=HistoryEvent.ROLLBACK, version=3, fingerprint="a1",
                     time="2026-12-04T08:00:00+00:00", source_version=1, rolled_back_from=2)])
    return ["--root", str(root), "--serving-base", str(serving)], record


def test_lineage_prints_a_summary_to_read(recorded, capsys):
    flags, record = recorded
    assert cli.main(["lineage", "3", TAXI_CONFIG, *flags]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Version 3 of 'chicago_taxi': a rollback on 2026-12-04T08:00:00+00:00 to version 1 "
        "(from version 2)",
        f"  version 1: pushed on 2026-12-03T23:16:13+00:00 from {record['model_uri']}",
        "Made by run taxi-1 (finished 2026-12-03T23:16:12+00:00)",
        "  config   chicago-taxi (digest 1da5c80c2ee36733)",
        "  data     span 7; rows: eval 81, train 263",
        f"           {record['examples_uri']}",
        f"  model    {record['model_uri']} (trained to step 1500)",
        "  metrics  accuracy 0.9753, auc 0.9994",
        "  verdict  blessed",
        "             PASSED auc: 0.9994 >= lower_bound 0.7.",
        f"  push     pushed: version 1 at {record['destination']}",
    ]


def test_lineage_json_is_the_raw_form_and_an_unknown_version_is_one_line(recorded, tmp_path,
                                                                         capsys):
    flags, record = recorded
    assert cli.main(["lineage", "3", TAXI_CONFIG, *flags, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found == lineage(str(tmp_path / "runs"), str(tmp_path / "serving"), "chicago_taxi", 3)
    assert found["run"] == record
    assert cli.main(["lineage", "9", TAXI_CONFIG, *flags]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"estpipe lineage: No push of version 9 of 'chicago_taxi' is recorded under "
        f"{str(tmp_path / 'serving')!r}; recorded versions: [1, 3]."]
