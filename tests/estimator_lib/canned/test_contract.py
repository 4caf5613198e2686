"""The estimator contract (estimator_lib/testing/estimator_checks.py) over every canned estimator."""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib.testing import estimator_checks
from estimator_lib.testing.estimator_checks import EstimatorCase

fc = el.feature_column
RNG = np.random.default_rng(7)
N = 256
X = RNG.normal(size=(N, 1)).astype("float32")
CITY = RNG.choice(["a", "b", "c", "d"], size=(N, 1))
FEATURES = {"x": X, "city": CITY.astype(object)}
BINARY = ((X[:, 0] > 0) ^ (CITY[:, 0] == "a")).astype("float32")[:, None]
CLASSES = (np.digitize(X[:, 0], [-0.5, 0.5])).astype("int64")[:, None]
TARGET = (2 * X + (CITY == "b")).astype("float32")
SPEC = {"x": tf.io.FixedLenFeature([1], tf.float32), "city": tf.io.FixedLenFeature([1], tf.string)}
CONFIG = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None, tf_random_seed=1)

X_COL = fc.numeric_column("x")
CITY_COL = fc.categorical_column_with_vocabulary_list("city", ["a", "b", "c", "d"])
DEEP = [X_COL, fc.embedding_column(CITY_COL, 4)]
WIDE = [X_COL, CITY_COL, fc.crossed_column([fc.bucketized_column(X_COL, [-0.5, 0.0, 0.5]), "city"], 50)]


def case(name, estimator_class, labels, reads_features=True, **kwargs):
    def make(model_dir, warm_start_from=None):
        extra = {} if warm_start_from is None else {"warm_start_from": warm_start_from}
        return estimator_class(model_dir=model_dir, config=CONFIG, **kwargs, **extra)

    return EstimatorCase(name, make, FEATURES, labels, SPEC, reads_features=reads_features)


CASES = [
    case("linear_classifier", el.LinearClassifier, BINARY, feature_columns=WIDE),
    case("linear_multiclass", el.LinearClassifier, CLASSES, feature_columns=WIDE, n_classes=3),
    case("linear_regressor", el.LinearRegressor, TARGET, feature_columns=WIDE),
    case("dnn_classifier", el.DNNClassifier, BINARY, hidden_units=[8], feature_columns=DEEP),
    case("dnn_regressor", el.DNNRegressor, TARGET, hidden_units=[8], feature_columns=DEEP,
         optimizer="Adam"),
    case("wide_deep_classifier", el.DNNLinearCombinedClassifier, BINARY,
         linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[8]),
    case("wide_deep_regressor", el.DNNLinearCombinedRegressor, TARGET,
         linear_feature_columns=WIDE, dnn_feature_columns=DEEP, dnn_hidden_units=[8]),
]
BASELINES = [
    case("baseline_classifier", el.BaselineClassifier, BINARY, reads_features=False),
    case("baseline_multiclass", el.BaselineClassifier, CLASSES, reads_features=False,
         n_classes=3),
    case("baseline_regressor", el.BaselineRegressor, TARGET, reads_features=False),
]


@pytest.mark.parametrize("check", estimator_checks.all_checks(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator_case", CASES + BASELINES, ids=lambda c: c.name)
def test_contract(estimator_case, check, tmp_path):
    check(estimator_case, tmp_path)


def test_baseline_learns_the_label_distribution(tmp_path):
    estimator = el.BaselineClassifier(model_dir=str(tmp_path), config=CONFIG)
    estimator.train(BASELINES[0].train_input_fn, steps=300)
    probabilities = next(estimator.predict(BASELINES[0].predict_input_fn))["probabilities"]
    assert probabilities[1] == pytest.approx(BINARY.mean(), abs=0.03)
    regressor = el.BaselineRegressor(model_dir=str(tmp_path / "r"), config=CONFIG,
                                     optimizer="SGD")
    regressor.train(lambda: tf.data.Dataset.from_tensor_slices((FEATURES, TARGET)).repeat().batch(64),
                    steps=300)
    prediction = next(regressor.predict(BASELINES[0].predict_input_fn))["predictions"]
    assert prediction[0] == pytest.approx(TARGET.mean(), abs=0.05)


@pytest.mark.parametrize("make, message", [
    (lambda: el.DNNClassifier(hidden_units=[], feature_columns=DEEP), "`hidden_units` must be"),
    (lambda: el.DNNClassifier(hidden_units=[4], feature_columns=DEEP, dropout=1.5), "`dropout`"),
    (lambda: el.LinearClassifier(feature_columns=[]), "at least one feature column"),
    (lambda: el.LinearClassifier(feature_columns=WIDE, n_classes=1), "`n_classes` must be"),
    (lambda: el.LinearClassifier(feature_columns=WIDE, optimizer="Nope"), "not a known optimizer"),
    (lambda: el.DNNLinearCombinedClassifier(), "Either `linear_feature_columns`"),
])
def test_bad_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_optimizer_instances_and_factories(tmp_path):
    """An optimizer instance is copied per trace (its variables live in the checkpoint)."""
    import keras

    estimator = el.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path), linear_feature_columns=WIDE, dnn_feature_columns=DEEP,
        dnn_hidden_units=[4], linear_optimizer=keras.optimizers.Ftrl(0.1),
        dnn_optimizer=lambda: keras.optimizers.Adam(0.01), config=CONFIG)
    estimator.train(CASES[0].train_input_fn, steps=5)
    names = estimator.get_variable_names()
    assert "linear_optimizer/learning_rate" in names and "dnn_optimizer/iteration" in names
    np.testing.assert_allclose(estimator.get_variable_value("linear_optimizer/learning_rate"),
                               0.1)

