"""kfp.local's steps run in this process (`pipelines.in_process`), as they would in their own.

Small real components through real kfp.local: the same outputs as the SubprocessRunner's
fresh processes, what a step changes in its environment undone, its stderr in the step's
log, and a failure reported as a subprocess would report it. The taxi pipeline's two paths
are compared in test_local_paths.py.
"""

import json
import os

import pytest
from kfp import dsl, local
from kfp.dsl import Artifact, Input, Output

from components.artifacts.model import SERVING_MODEL_DIR
from components.pusher import infra_validation
from components.pusher.infra_validation import standby_check_process
from pipelines.in_process import parse_step_command, steps_in_process
from pipelines.local_run import _preload_trained_model
from tests.components.pusher.conftest import exports, make_model_artifact  # noqa: F401


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def shout(text: str, shouted: Output[Artifact]) -> str:
    import os
    import sys

    with open(shouted.path, "w") as f:
        f.write(text.upper())
    shouted.metadata["pid"] = os.getpid()
    print("a line on stderr", file=sys.stderr)
    os.environ["SET_BY_THE_STEP"] = "1"
    os.chdir("/")
    return os.environ.get("STEP_SETTING", "unset")


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def count(shouted: Input[Artifact]) -> int:
    with open(shouted.path) as f:
        return len(f.read())


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def refuse(text: str):
    raise ValueError(f"{text!r} is not a column of the input")


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def sees_ipython() -> bool:
    from IPython import get_ipython

    return get_ipython() is not None


@dsl.pipeline
def shout_and_count(text: str = "estimators") -> int:
    shouted = shout(text=text)
    shouted.set_env_variable("STEP_SETTING", "from the task")
    return count(shouted=shouted.outputs["shouted"]).output


def _run(tmp_path, pipeline, **arguments):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path),
               raise_on_error=True)
    return pipeline(**arguments)


def test_a_step_in_this_process_gives_what_its_own_process_gives(tmp_path, capsys):
    isolated = _run(tmp_path / "isolated", shout_and_count, text="tf")
    capsys.readouterr()
    environ, cwd = dict(os.environ), os.getcwd()
    with steps_in_process():
        here = _run(tmp_path / "here", shout_and_count, text="tf")
    assert here.output == isolated.output == 2
    logged = capsys.readouterr()
    assert "a line on stderr" in logged.out and "a line on stderr" not in logged.err

    single = {}
    for name, root in (("isolated", tmp_path / "isolated"), ("here", tmp_path / "here")):
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
        with steps_in_process() if name == "here" else _no_change():
            task = shout(text="tf")
        single[name] = task
    for task in single.values():
        assert open(task.outputs["shouted"].path).read() == "TF"
        assert task.outputs["Output"] == "unset"
    assert single["here"].outputs["shouted"].metadata["pid"] == os.getpid()
    assert single["isolated"].outputs["shouted"].metadata["pid"] != os.getpid()
    # What the step set is undone; what the task set reached it only.
    assert dict(os.environ) == environ and os.getcwd() == cwd


def test_a_failed_step_prints_its_traceback_and_fails_the_task(tmp_path, capsys):
    with steps_in_process(), pytest.raises(RuntimeError, match="finished with status"):
        _run(tmp_path, refuse, text="tip")
    log = capsys.readouterr().out
    assert "Traceback (most recent call last):" in log
    assert "ValueError: 'tip' is not a column of the input" in log


def test_a_step_in_a_notebooks_process_sees_no_ipython_kernel(tmp_path, monkeypatch):
    import IPython

    kernel = object()
    monkeypatch.setattr(IPython, "get_ipython", lambda: kernel)  # as in a notebook
    with steps_in_process():
        assert _run(tmp_path, sees_ipython).output is False
    assert IPython.get_ipython() is kernel


def test_after_each_step_that_succeeded_the_callback_gets_its_outputs(tmp_path):
    seen = []

    def after_step(function_name, executor_input):
        artifacts = executor_input["outputs"].get("artifacts", {})  # none: count
        uris = {name: entry["artifacts"][0]["uri"] for name, entry in artifacts.items()}
        seen.append((function_name, {k: open(v).read() for k, v in uris.items()}))

    with steps_in_process(after_step):
        assert _run(tmp_path / "ok", shout_and_count, text="tf").output == 2
        with pytest.raises(RuntimeError, match="finished with status"):
            _run(tmp_path / "failed", refuse, text="tip")
    assert seen == [("shout", {"shouted": "TF"}), ("count", {})]  # not the failed step


def test_the_local_run_preloads_the_trainers_model_for_the_pusher(exports, tmp_path):  # noqa: F811
    model_uri = make_model_artifact(tmp_path, exports["good"])
    executor_input = {"outputs": {"artifacts": {"model": {"artifacts": [{"uri": model_uri}]}}}}
    with standby_check_process():
        _preload_trained_model("evaluator_op", executor_input)  # another step: nothing
        _preload_trained_model("trainer_op", {"outputs": {"artifacts": {"model": {
            "artifacts": [{"uri": str(tmp_path / "no_export")}]}}}})  # no export: nothing
        _preload_trained_model("trainer_op", executor_input)
        done = json.loads(infra_validation._standby.stdout.readline())
    assert done == {"preloaded": os.path.join(model_uri, SERVING_MODEL_DIR), "error": None}


def test_only_a_lightweight_components_command_runs_here():
    command = ["sh", "-ec", 'program_path=$(mktemp -d)\nprintf "%s" "$0" > '
               '"$program_path/ephemeral_component.py"\n_KFP_RUNTIME=true python3 -m '
               'kfp.dsl.executor_main --component_module_path '
               '"$program_path/ephemeral_component.py" "$@"\n', "def f():\n    pass\n",
               "--executor_input", '{"inputs": {}}', "--function_to_execute", "f"]
    step = parse_step_command(command)
    assert step.function_name == "f" and step.executor_input == {"inputs": {}}
    assert step.source == "def f():\n    pass\n"
    assert parse_step_command(["python", "-m", "components.trainer", "--steps", "5"]) is None
    assert parse_step_command(command[:-2]) is None  # no function to run


class _no_change:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
