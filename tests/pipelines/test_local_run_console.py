"""What `run_local` shows while it runs: the heartbeat's timing and a failed step's own error.

The end-to-end console behaviour (a real failing run through `estpipe run`) is in
test_cli.py; these pin the timing and the parsing on their own, quickly.
"""

import io
import threading
import time

from pipelines.local_run import StepError, _Progress, _stdout_to, _to_the_terminal

# The end of a real failed ingest step's output in a run log (kfp.local indents the step's
# lines by 4), the frames shortened.
FAILED_INGEST = """\
    [KFP Executor 2026-12-03 23:21:06,645 INFO]: Creating state cache with size 104857600
    Traceback (most recent call last):
      File "<frozen runpy>", line 198, in _run_module_as_main
      File "/venv/lib/python3.11/site-packages/kfp/dsl/executor.py", line 453, in execute
        result = self.func(**func_kwargs)
                 ^^^^^^^^^^^^^^^^^^^^^^^^
      File "/repo/components/ingest/executor.py", line 421, in _publish
        raise _too_many_bad_rows(config, summary, read, bad_lines, data_lines)
    components.ingest.quarantine.BadRowsError: 100 of 200 rows (50.00%) are bad. Top reasons:
      100 x missing_label in 'tips' (e.g. data.csv line 3: the label column 'tips' is missing)
    Every bad row is in the quarantine: /runs/quarantine.
    \n\
23:21:07.860 - ERROR - Task 'ingest-component' finished with status FAILURE
--------------------------------------------------------------------------------
2026-12-03 23:21:07,861 INFO Cleaned up workspace: /tmp/kfp-workspace-uderszql
"""


def _read(text):
    error = StepError()
    for line in text.splitlines():
        error.feed(line)
    return error.message


def test_the_step_error_is_the_exception_line_and_its_message_lines():
    assert _read(FAILED_INGEST) == (
        "BadRowsError: 100 of 200 rows (50.00%) are bad. Top reasons:\n"
        "  100 x missing_label in 'tips' (e.g. data.csv line 3: the label column 'tips' is "
        "missing)\n"
        "Every bad row is in the quarantine: /runs/quarantine.")


def test_a_chained_exception_gives_the_outermost_and_no_traceback_gives_none():
    chained = """\
    Traceback (most recent call last):
      File "a.py", line 1, in f
    KeyError: 'tip'
    \n\
    During handling of the above exception, another exception occurred:
    \n\
    Traceback (most recent call last):
      File "b.py", line 2, in g
    ValueError: `label_column` 'tip' is not a column of the input; the columns are ['tips'].
ERROR - Task 'ingest-component' finished with status FAILURE
"""
    assert _read(chained) == ("ValueError: `label_column` 'tip' is not a column of the input; "
                              "the columns are ['tips'].")
    assert _read("    Killed\nERROR - Task 'trainer-op' finished with status FAILURE\n") is None


def test_the_heartbeat_counts_from_each_steps_start(monkeypatch):
    period = 0.4
    beats, lock = [], threading.Lock()

    def echo(line):
        if "still running" in line:
            with lock:
                beats.append((time.monotonic(), line.strip()))

    log = io.StringIO()
    with _Progress(log, echo, verbose=False, heartbeat_seconds=period) as progress:
        time.sleep(0.13)  # the step starts out of step with any timer begun with the run
        started = time.monotonic()
        progress.write("Executing task 'trainer-op'\n")
        time.sleep(2.5 * period)
        progress.write("Task 'trainer-op' finished with status \x1b[92mSUCCESS\x1b[0m\n")
        time.sleep(1.5 * period)  # no step runs: no heartbeat
        progress.write("Executing task 'pusher-op'\n")
        second = time.monotonic()
        time.sleep(1.5 * period)
    assert [line for _, line in beats] == ["trainer still running (0.4s)",
                                           "trainer still running (0.8s)",
                                           "pusher still running (0.4s)"]
    due = [started + period, started + 2 * period, second + period]
    for (at, _), expected in zip(beats, due, strict=True):
        assert expected <= at < expected + 0.25
    assert "\x1b" not in log.getvalue()
    assert "finished with status SUCCESS" in log.getvalue()


def test_an_echo_that_prints_reaches_the_terminal_while_the_steps_print_to_the_log(capsys):
    log = io.StringIO()
    echo = _to_the_terminal(print)  # run_local(config, echo=print), as in a notebook
    with _stdout_to(log):
        print("    a step's own line")
        echo("[1] ingest ...")
        print("    the step's next line")
    assert log.getvalue() == "    a step's own line\n    the step's next line\n"
    assert capsys.readouterr().out == "[1] ingest ...\n"
