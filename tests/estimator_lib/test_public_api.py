"""The public surface: every name in __all__ resolves, and the paper's names exist."""

import estimator_lib as el


def test_every_name_in_all_resolves():
    missing = [name for name in el.__all__ if not hasattr(el, name)]
    assert missing == []
    assert sorted(el.__all__) == el.__all__


def test_paper_and_tf_estimator_names():
    assert el.ModeKeys.TRAIN == "train" and el.ModeKeys.EVAL == "eval"
    assert el.ModeKeys.PREDICT == "infer"
    assert el.SessionRunHook is el.Hook
    assert callable(el.Estimator.export_savedmodel)
    for name in ("numpy_input_fn", "pandas_input_fn", "make_batched_features_input_fn"):
        assert callable(getattr(el.inputs, name))
    for name in ("ServingInputReceiver", "build_parsing_serving_input_receiver_fn",
                 "build_raw_serving_input_receiver_fn", "PredictOutput", "ClassificationOutput",
                 "RegressionOutput"):
        assert hasattr(el.export, name)
