"""`estpipe submit`: the run kfp.Client creates on a Kubeflow Pipelines endpoint.

The endpoint is a test double (no KFP endpoint can be reached here): the loopback HTTP server
of test_schedule_kfp.py, taught to accept a run. Compiling and kfp.Client are real.
"""

import json
import warnings

from pipelines.cli import main
from tests.pipelines.test_schedule_kfp import IMAGE, TAXI_CONFIG, _FakeKfp  # noqa: F401
from tests.pipelines.test_schedule_kfp import kfp_endpoint as _endpoint  # noqa: F401


class _FakeKfpRuns(_FakeKfp):
    def do_POST(self):
        if self.path.split("?")[0] == "/apis/v2beta1/runs":
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self._record(body)
            return self._reply({"run_id": "run-9", **body})
        return super().do_POST()


def test_submit_creates_one_run_of_the_compiled_pipeline_with_the_overrides(_endpoint, capsys):  # noqa: F811
    _endpoint.RequestHandlerClass = _FakeKfpRuns
    host = f"http://127.0.0.1:{_endpoint.server_address[1]}"
    with warnings.catch_warnings(record=True) as warned:
        assert main(["submit", TAXI_CONFIG, "--host", host, "--image", IMAGE,
                     "--train-steps", "5000", "--run-name", "taxi-nightly",
                     "--root", "gs://bucket/runs", "--serving-base", "gs://bucket/serving",
                     "--input-pattern", "gs://bucket/data/*.csv"]) == 0
    assert [str(w.message) for w in warned if "kfp" in w.filename] == []  # kfp.Client's noise
    assert "Submitted run run-9 of 'chicago-taxi'" in capsys.readouterr().out
    runs = [body for method, path, body in _endpoint.requests
            if method == "POST" and path == "/apis/v2beta1/runs"]
    assert len(runs) == 1
    run = runs[0]
    assert run["display_name"] == "taxi-nightly"
    assert run["runtime_config"]["parameters"] == {
        "train_steps": 5000, "serving_base_uri": "gs://bucket/serving",
        "input_pattern": "gs://bucket/data/*.csv"}
    spec = run["pipeline_spec"]
    assert spec["pipelineInfo"]["name"] == "chicago-taxi"
    assert spec["defaultPipelineRoot"] == "gs://bucket/runs"
    assert spec["root"]["inputDefinitions"]["parameters"]["train_steps"]["defaultValue"] == 5000
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {IMAGE}
