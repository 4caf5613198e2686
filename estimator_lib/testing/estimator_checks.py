"""The contract every Estimator keeps, as checks a test suite runs over each one.

Like scikit-learn's common tests: one battery, parametrized over every canned
estimator (and any user Estimator), so a new estimator gets the whole contract:

    @pytest.mark.parametrize("check", estimator_checks.all_checks(), ids=lambda c: c.__name__)
    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_contract(case, check, tmp_path):
        check(case, tmp_path)

A case says how to build the estimator for a model_dir, its data (numpy features and
labels) and the tf.Example spec of its features. Each check raises AssertionError (or the
estimator's own error) when the estimator breaks the contract.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from estimator_lib import export as export_lib
from estimator_lib.estimator import Estimator
from estimator_lib.hooks import Hook


@dataclasses.dataclass(frozen=True)
class EstimatorCase:
    """An estimator under test and its data.

    Args:
        name: Test id.
        make: `make(model_dir, warm_start_from=None) -> Estimator`.
        features: Dict of numpy arrays, [n, ...] each.
        labels: Numpy array [n, ...].
        feature_spec: tf.Example parsing spec of the features (for the serving export).
        batch_size: Training batch size.
        reads_features: Whether the model reads its features (a baseline does not; the
            missing-feature check then checks that it trains on any features).

    Example:
        >>> EstimatorCase("linear", lambda d, **kw: el.LinearRegressor([x], model_dir=d, **kw),
        ...               {"x": xs}, ys, {"x": tf.io.FixedLenFeature([1], tf.float32)})
    """

    name: str
    make: Callable[..., Estimator]
    features: Mapping[str, np.ndarray]
    labels: np.ndarray
    feature_spec: Mapping[str, Any]
    batch_size: int = 32
    reads_features: bool = True

    def train_input_fn(self):
        data = (dict(self.features), self.labels)
        return tf.data.Dataset.from_tensor_slices(data).repeat().batch(self.batch_size)

    def eval_input_fn(self):
        return tf.data.Dataset.from_tensor_slices((dict(self.features), self.labels)).batch(64)

    def predict_input_fn(self, n=8):
        return tf.data.Dataset.from_tensor_slices(
            {k: v[:n] for k, v in self.features.items()}).batch(4)

    def serialized_examples(self, n=8) -> list[bytes]:
        examples = []
        for i in range(n):
            feature = {}
            for key, values in self.features.items():
                value = np.asarray(values[i]).reshape(-1)
                if value.dtype.kind in "fc":
                    feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=value))
                elif value.dtype.kind in "iub":
                    feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=value))
                else:
                    feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(
                        value=[v.encode() if isinstance(v, str) else bytes(v) for v in value]))
            examples.append(tf.train.Example(
                features=tf.train.Features(feature=feature)).SerializeToString())
        return examples


def _trained(case: EstimatorCase, model_dir, steps=20) -> Estimator:
    return case.make(str(model_dir)).train(case.train_input_fn, steps=steps)


def check_train_evaluate_predict(case: EstimatorCase, tmp_path) -> None:
    """Training lowers the loss; evaluate reports loss and global_step; predict yields rows."""
    estimator = case.make(str(tmp_path / "model"))
    estimator.train(case.train_input_fn, steps=1)
    before = estimator.evaluate(case.eval_input_fn)["loss"]
    estimator.train(case.train_input_fn, steps=150)
    results = estimator.evaluate(case.eval_input_fn)
    assert results["global_step"] == 151, results
    assert np.isfinite(results["loss"]) and results["loss"] < before, (before, results["loss"])
    rows = list(estimator.predict(case.predict_input_fn))
    assert len(rows) == 8 and isinstance(rows[0], dict) and rows[0], rows[:1]


def check_resume_adds_steps(case: EstimatorCase, tmp_path) -> None:
    """A second train call resumes from the checkpoint; a new object sees the same model."""
    estimator = _trained(case, tmp_path / "model", steps=7)
    estimator.train(case.train_input_fn, steps=5)
    assert estimator.get_variable_value("global_step") == 12
    again = case.make(str(tmp_path / "model"))
    first = list(estimator.predict(case.predict_input_fn, yield_single_examples=False))
    second = list(again.predict(case.predict_input_fn, yield_single_examples=False))
    for a, b in zip(first, second, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def check_export_serves_examples(case: EstimatorCase, tmp_path) -> None:
    """The export's serving_default, on serialized tf.Example, equals predict()."""
    estimator = _trained(case, tmp_path / "model")
    export_dir = estimator.export_saved_model(
        str(tmp_path / "export"), export_lib.build_parsing_serving_input_receiver_fn(case.feature_spec))
    loaded = tf.saved_model.load(export_dir)
    signature = loaded.signatures["serving_default"]
    (input_name,) = signature.structured_input_signature[1].keys()
    served = signature(**{input_name: tf.constant(case.serialized_examples())})
    expected = {}
    for batch in estimator.predict(case.predict_input_fn, yield_single_examples=False):
        for key, value in batch.items():
            expected.setdefault(key, []).append(value)
    # Signature output names of TF Serving's APIs, and the predictions they carry.
    aliases = {"scores": ("probabilities",), "outputs": ("predictions", "logistic")}
    compared = 0
    for key, value in served.items():
        for candidate in (key, *aliases.get(key, ())):
            if candidate in expected and expected[candidate][0].dtype.kind == "f":
                reference = np.concatenate(expected[candidate])
                if reference.size == value.numpy().size:
                    np.testing.assert_allclose(value.numpy().reshape(reference.shape), reference,
                                               rtol=1e-4, atol=1e-6)
                    compared += 1
                    break
    assert compared, f"no serving output matched predict(): {sorted(served)} vs {sorted(expected)}"


