"""The in-memory eval model on the taxi sample: the serving model's predictions, the label."""

import os

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts
from components.model.eval_model import LABEL_OUTPUT, load_eval_model
from components.model.export import EXAMPLES_KEY


@pytest.fixture(scope="module")
def serving_dir(trained) -> str:
    """The taxi model's serving export, as the trainer writes it (trained once a session)."""
    return trained.serving_model_dir


@pytest.fixture(scope="module")
def raw_eval(taxi_data) -> list[bytes]:
    files = artifacts.examples_files(taxi_data.raw_examples_uri, "eval")
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def _raw_float(serialized: bytes, key: str) -> float:
    values = tf.train.Example.FromString(serialized).features.feature[key].float_list.value
    return float(values[0]) if values else 0.0  # the spec's fill: 0


def test_outputs_are_the_predict_signatures_plus_the_transform_graphs_label(
        serving_dir, raw_eval, taxi_data):
    model = load_eval_model(serving_dir, taxi_data.transform_graph_uri, label_key="big_tipper")
    outputs = model(raw_eval)
    predict = tf.saved_model.load(serving_dir).signatures["predict"]
    expected = {k: v.numpy() for k, v in predict(**{EXAMPLES_KEY: tf.constant(raw_eval)}).items()}
    assert set(outputs) == set(expected) | {LABEL_OUTPUT}
    assert {"logistic", "probabilities", "all_classes"} <= set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(outputs[key], value, err_msg=key)
    # The label as the transform spec defines it from the raw columns: tips > 0.2 * fare
    # (an expression's arithmetic is float64).
    labels = outputs[LABEL_OUTPUT].reshape(-1)
    raw_labels = [_raw_float(s, "tips") > 0.2 * _raw_float(s, "fare") for s in raw_eval]
    assert len(labels) == len(raw_eval) == 600
    np.testing.assert_array_equal(labels, np.array(raw_labels, dtype=labels.dtype))
    assert 0.1 < labels.mean() < 0.9


def test_batches_of_any_size_give_the_same_outputs(serving_dir, raw_eval, taxi_data):
    model = load_eval_model(serving_dir, taxi_data.transform_graph_uri, label_key="big_tipper")
    whole = model(raw_eval)
    parts = [model(tf.constant(raw_eval[start:start + 7])) for start in range(0, 21, 7)]
    for key in ("logistic", LABEL_OUTPUT):
        np.testing.assert_allclose(np.concatenate([p[key] for p in parts]), whole[key][:21],
                                   rtol=1e-6)


def test_a_model_without_a_predict_signature_or_a_label_the_graph_lacks_is_an_error(
        serving_dir, taxi_data):
    graph = taxi_data.transform_graph_uri
    transform_fn = os.path.join(graph, "transform_fn")  # a SavedModel, not a serving model
    with pytest.raises(ValueError, match=r"has no 'predict' signature over serialized "
                                         r"tf.Example.*Is it a serving model"):
        load_eval_model(transform_fn, graph, label_key="big_tipper")
    with pytest.raises(ValueError, match=r"outputs no label 'tips_share'; its outputs are "
                                         r"\[.*'big_tipper'"):
        load_eval_model(serving_dir, graph, label_key="tips_share")
