"""tf.estimator's warm-start expectations (tensorflow/python/training/
warm_starting_util_test.py), on `el.checkpoint.warm_start` and `el.VocabInfo`.

Inputs and expected numbers are the legacy test's; each case names the legacy test. The
legacy partitioned-variable variants expect the same values as the unpartitioned ones
(this library has no partitioned variables), so their numbers are checked once each.
"""

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el

OLD_FRUITS = ["apple", "banana", "guava", "orange"]
REVERSED_PLUS_ONE = ["orange", "guava", "banana", "apple", "raspberry"]
REVERSED_PLUS_TWO = ["orange", "guava", "banana", "apple", "raspberry", "blueberry"]
FRUIT_WEIGHTS = [[0.5], [1.0], [1.5], [2.0]]


def write_checkpoint(directory, values):
    """A checkpoint of this library's format holding `values` (name -> array)."""
    checkpoint = el.checkpoint.make_checkpoint(
        tf.Variable(0, dtype=tf.int64),
        {name: tf.Variable(np.asarray(value, np.float32)) for name, value in values.items()})
    tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=None,
                               checkpoint_name="model.ckpt").save(checkpoint_number=0)
    return str(directory)


def write_vocab(path, tokens):
    path.write_text("\n".join(tokens))
    return str(path)


def warm(directory, shapes, **settings):
    """Warm-starts zero variables of `shapes` (name -> shape); returns their values."""
    variables = {name: tf.Variable(tf.zeros(shape)) for name, shape in shapes.items()}
    el.checkpoint.warm_start(el.WarmStartSettings(directory, **settings), variables)
    return {name: v.numpy() for name, v in variables.items()}


# (legacy test, old vocab, old weights, new vocab, VocabInfo overrides, new shape, expected)
VOCAB_CASES = [
    ("testWarmStartVarWithVocab", OLD_FRUITS, FRUIT_WEIGHTS, REVERSED_PLUS_ONE, {}, [5, 1],
     [[2.0], [1.5], [1.0], [0.5], [0.0]]),
    ("testWarmStartVarWithVocabConstrainedOldVocabSize", OLD_FRUITS, FRUIT_WEIGHTS,
     REVERSED_PLUS_ONE, {"old_vocab_size": 2}, [5, 1], [[0.0], [0.0], [1.0], [0.5], [0.0]]),
    ("testWarmStartVarWithVocabCurrentVarPartitioned (one OOV bucket)", OLD_FRUITS,
     FRUIT_WEIGHTS, REVERSED_PLUS_ONE, {"num_oov_buckets": 1}, [6, 1],
     [[2.0], [1.5], [1.0], [0.5], [0.0], [0.0]]),
    ("testWarmStartVarWithVocabBothVarsPartitioned (two new tokens)", OLD_FRUITS,
     FRUIT_WEIGHTS, REVERSED_PLUS_TWO, {}, [6, 1], [[2.0], [1.5], [1.0], [0.5], [0.0], [0.0]]),
    ("testWarmStartVarWithColumnVocab (axis=1)", ["apple", "orange"],
     [[0.5, 0.3], [1.0, 0.8], [1.5, 1.2], [2.0, 2.3]], ["orange", "apple", "banana"],
     {"axis": 1}, [4, 3],
     [[0.3, 0.5, 0.0], [0.8, 1.0, 0.0], [1.2, 1.5, 0.0], [2.3, 2.0, 0.0]]),
    ("testWarmStart_SparseColumnVocabularyConstrainedVocabSizes", ["apple", "guava", "banana"],
     [[1.0], [1.0]], ["apple", "banana", "guava", "orange"],
     {"old_vocab_size": 2, "new_vocab_size": 2}, [2, 1], [[1.0], [0.0]]),
    ("testWarmStartMoreSettingsNoPartitioning", OLD_FRUITS, [[0.5], [1.0], [2.0], [3.0]],
     REVERSED_PLUS_TWO, {}, [6, 1], [[3.0], [2.0], [1.0], [0.5], [0.0], [0.0]]),
]


@pytest.mark.parametrize("legacy, old_vocab, old_value, new_vocab, overrides, shape, expected",
                         VOCAB_CASES, ids=[c[0] for c in VOCAB_CASES])
def test_vocab_remapping(tmp_path, legacy, old_vocab, old_value, new_vocab, overrides, shape,
                         expected):
    directory = write_checkpoint(tmp_path / "old", {"fruit_weights": old_value})
    info = el.VocabInfo(
        new_vocab=write_vocab(tmp_path / "new_vocab", new_vocab),
        new_vocab_size=overrides.get("new_vocab_size", len(new_vocab)),
        num_oov_buckets=overrides.get("num_oov_buckets", 0),
        old_vocab=write_vocab(tmp_path / "old_vocab", old_vocab),
        old_vocab_size=overrides.get("old_vocab_size", -1), axis=overrides.get("axis", 0))
    values = warm(directory, {"fruit_weights": shape},
                  var_name_to_vocab_info={"fruit_weights": info})
    np.testing.assert_allclose(values["fruit_weights"], expected)


def test_warm_start_embedding_column_backup_initializer(tmp_path):
    # testWarmStartEmbeddingColumn: new rows take the backup initializer's 0.42.
    directory = write_checkpoint(tmp_path / "old", {
        "input_layer/sc_vocab_embedding/embedding_weights":
            [[0.5, 0.4], [1.0, 1.1], [2.0, 2.2], [3.0, 3.3]]})
    info = el.VocabInfo(REVERSED_PLUS_TWO, 6, 0, OLD_FRUITS,
                        backup_initializer=lambda shape, dtype: tf.fill(shape, 0.42))
    name = "input_layer/sc_vocab_embedding/embedding_weights"
    values = warm(directory, {name: [6, 2]}, var_name_to_vocab_info={name: info})
    np.testing.assert_allclose(values[name], [[3.0, 3.3], [2.0, 2.2], [1.0, 1.1], [0.5, 0.4],
                                              [0.42, 0.42], [0.42, 0.42]])


