"""The trainer on the real taxi sample: training, exports without skew, recipes, resumption."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from components import artifacts
from components.artifacts.model import MODULE_FILE, RECIPE_FILE
from components.artifacts.model import TRAINER_RESULT_FILE as RESULT_FILE
from components.model.eval_model import load_eval_model
from components.model.inputs import make_input_fn
from components.model.recipe import ModelRecipe, read_training_done
from components.trainer.config import TrainerConfig
from components.trainer.executor import run
from tests.components.taxi_pipeline_data import TRAINER_MODULE

STEPS = 300


def _config(taxi_data, model_uri, **kwargs):
    defaults = dict(examples_uri=taxi_data.transformed_examples_uri,
                    transform_graph_uri=taxi_data.transform_graph_uri, model_uri=model_uri,
                    train_steps=STEPS, batch_size=128, save_checkpoints_steps=100)
    if "module_file" not in kwargs:
        defaults["estimator"] = "DNNLinearCombinedClassifier"
    return TrainerConfig(**{**defaults, **kwargs})


@pytest.fixture(scope="module")
def canned_run(taxi_data, tmp_path_factory):
    model_uri = str(tmp_path_factory.mktemp("canned") / "model")
    return run(_config(taxi_data, model_uri, params={"dnn_hidden_units": [16, 8]})), model_uri


def _raw_eval(taxi_data, limit=None):
    files = artifacts.examples_files(taxi_data.raw_examples_uri, "eval")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if limit:
        dataset = dataset.take(limit)
    return [r.numpy() for r in dataset]


def test_canned_estimator_trains_evaluates_and_writes_the_model_artifact(canned_run):
    result, model_uri = canned_run
    assert result.final_step == STEPS
    assert result.task == "classification" and result.label_key == "big_tipper"
    # Tipping is predictable from payment type and fare: far above chance after 300 steps.
    assert result.metrics["auc"] > 0.85
    assert result.metrics["global_step"] == STEPS
    written = json.loads(open(os.path.join(model_uri, RESULT_FILE)).read())
    assert written["final_step"] == STEPS and written["metrics"]["auc"] == result.metrics["auc"]
    model_dir = result.model_dir
    assert model_dir == os.path.join(model_uri, "model_dir")
    # One export: the serving model (the evaluator adds the label to it in memory).
    assert sorted(os.listdir(model_uri)) == ["model_dir", "serving_model", RESULT_FILE]
    assert result.serving_model_dir == os.path.join(model_uri, "serving_model")
    assert "eval_model_dir" not in written
    assert tf.train.latest_checkpoint(model_dir).endswith(f"ckpt-{STEPS}")
    for name in (RECIPE_FILE, el.TRAINING_DONE_FILENAME):
        assert os.path.isfile(os.path.join(model_dir, name))
    assert read_training_done(model_dir)["final_step"] == STEPS
    assert tf.io.gfile.glob(os.path.join(model_dir, "events.out.tfevents.*")) or \
        tf.io.gfile.glob(os.path.join(model_dir, "*", "events.out.tfevents.*"))


def test_serving_model_classifies_raw_examples_with_tf_serving_signatures(canned_run, taxi_data):
    result, _ = canned_run
    loaded = tf.saved_model.load(result.serving_model_dir)
    assert {"serving_default", "predict", "classification"} <= set(loaded.signatures)
    raw = _raw_eval(taxi_data, 8)
    scores = loaded.signatures["classification"](inputs=tf.constant(raw))["scores"].numpy()
    assert scores.shape == (8, 2)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    # A request carries no label column: strip `tips` and predictions do not change.
    stripped = []
    for serialized in raw:
        example = tf.train.Example.FromString(serialized)
        del example.features.feature["tips"]
        stripped.append(example.SerializeToString())
    again = loaded.signatures["classification"](inputs=tf.constant(stripped))["scores"].numpy()
    np.testing.assert_allclose(again, scores, rtol=1e-6)


def test_eval_model_on_raw_examples_matches_the_estimators_evaluation(canned_run, taxi_data):
    """No training/serving skew: the export over raw examples, with the label the transform
    graph computes, scores the eval split as the Estimator did over the transformed one."""
    result, _ = canned_run
    evaluate = load_eval_model(result.serving_model_dir, taxi_data.transform_graph_uri,
                               label_key=result.label_key)
    outputs = evaluate(_raw_eval(taxi_data))
    labels = outputs["label"].reshape(-1)
    probabilities = outputs["logistic"].reshape(-1)
    assert set(np.unique(labels)) == {0, 1}
    accuracy = float(np.mean((probabilities > 0.5) == labels))
    assert accuracy == pytest.approx(result.metrics["accuracy"], abs=1e-6)
    assert float(labels.mean()) == pytest.approx(result.metrics["label/mean"], abs=1e-6)
    assert float(probabilities.mean()) == pytest.approx(result.metrics["prediction/mean"],
                                                        abs=1e-5)


def test_the_recipe_rebuilds_the_estimator_that_reads_the_checkpoints(canned_run, taxi_data):
    """What the evaluator does: rebuild from the model_dir alone and evaluate a checkpoint."""
    result, _ = canned_run
    recipe = ModelRecipe.read(result.model_dir)
    assert recipe.estimator == "DNNLinearCombinedClassifier"
    estimator = recipe.build_estimator(result.model_dir)
    eval_fn = make_input_fn(taxi_data.transformed_examples_uri, "eval",
                            taxi_data.transform_graph_uri, label_key="big_tipper",
                            batch_size=1024, train=False)
    metrics = estimator.evaluate(eval_fn, checkpoint_path=result.final_checkpoint)
    assert float(metrics["auc"]) == pytest.approx(result.metrics["auc"], abs=1e-6)


def test_without_evaluation_it_trains_marks_done_and_exports_for_the_evaluator(taxi_data,
                                                                               tmp_path):
    model_uri = str(tmp_path / "model")
    result = run(_config(taxi_data, model_uri, train_steps=100, evaluate=False,
                         params={"dnn_hidden_units": [8]}))
    assert result.final_step == 100 and result.metrics == {}
    assert json.loads(open(os.path.join(model_uri, RESULT_FILE)).read())["metrics"] == {}
    # What the evaluator step needs: every checkpoint, the done mark and the serving model.
    assert read_training_done(result.model_dir)["final_step"] == 100
    assert result.final_checkpoint.endswith("model.ckpt-100")
    assert not os.path.exists(os.path.join(result.model_dir, "eval"))  # no evaluation ran
    assert tf.saved_model.load(result.serving_model_dir).signatures["serving_default"]


def test_evaluate_must_be_a_bool(taxi_data, tmp_path):
    with pytest.raises(TypeError, match="`evaluate` must be True or False; received 'no'"):
        _config(taxi_data, str(tmp_path / "model"), evaluate="no")


def test_user_module_trains_and_travels_with_the_model_dir(taxi_data, tmp_path):
    model_uri = str(tmp_path / "model")
    result = run(_config(taxi_data, model_uri, module_file=TRAINER_MODULE,
                         params={"hidden_units": [8], "learning_rate": 0.01}, train_steps=200))
    assert result.final_step == 200 and result.metrics["auc"] > 0.8
    copy = os.path.join(result.model_dir, MODULE_FILE)
    assert open(copy).read() == open(TRAINER_MODULE).read()
    recipe = ModelRecipe.read(result.model_dir)
    assert recipe.module_file == copy and recipe.task() == "classification"
    assert tf.saved_model.load(result.serving_model_dir).signatures["classification"]


def test_a_module_input_fn_reads_the_data_for_training_and_evaluation(taxi_data, tmp_path,
                                                                      monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("TRAINER_MODULE_CALLS", str(calls))
    module = os.path.join(os.path.dirname(__file__), "testdata", "module_with_input_fn.py")
    result = run(_config(taxi_data, str(tmp_path / "model"), module_file=module,
                         params={"hidden_units": [8]}, train_steps=100))
    assert result.final_step == 100 and result.metrics["auc"] > 0.7
    lines = calls.read_text().split()
    assert lines[0] == "training" and "evaluation" in lines
    assert set(lines) == {"training", "evaluation"}
    # The evaluator rebuilds the same input_fn from the model_dir's recipe.
    recipe = ModelRecipe.read(result.model_dir)
    eval_fn = recipe.input_fn(taxi_data.transformed_examples_uri, "eval", batch_size=64,
                              train=False)
    metrics = recipe.build_estimator(result.model_dir).evaluate(eval_fn)
    assert float(metrics["auc"]) == pytest.approx(result.metrics["auc"], abs=1e-6)
    assert calls.read_text().split()[-1] == "evaluation"


def test_a_base_model_artifact_warm_starts_a_new_model(canned_run, taxi_data, tmp_path):
    result, model_uri = canned_run
    # Warm start: a new model artifact initialized from the canned run's artifact.
    warm = run(_config(taxi_data, str(tmp_path / "warm"), warm_start_from=model_uri,
                       params={"dnn_hidden_units": [16, 8]}, train_steps=1))
    assert warm.final_step == 1
    base = ModelRecipe.read(result.model_dir).build_estimator(result.model_dir)
    name = next(n for n in base.get_variable_names() if "embedding_weights" in n)
    trained = base.get_variable_value(name)
    after_one_step = ModelRecipe.read(warm.model_dir).build_estimator(
        warm.model_dir).get_variable_value(name)
    # One Adagrad step moves the warm-started table only slightly from the trained one.
    assert np.abs(after_one_step - trained).max() < 0.1
    assert np.abs(trained).max() > 0.01


def test_missing_inputs_and_bad_recipes_fail_with_the_name_of_the_problem(taxi_data, tmp_path):
    with pytest.raises(ValueError, match="`estimator` 'DNNClassifer' is not a canned estimator"):
        _config(taxi_data, str(tmp_path), estimator="DNNClassifer")
    with pytest.raises(ValueError, match=r"`params` Unknown hyperparameters 'hiden_units' \(did you mean"):
        _config(taxi_data, str(tmp_path), params={"hiden_units": [4]})
    with pytest.raises(ValueError, match="`train_steps` must be >= 1"):
        _config(taxi_data, str(tmp_path), train_steps=0)
    with pytest.raises(ValueError, match="exactly one of the two"):
        _config(taxi_data, str(tmp_path), estimator="LinearClassifier",
                module_file=TRAINER_MODULE)
    with pytest.raises(FileNotFoundError, match="No example shards for split 'test'"):
        run(_config(taxi_data, str(tmp_path / "m1"), eval_split="test"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run(_config(taxi_data, str(tmp_path / "m2"), module_file=str(tmp_path / "nope.py")))
    with pytest.raises(ValueError, match="needs a class-id label"):
        run(_config(taxi_data, str(tmp_path / "m3"), estimator="LinearClassifier",
                    label_key="fare"))
