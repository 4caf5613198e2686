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


def test_vocab_infos_finds_every_table_of_a_vocabulary_column(tmp_path):
    # Wide & deep over one vocabulary: the linear weights and the embedding table are both
    # remapped; the optimizers' slots are not warm-started.
    old_vocab, new_vocab = tmp_path / "old_vocab", tmp_path / "new_vocab"
    old_vocab.write_text("paris\nrome\noslo\n")
    new_vocab.write_text("oslo\nlima\nparis\nrome\n")

    def make_wide_deep(model_dir, vocab, warm_start_from=None):
        city = fc.categorical_column_with_vocabulary_file("city", str(vocab), num_oov_buckets=1)
        return el.DNNLinearCombinedClassifier(
            linear_feature_columns=[city], dnn_feature_columns=[fc.embedding_column(city, 3)],
            dnn_hidden_units=[2], model_dir=str(model_dir), warm_start_from=warm_start_from,
            config=el.RunConfig(tf_random_seed=3)), [city, fc.embedding_column(city, 3)]

    span1, _ = make_wide_deep(tmp_path / "span1", old_vocab)
    span1.train(span_input_fn(["paris", "rome", "oslo", "lima"], [1, 0, 1, 0]), steps=5)
    _, columns = make_wide_deep(tmp_path / "span2", new_vocab)
    infos = el.vocab_infos(str(tmp_path / "span1"), columns, {"city": str(old_vocab)})
    assert sorted(infos) == ["dnn_input/city_embedding/embedding_weights",
                             "linear/city/weights"]
    assert all(info.new_vocab_size == 4 and info.num_oov_buckets == 1 and
               info.old_vocab_size == 3 for info in infos.values())
    span2, _ = make_wide_deep(tmp_path / "span2", new_vocab, el.WarmStartSettings(
        str(tmp_path / "span1"), var_name_to_vocab_info=infos))
    span2.train(span_input_fn(["oslo"], [1]), steps=1)  # Touches oslo's rows only.
    for name in infos:
        old, new = span1.get_variable_value(name), span2.get_variable_value(name)
        np.testing.assert_array_equal(new[[2, 3]], old[[0, 1]], err_msg=name)  # paris, rome
        np.testing.assert_array_equal(new[[1, 4]], np.zeros_like(new[[1, 4]]), err_msg=name)


def test_vocab_infos_for_ids_from_a_tf_transform_vocabulary(tmp_path):
    # The pipeline's columns: tf.Transform maps each token to its id in the span's
    # vocabulary file (ids past it are OOV buckets); the model sees identity columns.
    old_tokens, new_tokens = ["paris", "rome", "oslo"], ["oslo", "lima", "paris", "rome"]
    (tmp_path / "span1_vocab").write_text("\n".join(old_tokens))
    (tmp_path / "span2_vocab").write_text("\n".join(new_tokens))

    def ids_input_fn(tokens, vocabulary):
        ids = [[vocabulary.index(t) if t in vocabulary else len(vocabulary)] for t in tokens]
        return lambda: tf.data.Dataset.from_tensors(
            ({"city_id": np.array(ids, np.int64)}, np.ones([len(ids), 1], np.float32))).repeat()

    def make_linear(model_dir, vocabulary, warm_start_from=None):
        column = fc.categorical_column_with_identity("city_id", len(vocabulary) + 1)
        return el.LinearClassifier(feature_columns=[column], model_dir=str(model_dir),
                                   warm_start_from=warm_start_from), [column]

    span1, _ = make_linear(tmp_path / "span1", old_tokens)
    span1.train(ids_input_fn(["paris", "rome", "oslo", "lima"], old_tokens), steps=3)
    _, columns = make_linear(tmp_path / "span2", new_tokens)
    with pytest.raises(ValueError, match="must be in `new_vocabularies`"):
        el.vocab_infos(str(tmp_path / "span1"), columns, {"city_id": str(tmp_path / "span1_vocab")})
    infos = el.vocab_infos(str(tmp_path / "span1"), columns,
                           {"city_id": str(tmp_path / "span1_vocab")},
                           new_vocabularies={"city_id": str(tmp_path / "span2_vocab")})
    assert list(infos) == ["linear/city_id/weights"]
    (info,) = infos.values()
    assert (info.new_vocab_size, info.num_oov_buckets, info.old_vocab_size) == (4, 1, 3)
    span2, _ = make_linear(tmp_path / "span2", new_tokens,
                           el.WarmStartSettings(str(tmp_path / "span1"),
                                                var_name_to_vocab_info=infos))
    span2.train(ids_input_fn(["oslo"], new_tokens), steps=1)
    old = span1.get_variable_value("linear/city_id/weights")
    new = span2.get_variable_value("linear/city_id/weights")
    np.testing.assert_array_equal(new[[2, 3]], old[[0, 1]])  # paris, rome keep their rows
    np.testing.assert_array_equal(new[[1, 4]], np.zeros([2, 1]))  # lima (new), OOV