def test_warm_start_embedding_column_linear_model(tmp_path):
    # testWarmStartEmbeddingColumnLinearModel: the remapped table and the plain weights.
    table, weights = ("linear_model/sc_vocab_embedding/embedding_weights",
                      "linear_model/sc_vocab_embedding/weights")
    directory = write_checkpoint(tmp_path / "old", {
        table: [[0.5, 0.4], [1.0, 1.1], [2.0, 2.2], [3.0, 3.3]], weights: [[0.69], [0.71]]})
    info = el.VocabInfo(REVERSED_PLUS_TWO, 6, 0, OLD_FRUITS,
                        backup_initializer=lambda shape, dtype: tf.fill(shape, 0.42))
    values = warm(directory, {table: [6, 2], weights: [2, 1]}, vars_to_warm_start=".*sc_vocab.*",
                  var_name_to_vocab_info={table: info})
    np.testing.assert_allclose(values[weights], [[0.69], [0.71]])
    np.testing.assert_allclose(values[table], [[3.0, 3.3], [2.0, 2.2], [1.0, 1.1], [0.5, 0.4],
                                               [0.42, 0.42], [0.42, 0.42]])


def test_warm_start_more_settings(tmp_path):
    # testWarmStartMoreSettings / testWarmStartVarsToWarmstartIsNone: a regex selection, a
    # renamed variable and a remapped one; with vars_to_warm_start=None only the remapped.
    keys = np.array([[0.1], [0.2], [0.3], [0.4]], np.float32)
    directory = write_checkpoint(tmp_path / "old", {
        "linear_model/sc_hash/weights": np.ones([15, 1]), "some_other_name": keys,
        "linear_model/sc_vocab/weights": [[0.5], [1.0], [2.0], [3.0]]})
    info = el.VocabInfo(REVERSED_PLUS_TWO, 6, 0, OLD_FRUITS)
    shapes = {"linear_model/sc_hash/weights": [15, 1], "linear_model/sc_keys/weights": [4, 1],
              "linear_model/sc_vocab/weights": [6, 1]}
    remapped = [[3.0], [2.0], [1.0], [0.5], [0.0], [0.0]]
    for patterns, expected_keys in ((".*(sc_keys|sc_vocab).*", keys), (None, np.zeros([4, 1]))):
        values = warm(directory, shapes, vars_to_warm_start=patterns,
                      var_name_to_vocab_info={"linear_model/sc_vocab/weights": info},
                      var_name_to_prev_var_name={"linear_model/sc_keys/weights":
                                                 "some_other_name"})
        np.testing.assert_allclose(values["linear_model/sc_keys/weights"], expected_keys)
        np.testing.assert_allclose(values["linear_model/sc_hash/weights"], np.zeros([15, 1]))
        np.testing.assert_allclose(values["linear_model/sc_vocab/weights"], remapped)


@pytest.mark.parametrize("legacy, settings", [
    ("testWarmStart_ListOfStrings", {"vars_to_warm_start": ["v1"]}),
    ("testWarmStart_TwoVarsFromTheSamePrevVar",
     {"vars_to_warm_start": ["v1", "v2"], "var_name_to_prev_var_name": {"v2": "v1"}}),
])
def test_warm_start_by_name(tmp_path, legacy, settings):
    directory = write_checkpoint(tmp_path / "old", {"v1": np.ones([10, 1])})
    names = settings["vars_to_warm_start"]
    values = warm(directory, {name: [10, 1] for name in names}, **settings)
    for name in names:
        np.testing.assert_array_equal(values[name], np.ones([10, 1]))


def test_warm_start_list_of_regexes(tmp_path):
    # testWarmStart_ListOfRegexes: "v1" takes v1 and v1/Momentum, "v2" alone not v2/Momentum
    # (legacy wrote "v2[^/]", which matched the ":0" of TF1 variable names).
    names = ["v1", "v1/Momentum", "v2", "v2/Momentum"]
    directory = write_checkpoint(tmp_path / "old", {n: np.ones([10, 1]) for n in names})
    values = warm(directory, {n: [10, 1] for n in names}, vars_to_warm_start=["v1", "v2$"])
    for name, expected in zip(names, (1.0, 1.0, 1.0, 0.0), strict=True):
        np.testing.assert_array_equal(values[name], np.full([10, 1], expected), err_msg=name)


@pytest.mark.parametrize("settings", [
    {"var_name_to_vocab_info": {"y": el.VocabInfo(["a"], 1, 0, ["a"])}},
    {"var_name_to_prev_var_name": {"y": "y2"}},
], ids=["vocab_info", "prev_var_name"])
def test_error_conditions(tmp_path, settings):
    # testErrorConditions: a name that is no variable of the model is an error.
    directory = write_checkpoint(tmp_path / "old", {"x": np.ones([4, 1])})
    with pytest.raises(ValueError, match="'y'"):
        warm(directory, {"x": [4, 1]}, **settings)


def test_vocab_info_checks_the_shape(tmp_path):
    directory = write_checkpoint(tmp_path / "old", {"w": FRUIT_WEIGHTS})
    info = el.VocabInfo(REVERSED_PLUS_ONE, 5, 1, OLD_FRUITS)
    with pytest.raises(ValueError, match="new_vocab_size \\+ num_oov_buckets is 6"):
        warm(directory, {"w": [5, 1]}, var_name_to_vocab_info={"w": info})