class _RecordStart(Hook):
    """Records the trainable variables' values when training starts (after warm start)."""

    def after_create(self, run_context):
        self.values = {name: variable.numpy() for name, variable in run_context.variables.items()
                       if variable.trainable}


def check_warm_start(case: EstimatorCase, tmp_path) -> None:
    """warm_start_from a trained model_dir starts every trainable variable from it."""
    source = _trained(case, tmp_path / "source", steps=30)
    target = case.make(str(tmp_path / "target"), warm_start_from=source.model_dir)
    start = _RecordStart()
    target.train(case.train_input_fn, steps=1, hooks=[start])
    assert start.values, "the model has no trainable variables"
    for name, value in start.values.items():
        np.testing.assert_array_equal(value, source.get_variable_value(name), err_msg=name)


def check_bad_input(case: EstimatorCase, tmp_path) -> None:
    """A missing feature fails with an error that names it; the checkpoint stays.

    A model that reads no features (a baseline) trains on without them instead.
    """
    estimator = _trained(case, tmp_path / "model", steps=3)
    key = sorted(case.features)[0]

    def missing_feature():
        features = {k: v for k, v in case.features.items() if k != key}
        if not features:
            features = {"unrelated": np.zeros([len(case.labels), 1], np.float32)}
        return tf.data.Dataset.from_tensor_slices((features, case.labels)).batch(8)

    if not case.reads_features:
        estimator.train(missing_feature, steps=1)
        assert estimator.get_variable_value("global_step") == 4
        return
    try:
        estimator.train(missing_feature, steps=1)
    except (KeyError, ValueError) as error:
        assert key in str(error), f"the error does not name {key!r}: {error}"
    else:
        raise AssertionError(f"training without feature {key!r} did not fail")
    assert estimator.get_variable_value("global_step") == 3
    assert os.path.exists(estimator.latest_checkpoint() + ".index")


def all_checks() -> list[Callable[[EstimatorCase, Any], None]]:
    """Every check, for pytest.mark.parametrize."""
    return [check_train_evaluate_predict, check_resume_adds_steps, check_export_serves_examples,
            check_warm_start, check_bad_input]
