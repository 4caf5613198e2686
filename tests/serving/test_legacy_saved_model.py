"""A SavedModel exported by tf.estimator 2.15 keeps being served, and el exports alike.

The golden export (tests/estimator_lib/golden/legacy: a wide & deep classifier with a
parsing serving input receiver) is served by the project's server and answers Classify,
Regress and Predict as tf.estimator predicted. The same model, loaded into el from its
legacy checkpoint and exported by el, has the same signatures, input keys and output keys
and gives the same answers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from serving import ModelConfig, ModelServer, ServerOptions, ServingClient
from tests.estimator_lib.golden.legacy import models, spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = models.golden()
ROWS = GOLDEN["rows"]
EXPECTED = GOLDEN["models"]["wide_deep_classifier"]["predictions"]
LEGACY_BASE = os.path.join(spec.SERVING_BASE, spec.SERVED_MODEL)


def _examples(rows, empty_strings: bool = False):
    """The rows as tf.Example feature dicts, typed as the parsing receiver expects.

    A missing string (`""` in the golden rows, which tf.estimator's predict read as
    missing) is left out of the Example, unless `empty_strings`: then it is sent as `""`.
    """
    return [{**{k: float(r[k]) for k in spec.NUMERIC + spec.INTEGER},
             **{k: r[k] for k in spec.STRING if r[k] or empty_strings}} for r in rows]


@pytest.fixture(scope="module")
def el_base(tmp_path_factory):
    """<base>/<version>: el's export of the golden wide & deep, loaded from its checkpoint."""
    root = tmp_path_factory.mktemp("el_wide_deep")
    name = "wide_deep_classifier"
    estimator = models.estimator(name, os.fspath(root / "model_dir"))
    el.migrate.warm_start_from_legacy(estimator, models.checkpoint_dir(name),
                                      models.input_fn(ROWS, name))
    columns = spec.feature_columns(el.feature_column)
    receiver = el.export.build_parsing_serving_input_receiver_fn(
        el.feature_column.make_parse_example_spec(
            columns["wide_deep_linear"] + columns["wide_deep_dnn"]))
    estimator.export_saved_model(os.fspath(root / "serving"), receiver)
    return root / "serving"


@pytest.fixture(scope="module")
def client(el_base):
    configs = [ModelConfig("legacy", LEGACY_BASE), ModelConfig("el", os.fspath(el_base))]
    options = ServerOptions(port=0, rest_port=0, file_system_poll_wait_seconds=0)
    with ModelServer(configs, options=options) as server, \
            ServingClient(server.grpc_address, timeout_s=30) as opened:
        yield opened


@pytest.mark.parametrize("model", ["legacy", "el"])
def test_classify(client, model):
    answers = client.classify(model, _examples(ROWS))
    assert [[label for label, _ in a] for a in answers] == [["0", "1"]] * len(ROWS)
    scores = np.array([[score for _, score in a] for a in answers])
    np.testing.assert_allclose(scores, EXPECTED["probabilities"], atol=1e-5)


@pytest.mark.parametrize("model", ["legacy", "el"])
def test_predict_and_regress(client, model):
    outputs = client.predict_examples(model, _examples(ROWS))
    for key in ("logits", "logistic", "probabilities", "class_ids"):
        np.testing.assert_allclose(outputs[key], EXPECTED[key], atol=1e-5, err_msg=key)
    assert outputs["classes"].astype(str).tolist() == EXPECTED["classes"]
    regressed = client.regress(model, _examples(ROWS))
    np.testing.assert_allclose(regressed, np.array(EXPECTED["logistic"])[:, 0], atol=1e-5)


def test_an_empty_string_is_missing_in_el_but_a_value_in_legacy(client):
    """A deliberate difference (see docs/migrating-from-tf-estimator.md): tf.estimator's
    categorical columns drop `""` from dense inputs only; a tf.Example's `""` reaches its
    hash and vocabulary columns (parsed as VarLenFeature) as a value. el drops it always."""
    empty = [i for i, r in enumerate(ROWS) if not r["company"]]
    assert len(empty) >= 5
    rows = [ROWS[i] for i in empty]
    expected = np.array(EXPECTED["logits"])[empty]
    legacy = client.predict_examples("legacy", _examples(rows, empty_strings=True))["logits"]
    assert np.abs(legacy - expected).min() > 1e-3  # The hash bucket of "" has a weight.
    ours = client.predict_examples("el", _examples(rows, empty_strings=True))["logits"]
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def _signatures(client, model) -> dict:
    signatures = client.metadata(model).signature_def
    return {name: (signature.method_name, sorted(signature.inputs), sorted(signature.outputs))
            for name, signature in signatures.items() if not name.startswith("__")}


def test_el_export_has_legacys_signatures_inputs_and_outputs(client):
    legacy, ours = _signatures(client, "legacy"), _signatures(client, "el")
    assert sorted(legacy) == ["classification", "predict", "regression", "serving_default"]
    assert ours == legacy


def test_legacy_saved_model_loads_in_process():
    """The same SavedModel through tf.saved_model (what the pusher's validation does)."""
    loaded = tf.saved_model.load(os.path.join(LEGACY_BASE, "1"))
    serialized = [tf.train.Example(features=tf.train.Features(feature={
        k: (tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode()]))
            if isinstance(v, str) else tf.train.Feature(float_list=tf.train.FloatList(value=[v])))
        for k, v in e.items()})).SerializeToString() for e in _examples(ROWS[:5])]
    outputs = loaded.signatures["predict"](examples=tf.constant(serialized))
    np.testing.assert_allclose(outputs["logits"].numpy(), EXPECTED["logits"][:5], atol=1e-5)


@pytest.mark.slow
def test_estpipe_serve_answers_classify_for_the_legacy_model():
    """The `estpipe serve` command itself, in a subprocess, serving the legacy export."""
    command = [sys.executable, "-c", "from pipelines.cli import main; raise SystemExit(main())",
               "serve", "--model-base-path", LEGACY_BASE, "--model-name", "legacy",
               "--port", "0", "--rest-port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()  # Printed once it listens.
        match = re.search(r"gRPC on (\S+?), REST on", line)
        assert match, line + process.stderr.read()
        with ServingClient(match.group(1), timeout_s=30) as client:
            answers = client.classify("legacy", _examples(ROWS[:10]))
        scores = np.array([[score for _, score in a] for a in answers])
        np.testing.assert_allclose(scores, EXPECTED["probabilities"][:10], atol=1e-5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
