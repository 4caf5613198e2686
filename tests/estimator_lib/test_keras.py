"""model_to_estimator: a compiled Keras model trained, evaluated and exported as an Estimator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib import keras as el_keras
from tests.estimator_lib import toy

CONFIG = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None)


def compiled_model():
    model = keras.Sequential([keras.Input((3,), name="x"),
                              keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(1, activation="sigmoid", name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
    return model


def test_starts_from_the_keras_weights_and_matches_keras_evaluate(tmp_path):
    model = compiled_model()
    expected = model.evaluate(toy.X, toy.Y, batch_size=64, verbose=0, return_dict=True)
    estimator = el_keras.model_to_estimator(model, model_dir=str(tmp_path), config=CONFIG)
    estimator.train(toy.train_input_fn, steps=1)  # learning rate 0: weights stay Keras's
    np.testing.assert_array_equal(estimator.get_variable_value("hidden/kernel"),
                                  model.get_layer("hidden").kernel.numpy())
    results = estimator.evaluate(toy.eval_input_fn)
    assert results["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert results["auc"] == pytest.approx(expected["auc"], abs=1e-4)
    assert results["loss"] == pytest.approx(expected["loss"], rel=1e-4)
    predictions = np.concatenate([p["predictions"] for p in estimator.predict(
        toy.predict_input_fn, yield_single_examples=False)])
    np.testing.assert_allclose(predictions, model.predict(toy.X[:10], verbose=0), rtol=1e-5)


def test_trains_resumes_and_exports(tmp_path):
    model = compiled_model()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    estimator = el_keras.model_to_estimator(model, model_dir=str(tmp_path), config=CONFIG)
    estimator.train(toy.train_input_fn, steps=100)
    first = estimator.evaluate(toy.eval_input_fn)
    estimator.train(toy.train_input_fn, steps=100)  # resumes from the checkpoint, not Keras
    second = estimator.evaluate(toy.eval_input_fn)
    assert second["global_step"] == 200 and second["loss"] < first["loss"]
    assert second["accuracy"] > 0.95
    export_dir = estimator.export_saved_model(
        str(tmp_path / "export"), el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC))
    served = tf.saved_model.load(export_dir).signatures["serving_default"](
        examples=tf.constant(toy.serialized_examples(4)))["predictions"].numpy()
    expected = next(estimator.predict(toy.predict_input_fn, yield_single_examples=False))
    np.testing.assert_allclose(served, expected["predictions"], rtol=1e-5)


def test_bad_models():
    with pytest.raises(TypeError, match="must be a keras.Model"):
        el_keras.model_to_estimator("model")
    uncompiled = keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="needs a compiled model with a loss"):
        el_keras.model_to_estimator(uncompiled)


def test_features_must_name_the_model_inputs(tmp_path):
    estimator = el_keras.model_to_estimator(compiled_model(), model_dir=str(tmp_path), config=CONFIG)

    def wrong_names():
        return tf.data.Dataset.from_tensor_slices(({"z": toy.X}, toy.Y)).batch(8)

    with pytest.raises(ValueError, match=r"inputs \['x'\] are not among the features \['z'\]"):
        estimator.train(wrong_names, steps=1)
