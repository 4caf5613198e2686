"""`estpipe serve`: argument handling in process, and the real command in a subprocess."""

import argparse
import os
import re
import signal
import subprocess
import sys

import pytest

from serving import BatchingOptions, RequestLimits, VersionPolicy
from serving.cli import _batching, _configs, _request_limits, add_serve_command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _parse(*argv):
    parser = argparse.ArgumentParser(prog="estpipe")
    add_serve_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["serve", *argv])


def test_model_base_path_and_name():
    (config,) = _configs(_parse("--model-base-path", "/serving/taxi", "--model-name", "taxi",
                                "--model-version-policy", "latest:2"))
    assert (config.name, config.base_path) == ("taxi", "/serving/taxi")
    assert config.version_policy == VersionPolicy.latest(2)


def test_serving_base_is_the_pushers_layout(tmp_path):
    for name in ("taxi", "toy", "bad name"):
        (tmp_path / name).mkdir()
    configs = _configs(_parse("--serving-base", str(tmp_path)))
    assert [c.name for c in configs] == ["taxi", "toy"]  # "bad name" is skipped.
    (config,) = _configs(_parse("--serving-base", str(tmp_path), "--model-name", "taxi",
                                "--model-version-policy", "specific:3,4"))
    assert config.base_path == str(tmp_path / "taxi")
    assert config.version_policy == VersionPolicy.specific(3, 4)


@pytest.mark.parametrize("argv, match", [
    (["--model-base-path", "/a"], "needs --model-name"),
    (["--model-base-path", "/a", "--model-config-file", "f"], "exactly one of"),
    (["--serving-base", "/s", "--model-name", "../etc"], "Invalid model name"),
    (["--model-config-file", "f", "--model-name", "x"], "go with"),
])
def test_bad_model_arguments(argv, match):
    with pytest.raises(ValueError, match=match):
        _configs(_parse(*argv))


def test_bad_policy_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        _parse("--model-base-path", "/a", "--model-version-policy", "newest")
    assert "use latest[:N], all, or specific:V1,V2" in capsys.readouterr().err


def test_batching_flags(tmp_path):
    assert _batching(_parse("--serving-base", "/s")) is None
    with pytest.raises(ValueError, match="need --enable-batching"):
        _batching(_parse("--serving-base", "/s", "--max-batch-size", "8"))
    params = tmp_path / "batching.txt"
    params.write_text("max_batch_size { value: 16 }\nnum_batch_threads { value: 3 }\n")
    options = _batching(_parse("--serving-base", "/s", "--enable-batching",
                               "--batching-parameters-file", str(params),
                               "--batch-timeout-micros", "500"))
    assert options == BatchingOptions(max_batch_size=16, num_batch_threads=3,
                                      batch_timeout_micros=500)


def test_request_limit_flags():
    assert _request_limits(_parse("--serving-base", "/s")) == RequestLimits()
    limits = _request_limits(_parse("--serving-base", "/s", "--max-request-bytes", "1024",
                                    "--max-request-elements", "10"))
    assert limits == RequestLimits(max_request_bytes=1024, max_request_elements=10)
    with pytest.raises(ValueError, match="must be a positive integer"):
        _request_limits(_parse("--serving-base", "/s", "--max-request-elements", "0"))
    args = _parse("--serving-base", "/s", "--max-num-load-retries", "2",
                  "--load-retry-interval-seconds", "0.5")
    assert (args.max_num_load_retries, args.load_retry_interval_seconds) == (2, 0.5)


@pytest.mark.slow
def test_estpipe_serve_subprocess(toy_base):
    """The installed command serves, answers a client, and stops cleanly on SIGTERM."""
    from serving import ServingClient

    command = [sys.executable, "-c", "from pipelines.cli import main; raise SystemExit(main())",
               "serve", "--model-base-path", str(toy_base), "--model-name", "toy",
               "--port", "0", "--rest-port", "0", "--enable-batching"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()  # Printed once it listens.
        match = re.search(r"gRPC on (\S+?), REST on", line)
        assert match, line + process.stderr.read()
        with ServingClient(match.group(1), timeout_s=20) as client:
            assert client.predict("toy", {"x": [[1, 1, 1]]}, signature_name="single")["y"][0, 0] == 6
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_missing_base_path_is_named_and_the_server_keeps_serving(tmp_path):
    """As TF Serving does: the folder may appear later, so the server starts and says so."""
    missing = tmp_path / "not-pushed-yet" / "taxi"
    command = [sys.executable, "-m", "pipelines.cli", "serve", "--model-base-path",
               str(missing), "--model-name", "taxi", "--port", "0", "--rest-port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        line = process.stdout.readline()  # printed once it listens
        assert line.startswith("Serving ['taxi']: gRPC on "), line + process.stderr.read()
        assert process.poll() is None  # still serving
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        warnings = [w for w in process.stderr.read().splitlines() if "WARNING" in w]
        assert warnings[0].endswith(f"WARNING The base path of model 'taxi', {missing}, does "
                                    "not exist; it is served once versions appear there.")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_missing_serving_base_without_a_model_name_is_one_line(tmp_path, capsys):
    from pipelines.cli import main

    assert main(["serve", "--serving-base", str(tmp_path / "nothing"), "--port", "0"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"estpipe serve: --serving-base {tmp_path / 'nothing'} does not exist; give "
        "--model-name NAME to serve NAME's versions once they appear there."]
