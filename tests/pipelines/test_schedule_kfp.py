"""`estpipe schedule --host`: the recurring run that kfp.Client sends to a KFP endpoint.

No Kubeflow Pipelines endpoint can be reached here, so the endpoint is a test double: a tiny
HTTP server on 127.0.0.1 (port 0) that answers the few KFP v2beta1 API calls kfp.Client
makes (health, experiments, recurring runs) and records what it receives. Everything on
our side (cron conversion, compiling the pipeline, kfp.Client) is real.
"""

import json
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.cli import main
from pipelines.config import load_config
from pipelines.scheduling import CronError, create_recurring_run

TAXI_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chicago_taxi",
                           "pipeline.yaml")
IMAGE = "registry.example.com/ml/estimator-pipelines:0.1.0"
MAX_REQUESTS = 20


class _FakeKfp(BaseHTTPRequestHandler):
    """Answers kfp.Client as a KFP v2beta1 API server would; records each request."""

    timeout = 5  # seconds a request may take to arrive

    def do_GET(self):
        self._record(None)
        if self.path.startswith("/apis/v2beta1/healthz"):
            return self._reply({"multi_user": False})
        if self.path.startswith("/apis/v2beta1/experiments"):
            return self._reply({})  # no experiment by that name yet
        self._reply({"error": "not found"}, 404)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self._record(body)
        if self.path == "/apis/v2beta1/experiments":
            return self._reply({"experiment_id": "exp-7", **body})
        if self.path == "/apis/v2beta1/recurringruns":
            return self._reply({"recurring_run_id": "rr-42", **body})
        self._reply({"error": "not found"}, 404)

    def _record(self, body):
        if len(self.server.requests) >= MAX_REQUESTS:
            raise RuntimeError("the client sent too many requests")
        self.server.requests.append((self.command, self.path.split("?")[0], body))

    def _reply(self, body, status=200):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def kfp_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeKfp)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_cli_creates_a_recurring_run_with_six_field_cron_one_at_a_time_no_backfill(
        kfp_endpoint, capsys):
    host = f"http://127.0.0.1:{kfp_endpoint.server_port}"
    assert main(["schedule", TAXI_CONFIG, "--cron", "0 3 * * *", "--host", host, "--image",
                 IMAGE, "--train-steps", "500", "--until", "2030-01-31T18:00",
                 "--root", "gs://bucket/runs", "--serving-base", "gs://bucket/serving",
                 "--input-pattern", "gs://bucket/data/*.csv"]) == 0
    out = capsys.readouterr().out
    assert (f"Created recurring run rr-42 ('chicago-taxi-schedule') of 'chicago-taxi' on {host}: "
            "cron '0 0 3 * * *' (from '0 3 * * *'), one run at a time") in out

    calls = [(method, path) for method, path, _ in kfp_endpoint.requests]
    assert calls == [("GET", "/apis/v2beta1/healthz"), ("GET", "/apis/v2beta1/experiments"),
                     ("POST", "/apis/v2beta1/experiments"),
                     ("POST", "/apis/v2beta1/recurringruns")]
    experiment = kfp_endpoint.requests[2][2]
    assert experiment["display_name"] == "chicago-taxi"
    recurring = kfp_endpoint.requests[3][2]
    assert recurring["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert datetime.fromisoformat(recurring["trigger"]["cron_schedule"]["end_time"]) == \
        datetime(2030, 1, 31, 18, tzinfo=UTC)
    assert int(recurring["max_concurrency"]) == 1 and recurring["no_catchup"] is True
    assert recurring["mode"] == "ENABLE" and recurring["experiment_id"] == "exp-7"
    assert recurring["display_name"] == "chicago-taxi-schedule"
    assert recurring["runtime_config"]["parameters"] == {
        "train_steps": 500, "serving_base_uri": "gs://bucket/serving",
        "input_pattern": "gs://bucket/data/*.csv"}
    # The compiled pipeline travels with the request, every step in the given image.
    spec = recurring["pipeline_spec"]
    assert spec["defaultPipelineRoot"] == "gs://bucket/runs"
    assert spec["pipelineInfo"]["name"] == "chicago-taxi"
    assert "train_steps" in spec["root"]["inputDefinitions"]["parameters"]
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {IMAGE}


def test_the_cli_refuses_a_schedule_on_this_machines_paths_before_sending_anything(
        kfp_endpoint, capsys):
    host = f"http://127.0.0.1:{kfp_endpoint.server_port}"
    assert main(["schedule", TAXI_CONFIG, "--cron", "0 3 * * *", "--host", host,
                 "--serving-base", "gs://bucket/serving"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("estpipe schedule: the pipeline would hold paths of this machine, "
                           "which a cluster cannot reach: the pipeline root '")
    assert "(--input-pattern)" in last and "serving base" not in last
    assert kfp_endpoint.requests == []


def test_a_bad_cron_fails_before_anything_is_sent_and_an_unreachable_endpoint_fails_fast(
        kfp_endpoint):
    config = load_config(TAXI_CONFIG)
    host = f"http://127.0.0.1:{kfp_endpoint.server_port}"
    with pytest.raises(CronError, match="the day-of-week field 'MON-XYZ'"):
        create_recurring_run(config, host=host, cron="0 3 * * MON-XYZ")
    with pytest.raises(ValueError, match="`until` .* must be time-zone aware"):
        create_recurring_run(config, host=host, cron="0 3 * * *", until=datetime(2030, 1, 1))
    assert kfp_endpoint.requests == []
    # A closed loopback port: a RuntimeError that names the endpoint, quickly.
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"recurring run on the Kubeflow Pipelines endpoint "
                                           r"'http://127.0.0.1:9': MaxRetryError"):
        create_recurring_run(config, host="http://127.0.0.1:9", cron="0 3 * * *")
    assert time.monotonic() - started < 20
