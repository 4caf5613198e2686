"""No training/serving skew: the transform graph serving embeds gives, on raw tf.Examples,
exactly the transformed training data for the same rows."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from components.artifacts import transform_graph


def _raw_serialized(inputs, split: str) -> list[bytes]:
    files = tf.io.gfile.glob(transform_graph.raw_split_pattern(inputs.examples_uri, split))
    return [r.numpy() for r in tf.data.TFRecordDataset(sorted(files), compression_type="GZIP")]


def _apply_layer(tft_output, serialized: list[bytes], raw_spec: dict) -> dict[str, np.ndarray]:
    layer = tft_output.transform_features_layer()
    parsed = tf.io.parse_example(tf.constant(serialized), raw_spec)
    return {k: v.numpy() for k, v in layer(parsed).items()}


def _assert_equal_by_row(served: dict, transformed, names) -> None:
    order = np.argsort(served["row_id"])
    np.testing.assert_array_equal(served["row_id"][order], transformed["row_id"])
    for name in names:
        got, want = served[name][order], transformed[name].to_numpy()
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("split", ["train", "eval"])
def test_transform_layer_on_raw_examples_equals_transformed_data(spec_run, split):
    tft_output = spec_run.tft_output
    served = _apply_layer(tft_output, _raw_serialized(spec_run.inputs, split),
                          tft_output.raw_feature_spec())
    transformed = spec_run.train if split == "train" else spec_run.eval
    assert set(served) == set(transformed.columns)
    _assert_equal_by_row(served, transformed, transformed.columns)


def test_serving_requests_need_only_the_serving_raw_columns(spec_run):
    """A request carries no label column (`tips`); every other feature still comes out equal."""
    tft_output = spec_run.tft_output
    with open(os.path.join(spec_run.config.transform_graph_uri, transform_graph.FEATURE_COLUMNS_FILE)) as f:
        described = json.load(f)
    serving_columns = set(described["serving_raw_columns"]) | {"row_id"}
    raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items() if k in serving_columns}
    assert "tips" not in raw_spec
    served = _apply_layer(tft_output, _raw_serialized(spec_run.inputs, "eval"), raw_spec)
    features = [n for n in described["features"] if n != described["label_key"]]
    _assert_equal_by_row(served, spec_run.eval, features)
