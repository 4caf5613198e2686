"""`estpipe schedule`: argument errors are named before anything runs; a bounded local run."""

import os
import re

import pytest

from pipelines.cli import main
from pipelines.scheduling import ScheduleStore

TAXI_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chicago_taxi",
                           "pipeline.yaml")


@pytest.mark.parametrize("arguments, message", [
    (["--cron", "0 24 * * *", "--local"], "the hour field '24': 24 is out of range 0-23"),
    (["--cron", "0 3 * * *", "--host", "http://kfp", "--max-runs", "2"],
     "--max-runs only applies with --local"),
    (["--cron", "0 3 * * *", "--host", "http://kfp", "--catchup", "none"],
     "--catchup only applies with --local"),
    (["--cron", "0 3 * * *", "--local", "--root", "gs://bucket/runs"],
     "The pipeline root 'gs://bucket/runs' is not a local folder; .* give --state-dir DIR"),
    (["--cron", "0 3 * * *", "--local", "--until", "2030-01-01", "--duration", "1h"],
     "Give --until or --duration, not both"),
    (["--cron", "0 3 * * *", "--local", "--duration", "5 minutes"],
     "--duration '5 minutes' must be a positive duration such as 90s"),
    (["--cron", "0 3 * * *", "--local", "--until", "tomorrow"],
     "--until 'tomorrow' is not an ISO 8601 time"),
    (["--cron", "0 3 * * *", "--local", "--timezone", "Mars/Olympus"],
     "--timezone 'Mars/Olympus' is not a known IANA time zone"),
    (["--cron", "0 3 * * *", "--local", "--max-runs", "0"], r"`max_runs` \(0\) must be"),
    (["--cron", "0 3 * * *", "--local", "--allow-local"],
     "--allow-local only applies with --host"),
])
def test_bad_arguments_exit_2_with_the_reason(arguments, message, capsys):
    assert main(["schedule", TAXI_CONFIG, *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("estpipe schedule: ")
    assert re.search(message, error), error


def test_either_host_or_local_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["schedule", TAXI_CONFIG, "--cron", "0 3 * * *"])
    assert exit_info.value.code == 2
    assert "one of the arguments --host --local is required" in capsys.readouterr().err


def test_a_local_schedule_that_has_ended_starts_no_run_and_says_so(tmp_path, capsys):
    state_dir = tmp_path / "state"
    assert main(["schedule", TAXI_CONFIG, "--cron", "0 3 * * *", "--local", "--state-dir",
                 str(state_dir), "--until", "2000-01-01T00:00"]) == 0
    out = capsys.readouterr().out
    assert "Schedule '0 3 * * *' of 'chicago-taxi' stopped (until): 0 run(s)" in out
    assert str(state_dir / "history.jsonl") in out
    state = ScheduleStore(str(state_dir)).load()
    assert (state.schedule, state.runs, state.active) == ("0 0 3 * * *", 0, None)


@pytest.mark.slow
def test_a_scheduled_local_run_runs_the_real_pipeline_once(tmp_path, capsys):
    """One real tick: `estpipe schedule --local --max-runs 1` runs the pipeline (kfp.local)."""
    import yaml

    example_dir = os.path.dirname(TAXI_CONFIG)
    with open(os.path.join(example_dir, "data", "data.csv")) as f:  # the rows as they are:
        lines = [next(f) for _ in range(3001)]  # pandas would rewrite int columns with gaps as floats
    (tmp_path / "taxi_sample.csv").write_text("".join(lines))
    with open(TAXI_CONFIG) as f:
        raw = yaml.safe_load(f)
    raw["pipeline"]["root"] = str(tmp_path / "runs")
    raw["data"]["input_pattern"] = str(tmp_path / "taxi_sample.csv")
    raw["transform"]["spec"] = os.path.abspath(os.path.join(example_dir, "transform_spec.yaml"))
    raw["model"]["params"] = {"dnn_hidden_units": [16, 8]}
    raw["training"].update(train_steps=100, save_checkpoints_steps=100)
    raw["serving"]["base_dir"] = str(tmp_path / "serving")
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump(raw))

    assert main(["schedule", str(config), "--cron", "*/5 * * * * *", "--local",
                 "--max-runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "stopped (max_runs): 1 run(s), 1 succeeded, 0 failed" in out
    history = ScheduleStore(str(tmp_path / "runs" / "schedules" / "chicago-taxi")).history()
    assert [(r.status.value, r.run) for r in history if r.run] == [("succeeded", 1)]
    assert os.listdir(tmp_path / "serving" / "chicago_taxi")
