"""`estpipe run --warm`: a real worker process, real sockets, the caller's own streams.

The default tests start one worker and send it commands that end quickly (usage and config
errors): the protocol, the caller's stderr and exit status, reuse, status, stop, and the
retiring of an outdated worker. The slow test runs the penguins pipeline through it: an
interrupted run, then two full runs with the same metrics in the same worker.
"""

import glob
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from pipelines import warm_client, warm_worker
from tests.pipelines.conftest import write_example_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STARTING = "Starting a warm worker"


def _estpipe(runtime_dir, *argv, timeout=240):
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env=_env(runtime_dir))


def _env(runtime_dir):
    return dict(os.environ, PYTHONPATH=ROOT, **{warm_client.RUNTIME_DIR_ENV: str(runtime_dir)})


def _sockets(runtime_dir):
    return sorted(glob.glob(os.path.join(runtime_dir, "*.sock")))


def test_key_follows_what_is_read_at_import_time():
    base = {"HOME": "/home/a", "PATH": "/usr/bin"}
    assert warm_client.worker_key(base) == warm_client.worker_key(dict(base, HOME="/home/b"))
    for name in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES", "PYTHONPATH", "OMP_NUM_THREADS"):
        assert warm_client.worker_key(base) != warm_client.worker_key(dict(base, **{name: "1"}))


def test_idle_worker_leaves_and_removes_its_socket(tmp_path):
    path = str(tmp_path / "idle.sock")
    start = time.monotonic()
    warm_worker.serve(path, idle_seconds=0.3)  # imports are done in this test process
    assert time.monotonic() - start < 30
    assert not os.path.exists(path)


def test_commands_reach_the_worker_and_answer_on_the_callers_terminal(tmp_path):
    runtime = tmp_path / "rt"
    runtime.mkdir()
    # A worker of this project and Python under another key (as after a code change).
    outdated = subprocess.Popen(
        [sys.executable, "-m", "pipelines.warm_worker", "--socket", str(runtime / "old.sock")],
        cwd=ROOT, env=_env(runtime), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (runtime / "old.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (runtime / "old.sock").exists()

        first = _estpipe(runtime, "run", "--warm", "--no-such-flag")
        assert first.returncode == 2
        assert STARTING in first.stderr
        assert first.stderr.rstrip().splitlines()[-1] == (
            "estpipe: unrecognized arguments: --no-such-flag (see `estpipe --help`)")
        assert outdated.wait(timeout=30) == 0  # stopped: nobody can use it again
        assert [os.path.basename(p) for p in _sockets(runtime)] == [
            f"{warm_client.worker_key(_env(runtime))}.sock"]

        missing = tmp_path / "missing.yaml"
        second = _estpipe(runtime, "-v", "run", str(missing), "--warm")
        assert second.returncode == 2
        assert STARTING not in second.stderr  # the same worker
        last = second.stderr.rstrip().splitlines()[-1]
        assert last.startswith("estpipe run: ") and str(missing) in last
        assert "Traceback" not in second.stderr

        status = _estpipe(runtime, "warm", "status")
        assert status.returncode == 0
        (line,) = status.stdout.strip().splitlines()
        assert re.fullmatch(r"worker \d+ \(key [0-9a-f]{16}\): 2 run\(s\), idle \d+ s; log .+",
                            line), line
        with open(re.search(r"log (.+)$", line).group(1)) as f:
            log = f.read()
        assert "run 2: estpipe -v run" in log and "run 2 ended with status 2" in log

        stopped = _estpipe(runtime, "warm", "stop")
        assert stopped.stdout.strip() == "Stopped 1 warm worker(s)."
        deadline = time.monotonic() + 30
        while _sockets(runtime) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _sockets(runtime) == []
        assert _estpipe(runtime, "warm").stdout.startswith("No warm worker in ")
    finally:
        if outdated.poll() is None:
            outdated.kill()
        warm_worker_env = _env(runtime)
        subprocess.run([sys.executable, "-m", "pipelines.cli", "warm", "stop"], cwd=ROOT,
                       env=warm_worker_env, capture_output=True, timeout=60)


def _accuracy(stdout):
    return float(re.search(r"eval split: .*?accuracy ([0-9.]+)", stdout).group(1))


@pytest.mark.slow
def test_warm_runs_match_and_a_ctrl_c_stops_only_the_run(tmp_path):
    runtime = tmp_path / "rt"
    runtime.mkdir()
    config, _ = write_example_config("penguins", tmp_path)
    try:
        caller = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", config, "--no-cache", "--warm"],
            cwd=ROOT, env=_env(runtime), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        seen = []
        for line in caller.stderr:  # the run's own progress lines reach the caller
            seen.append(line)
            if re.search(r"\] transform \.\.\.", line):
                break
        caller.send_signal(signal.SIGINT)
        _, stderr = caller.communicate(timeout=120)
        assert caller.returncode == 130, "".join(seen) + stderr
        assert stderr.rstrip().splitlines()[-1] == "estpipe run: interrupted"

        runs = [_estpipe(runtime, "run", config, "--no-cache", "--warm", timeout=600)
                for _ in range(2)]
        for run in runs:
            assert run.returncode == 0, run.stderr[-2000:]
            assert "Evaluator: BLESSED" in run.stdout
            assert STARTING not in run.stderr
        assert _accuracy(runs[0].stdout) == _accuracy(runs[1].stdout)
        (status,) = _estpipe(runtime, "warm", "status").stdout.strip().splitlines()
        assert " 3 run(s)" in status
        log = glob.glob(os.path.join(runtime, "*.log"))[0]
        with open(log) as f:
            assert "run 1 ended with status 130" in f.read()
    finally:
        subprocess.run([sys.executable, "-m", "pipelines.cli", "warm", "stop"], cwd=ROOT,
                       env=_env(runtime), capture_output=True, timeout=120)
