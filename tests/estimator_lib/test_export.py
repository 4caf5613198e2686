"""export_saved_model: signatures TF Serving accepts, loaded in a fresh process."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import estimator_lib as el
from tests.estimator_lib import toy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAST = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None, steps_per_loop=20)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("export") / "model"
    estimator = el.Estimator(toy.model_fn, model_dir=str(model_dir), config=FAST)
    return estimator.train(toy.train_input_fn, steps=40)


def _signature_defs(export_dir):
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    defs = proto.meta_graphs[0].signature_def
    return {k: v for k, v in defs.items() if not k.startswith("__")}  # not the init op


def test_parsing_export_has_tf_serving_signatures(trained, tmp_path):
    base = tmp_path / "serving" / "taxi"
    export_dir = trained.export_saved_model(
        str(base), el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC))
    assert os.path.basename(export_dir).isdigit()  # TF Serving's integer version directory
    assert os.listdir(base) == [os.path.basename(export_dir)]  # no temporary directory left
    signatures = _signature_defs(export_dir)
    assert set(signatures) == {"serving_default", "classification", "regression"}
    assert signatures["serving_default"].method_name == "tensorflow/serving/predict"
    assert set(signatures["serving_default"].inputs) == {"examples"}
    assert set(signatures["serving_default"].outputs) == {"logits", "probabilities", "class_ids"}
    classify = signatures["classification"]
    assert classify.method_name == "tensorflow/serving/classify"
    assert set(classify.inputs) == {"inputs"} and set(classify.outputs) == {"classes", "scores"}
    regress = signatures["regression"]
    assert regress.method_name == "tensorflow/serving/regress"
    assert set(regress.inputs) == {"inputs"} and set(regress.outputs) == {"outputs"}


def test_export_runs_every_signature_in_a_fresh_process(trained, tmp_path):
    export_dir = trained.export_saved_model(
        str(tmp_path / "export"), el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC))
    examples = [e.hex() for e in toy.serialized_examples(10)]
    code = (
        "import json, sys, tensorflow as tf\n"
        "examples = tf.constant([bytes.fromhex(h) for h in json.loads(sys.argv[2])])\n"
        "model = tf.saved_model.load(sys.argv[1])\n"
        "out = {}\n"
        "out['predict'] = model.signatures['serving_default'](examples=examples)['probabilities'].numpy().tolist()\n"
        "c = model.signatures['classification'](inputs=examples)\n"
        "out['scores'] = c['scores'].numpy().tolist()\n"
        "out['classes'] = [[x.decode() for x in row] for row in c['classes'].numpy()]\n"
        "out['regress'] = model.signatures['regression'](inputs=examples)['outputs'].numpy().tolist()\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, export_dir, json.dumps(examples)],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    served = json.loads(result.stdout.strip().splitlines()[-1])
    expected = np.concatenate([b["probabilities"] for b in trained.predict(
        toy.predict_input_fn, yield_single_examples=False)])
    np.testing.assert_allclose(served["predict"], expected, rtol=1e-5)
    np.testing.assert_allclose(np.array(served["scores"])[:, 1:], expected, rtol=1e-5)
    np.testing.assert_allclose(np.array(served["scores"]).sum(axis=1), 1.0, rtol=1e-5)
    assert served["classes"][0] == ["0", "1"]
    np.testing.assert_allclose(served["regress"], expected[:, 0], rtol=1e-5)


def test_saved_model_cli_shows_the_signatures(trained, tmp_path):
    export_dir = trained.export_saved_model(
        str(tmp_path / "export"), el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC))
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", export_dir, "--all"], capture_output=True,
                           text=True, check=True).stdout
    assert "signature_def['classification']" in shown
    assert "Method name is: tensorflow/serving/classify" in shown
    assert "Method name is: tensorflow/serving/regress" in shown
    assert "inputs['examples'] tensor_info:" in shown


def test_raw_receiver_skips_example_signatures(trained, tmp_path, caplog):
    receiver_fn = el.export.build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 3], tf.float32)})
    with caplog.at_level("WARNING", logger="estimator_lib"):
        export_dir = trained.export_saved_model(str(tmp_path / "raw"), receiver_fn)
    assert set(_signature_defs(export_dir)) == {"serving_default"}
    assert "needs a receiver with one serialized tf.Example input" in caplog.text
    model = tf.saved_model.load(export_dir)
    out = model.signatures["serving_default"](x=tf.constant(toy.X[:4]))
    expected = next(trained.predict(toy.predict_input_fn, yield_single_examples=False))
    np.testing.assert_allclose(out["logits"].numpy(), expected["logits"], rtol=1e-5)


def test_as_text_assets_extra_and_versions(trained, tmp_path):
    extra = tmp_path / "vocab.txt"
    extra.write_text("a\nb\n")
    receiver_fn = el.export.build_parsing_serving_input_receiver_fn(toy.FEATURE_SPEC)
    first = trained.export_saved_model(str(tmp_path / "e"), receiver_fn, as_text=True,
                                       assets_extra={"vocab/vocab.txt": str(extra)})
    assert os.path.exists(os.path.join(first, "saved_model.pbtxt"))
    assert not os.path.exists(os.path.join(first, "saved_model.pb"))
    with open(os.path.join(first, "assets.extra", "vocab", "vocab.txt")) as f:
        assert f.read() == "a\nb\n"
    second = trained.export_savedmodel(str(tmp_path / "e"), receiver_fn)  # the paper's alias
    assert int(os.path.basename(second)) > int(os.path.basename(first))
    loaded = tf.saved_model.load(first)
    assert "serving_default" in loaded.signatures


def test_export_a_chosen_checkpoint(tmp_path):
    config = FAST.replace(save_checkpoints_steps=5, keep_checkpoint_max=None)
    estimator = el.Estimator(toy.model_fn, model_dir=str(tmp_path / "m"), config=config)
    estimator.train(toy.train_input_fn, steps=10)
    receiver_fn = el.export.build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 3])})
    early = tf.saved_model.load(estimator.export_saved_model(
        str(tmp_path / "e"), receiver_fn, checkpoint_path=os.path.join(estimator.model_dir, "model.ckpt-5")))
    assert int(early.global_step.numpy()) == 5


def test_bad_receivers(trained, tmp_path):
    with pytest.raises(TypeError, match="must return an el.export.ServingInputReceiver"):
        trained.export_saved_model(str(tmp_path), lambda: {"x": tf.TensorSpec([None])})
    with pytest.raises(TypeError, match=r"`receiver_tensors\['x'\]` must be a tf.TensorSpec"):
        el.export.ServingInputReceiver(features=None, receiver_tensors={"x": [1.0]})
    with pytest.raises(TypeError, match="`feature_spec` must be a non-empty dict"):
        el.export.build_parsing_serving_input_receiver_fn({})


def test_export_outputs_validation():
    with pytest.raises(ValueError, match="ClassificationOutput needs `scores`, `classes` or both"):
        el.export.ClassificationOutput()
    with pytest.raises(ValueError, match="`classes` must be a string tensor"):
        el.export.ClassificationOutput(classes=tf.constant([[1, 2]]))
    with pytest.raises(ValueError, match="must be a float tensor"):
        el.export.RegressionOutput(tf.constant([1, 2]))
    outputs = el.export.normalize_export_outputs({"only": el.export.PredictOutput(tf.ones([2]))}, None)
    assert set(outputs) == {"only", "serving_default"}
    with pytest.raises(ValueError, match="one must be named 'serving_default'"):
        el.export.normalize_export_outputs({"a": el.export.PredictOutput(tf.ones([1])),
                                            "b": el.export.PredictOutput(tf.ones([1]))}, None)
