"""Warm start with vocabulary remapping through an Estimator: a vocabulary that grew
between two spans keeps every known token's learned row."""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib import feature_columns as fc

TABLE = "dnn_input/city_embedding/embedding_weights"
KERNEL = "dnn_hiddenlayer_0/kernel"


def span_input_fn(cities, labels):
    def input_fn():
        features = {"city": np.array(cities, object)[:, None]}
        return tf.data.Dataset.from_tensor_slices(
            (features, np.array(labels, np.float32)[:, None])).repeat().batch(4)
    return input_fn


def make(model_dir, vocab_file, size, warm_start_from=None):
    city = fc.categorical_column_with_vocabulary_file("city", vocab_file, num_oov_buckets=1)
    return el.DNNClassifier(feature_columns=[fc.embedding_column(city, 3)], hidden_units=[2],
                            model_dir=model_dir, warm_start_from=warm_start_from,
                            config=el.RunConfig(tf_random_seed=3))


def test_a_grown_vocabulary_keeps_the_rows_of_known_tokens(tmp_path):
    old_vocab = tmp_path / "span1_vocab"
    old_vocab.write_text("paris\nrome\noslo\n")
    span1 = make(str(tmp_path / "span1"), str(old_vocab), 3)
    span1.train(span_input_fn(["paris", "rome", "oslo", "lima"], [1, 0, 1, 0]), steps=5)
    assert TABLE in span1.get_variable_names(), span1.get_variable_names()
    old_table = span1.get_variable_value(TABLE)  # rows: paris, rome, oslo, OOV

    new_vocab = tmp_path / "span2_vocab"  # Re-ranked, with a new token.
    new_vocab.write_text("oslo\nlima\nparis\nrome\n")
    info = el.VocabInfo(new_vocab=str(new_vocab), new_vocab_size=4, num_oov_buckets=1,
                        old_vocab=str(old_vocab),
                        backup_initializer=lambda shape, dtype: tf.fill(shape, 0.25))
    settings = el.WarmStartSettings(str(tmp_path / "span1"),
                                    var_name_to_vocab_info={TABLE: info})

    class InitialTable(el.Hook):
        def after_create(self, run_context):
            self.value = run_context.variables[TABLE].numpy()
            self.kernel = run_context.variables[KERNEL].numpy()

    initial = InitialTable()
    span2 = make(str(tmp_path / "span2"), str(new_vocab), 4, warm_start_from=settings)
    span2.train(span_input_fn(["oslo", "lima", "paris", "rome"], [1, 0, 1, 0]), steps=1,
                hooks=[initial])
    np.testing.assert_array_equal(initial.value[[0, 2, 3]], old_table[[2, 0, 1]])
    np.testing.assert_array_equal(initial.value[[1, 4]], np.full([2, 3], 0.25, np.float32))
    # Every other trainable variable was warm-started as it was (vars_to_warm_start='.*').
    np.testing.assert_array_equal(initial.kernel, span1.get_variable_value(KERNEL))


def test_vocab_info_checks_its_arguments():
    with pytest.raises(ValueError, match="`new_vocab_size` must be an integer >= 1"):
        el.VocabInfo(["a"], 0, 0, ["a"])
    with pytest.raises(ValueError, match="`axis` must be 0"):
        el.VocabInfo(["a"], 1, 0, ["a"], axis=2)
    with pytest.raises(TypeError, match="`old_vocab` must be a file path or a list"):
        el.VocabInfo(["a"], 1, 0, [1, 2])
    with pytest.raises(TypeError, match="must be an el.VocabInfo"):
        el.WarmStartSettings("/tmp/x", var_name_to_vocab_info={"w": "vocab.txt"})
