"""Tests for estimator_lib.inputs: numpy, pandas and TFRecord input_fn builders."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from estimator_lib import inputs

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _collect(dataset):
    """Returns the dataset's elements as a list of numpy structures (sparse -> dense)."""

    def to_numpy(t):
        if isinstance(t, tf.SparseTensor):
            t = tf.sparse.to_dense(t)
        return t.numpy()

    return [tf.nest.map_structure(to_numpy, el, expand_composites=False) for el in dataset]


def _concat_labels(batches):
    return np.concatenate([labels for _, labels in batches])


def _input_context(num_pipelines, pipeline_id, num_replicas=None):
    return tf.distribute.InputContext(
        num_input_pipelines=num_pipelines,
        input_pipeline_id=pipeline_id,
        num_replicas_in_sync=num_replicas or num_pipelines,
    )


def _example(age, label, tags=(), name=b""):
    feature = {
        "age": tf.train.Feature(float_list=tf.train.FloatList(value=[age])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        "tags": tf.train.Feature(bytes_list=tf.train.BytesList(value=list(tags))),
        "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[name])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write_records(path, records, gzip=False):
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzip else "")
    with tf.io.TFRecordWriter(str(path), options=options) as writer:
        for record in records:
            writer.write(record)
    return str(path)


SPEC = {
    "age": tf.io.FixedLenFeature([], tf.float32),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "tags": tf.io.VarLenFeature(tf.string),
    "name": tf.io.FixedLenFeature([], tf.string),
}


def _write_shards(tmp_path, num_files, per_file, gzip=False):
    """Writes `num_files` files; record i (global) has age=i, label=i % 2."""
    paths = []
    for f in range(num_files):
        records = [_example(float(i), i % 2) for i in range(f * per_file, (f + 1) * per_file)]
        suffix = ".tfrecord.gz" if gzip else ".tfrecord"
        paths.append(_write_records(tmp_path / f"part-{f:03d}{suffix}", records, gzip=gzip))
    return paths


# --------------------------------------------------------------------------------------
# numpy_input_fn
# --------------------------------------------------------------------------------------


def test_numpy_no_shuffle_yields_exact_arrays_in_order():
    x = {"a": np.arange(10, dtype=np.float32), "b": np.arange(20).reshape(10, 2)}
    y = np.arange(100, 110)
    batches = _collect(inputs.numpy_input_fn(x, y, batch_size=4, shuffle=False)())

    assert [len(labels) for _, labels in batches] == [4, 4, 2]  # partial last batch kept
    features, labels = batches[0]
    assert features["a"].dtype == np.float32
    assert features["b"].shape == (4, 2)
    np.testing.assert_array_equal(np.concatenate([f["a"] for f, _ in batches]), x["a"])
    np.testing.assert_array_equal(np.concatenate([f["b"] for f, _ in batches]), x["b"])
    np.testing.assert_array_equal(_concat_labels(batches), y)


def test_numpy_epochs_count_exactly_and_batches_span_epochs():
    x = {"a": np.arange(5)}
    batches = _collect(
        inputs.numpy_input_fn(x, np.arange(5), batch_size=3, num_epochs=2, shuffle=False)()
    )
    labels = _concat_labels(batches)
    assert len(labels) == 10
    np.testing.assert_array_equal(labels, np.tile(np.arange(5), 2))
    assert [len(b) for _, b in batches] == [3, 3, 3, 1]


def test_numpy_num_epochs_none_repeats_forever():
    dataset = inputs.numpy_input_fn(
        {"a": np.arange(3)}, batch_size=2, num_epochs=None, shuffle=False
    )()
    values = np.concatenate([f["a"].numpy() for f in dataset.take(6)])
    np.testing.assert_array_equal(values, np.tile(np.arange(3), 4))


def test_numpy_without_y_yields_features_only():
    dataset = inputs.numpy_input_fn({"a": np.arange(3)}, batch_size=8, shuffle=False)()
    (features,) = _collect(dataset)
    assert isinstance(features, dict)
    np.testing.assert_array_equal(features["a"], [0, 1, 2])


def test_numpy_shuffle_is_a_permutation_and_reshuffles_each_epoch():
    n = 200
    x = {"a": np.arange(n)}
    y = np.arange(n) * 10
    batches = _collect(
        inputs.numpy_input_fn(x, y, batch_size=32, num_epochs=2, shuffle=True, queue_capacity=n)()
    )
    features = np.concatenate([f["a"] for f, _ in batches])
    labels = _concat_labels(batches)
    np.testing.assert_array_equal(labels, features * 10)  # rows stay aligned
    first, second = features[:n], features[n:]
    np.testing.assert_array_equal(np.sort(first), np.arange(n))
    np.testing.assert_array_equal(np.sort(second), np.arange(n))
    assert not np.array_equal(first, np.arange(n))
    assert not np.array_equal(first, second)


def test_numpy_y_dict_and_string_features():
    x = {"name": np.array(["ann", "bob", "cy"]), "objs": np.array(["p", "q", "r"], dtype=object)}
    y = {"clicked": np.array([1, 0, 1]), "score": np.array([0.5, 0.25, 1.0])}
    ((features, labels),) = _collect(inputs.numpy_input_fn(x, y, batch_size=3, shuffle=False)())
    assert features["name"].tolist() == [b"ann", b"bob", b"cy"]
    assert features["objs"].tolist() == [b"p", b"q", b"r"]
    assert set(labels) == {"clicked", "score"}
    np.testing.assert_array_equal(labels["clicked"], [1, 0, 1])
    np.testing.assert_allclose(labels["score"], [0.5, 0.25, 1.0])


def test_numpy_length_mismatch_names_key_and_lengths():
    with pytest.raises(ValueError, match=r"`x\['b'\]` has 3 rows while `x\['a'\]` has 4"):
        inputs.numpy_input_fn({"a": np.zeros(4), "b": np.zeros(3)}, shuffle=False)
    with pytest.raises(ValueError, match=r"`y` has 5 rows while `x\['a'\]` has 4"):
        inputs.numpy_input_fn({"a": np.zeros(4)}, np.zeros(5), shuffle=False)
    with pytest.raises(ValueError, match=r"`y\['c'\]` has 2 rows"):
        inputs.numpy_input_fn({"a": np.zeros(4)}, {"c": np.zeros(2)}, shuffle=False)


def test_numpy_shuffle_must_be_explicit():
    with pytest.raises(ValueError, match=r"`shuffle` must be given explicitly as a bool, got None"):
        inputs.numpy_input_fn({"a": np.zeros(4)})
    with pytest.raises(ValueError, match="`shuffle`"):
        inputs.numpy_input_fn({"a": np.zeros(4)}, shuffle="yes")


def test_numpy_rejects_bare_array_and_bad_args():
    with pytest.raises(TypeError, match=r"`x` must be a dict .* got ndarray"):
        inputs.numpy_input_fn(np.zeros(4), shuffle=False)
    with pytest.raises(ValueError, match="`batch_size` must be a positive int, got 0"):
        inputs.numpy_input_fn({"a": np.zeros(4)}, batch_size=0, shuffle=False)
    with pytest.raises(ValueError, match="`num_epochs`"):
        inputs.numpy_input_fn({"a": np.zeros(4)}, num_epochs=0, shuffle=False)
    with pytest.raises(ValueError, match="empty dict"):
        inputs.numpy_input_fn({}, shuffle=False)
    with pytest.raises(TypeError, match="dtype object"):
        inputs.numpy_input_fn({"a": np.array([{}, {}], dtype=object)}, shuffle=False)


def test_numpy_input_context_shards_disjointly_with_per_replica_batch():
    n = 10
    input_fn = inputs.numpy_input_fn({"a": np.arange(n)}, np.arange(n), batch_size=4, shuffle=False)
    seen = []
    for pipeline_id in range(2):
        batches = _collect(input_fn(input_context=_input_context(2, pipeline_id)))
        assert max(len(labels) for _, labels in batches) == 2  # 4 global / 2 replicas
        seen.append(set(_concat_labels(batches).tolist()))
    assert seen[0].isdisjoint(seen[1])
    assert seen[0] | seen[1] == set(range(n))


def test_numpy_input_fn_works_in_graph_mode():
    input_fn = inputs.numpy_input_fn({"a": np.arange(3)}, np.arange(3), batch_size=2, shuffle=False)
    with tf.Graph().as_default():
        features, labels = tf.compat.v1.data.make_one_shot_iterator(input_fn()).get_next()
        with tf.compat.v1.Session() as sess:
            first = sess.run([features["a"], labels])
            second = sess.run([features["a"], labels])
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(labels)
    np.testing.assert_array_equal(first[0], [0, 1])
    np.testing.assert_array_equal(second[1], [2])


# --------------------------------------------------------------------------------------
# pandas_input_fn
# --------------------------------------------------------------------------------------


def test_pandas_dtypes_strings_and_series_label():
    df = pd.DataFrame(
        {
            "age": np.array([21, 35, 52], dtype=np.int64),
            "height": np.array([1.5, 1.7, 1.9], dtype=np.float32),
            "city": ["Oslo", "Rome", "Lima"],
            "member": [True, False, True],
            "tier": pd.Categorical(["a", "b", "a"]),
            "visits": pd.array([1, 2, 3], dtype="Int64"),
        }
    )
    y = pd.Series([0, 1, 1])
    ((features, labels),) = _collect(inputs.pandas_input_fn(df, y, batch_size=3, shuffle=False)())
    assert features["age"].dtype == np.int64
    assert features["height"].dtype == np.float32
    assert features["member"].dtype == np.bool_
    assert features["visits"].dtype == np.int64
    assert features["city"].tolist() == [b"Oslo", b"Rome", b"Lima"]
    assert features["tier"].tolist() == [b"a", b"b", b"a"]
    np.testing.assert_array_equal(labels, [0, 1, 1])

    dataset = inputs.pandas_input_fn(df, y, batch_size=3, shuffle=False)()
    assert dataset.element_spec[0]["city"].dtype == tf.string


def test_pandas_dataframe_label_and_no_label():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=[7, 8, 9])
    y = pd.DataFrame({"l1": [1, 2, 3], "l2": ["x", "y", "z"]}, index=[7, 8, 9])
    batches = _collect(inputs.pandas_input_fn(df, y, batch_size=2, shuffle=False)())
    assert [len(f["a"]) for f, _ in batches] == [2, 1]
    assert batches[0][1]["l1"].tolist() == [1, 2]
    assert batches[1][1]["l2"].tolist() == [b"z"]

    (features,) = _collect(inputs.pandas_input_fn(df, batch_size=5, shuffle=False)())
    np.testing.assert_array_equal(features["a"], [1.0, 2.0, 3.0])


def test_pandas_shuffle_and_epochs():
    df = pd.DataFrame({"a": np.arange(50)})
    y = pd.Series(np.arange(50) + 1000)
    batches = _collect(inputs.pandas_input_fn(df, y, batch_size=16, num_epochs=3, shuffle=True)())
    features = np.concatenate([f["a"] for f, _ in batches])
    assert len(features) == 150
    np.testing.assert_array_equal(_concat_labels(batches), features + 1000)
    np.testing.assert_array_equal(np.sort(features), np.repeat(np.arange(50), 3))


def test_pandas_errors():
    df = pd.DataFrame({"a": [1, 2, 3]})
    with pytest.raises(TypeError, match="`x` must be a pandas DataFrame, got dict"):
        inputs.pandas_input_fn({"a": np.zeros(3)}, shuffle=False)
    with pytest.raises(ValueError, match="indexes of `x` and `y` must be equal"):
        inputs.pandas_input_fn(df, pd.Series([1, 2, 3], index=[1, 2, 3]), shuffle=False)
    with pytest.raises(ValueError, match="`shuffle` must be given explicitly"):
        inputs.pandas_input_fn(df, pd.Series([1, 2, 3]))
    with pytest.raises(TypeError, match="`y` must be a pandas Series"):
        inputs.pandas_input_fn(df, np.array([1, 2, 3]), shuffle=False)
    with pytest.raises(ValueError, match="missing values"):
        inputs.pandas_input_fn(pd.DataFrame({"s": ["a", None, "c"]}), shuffle=False)


# --------------------------------------------------------------------------------------
# make_batched_features_input_fn
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_tfrecord_reads_features_and_labels(tmp_path, gzip):
    records = [
        _example(1.5, 0, tags=[b"a"], name=b"r0"),
        _example(2.5, 1, tags=[b"b", b"c"], name=b"r1"),
        _example(3.5, 1, tags=[], name=b"r2"),
    ]
    path = _write_records(
        tmp_path / ("data.tfrecord" + (".gz" if gzip else "")), records, gzip=gzip
    )
    input_fn = inputs.make_batched_features_input_fn(
        path,
        SPEC,
        label_key="label",
        batch_size=2,
        num_epochs=1,
        shuffle=False,
        compression_type="GZIP" if gzip else None,
    )
    batches = list(input_fn())
    assert len(batches) == 2
    features, labels = batches[0]
    assert set(features) == {"age", "tags", "name"}  # label popped
    np.testing.assert_allclose(features["age"].numpy(), [1.5, 2.5])
    np.testing.assert_array_equal(labels.numpy(), [0, 1])
    assert features["name"].numpy().tolist() == [b"r0", b"r1"]
    tags = features["tags"]
    assert isinstance(tags, tf.SparseTensor)
    assert tags.dense_shape.numpy().tolist() == [2, 2]
    assert tags.indices.numpy().tolist() == [[0, 0], [1, 0], [1, 1]]
    assert tags.values.numpy().tolist() == [b"a", b"b", b"c"]
    last_features, last_labels = batches[1]
    np.testing.assert_allclose(last_features["age"].numpy(), [3.5])
    np.testing.assert_array_equal(last_labels.numpy(), [1])


def test_tfrecord_auto_compression_mixed_files(tmp_path):
    plain = _write_records(tmp_path / "a.tfrecord", [_example(1.0, 0)])
    gz = _write_records(tmp_path / "b.tfrecord.gz", [_example(2.0, 1)], gzip=True)
    input_fn = inputs.make_batched_features_input_fn(
        [plain, gz],
        SPEC,
        label_key="label",
        batch_size=4,
        num_epochs=1,
        shuffle=False,
        compression_type="auto",
    )
    ((features, labels),) = _collect(input_fn())
    assert sorted(features["age"].tolist()) == [1.0, 2.0]
    assert sorted(labels.tolist()) == [0, 1]


def test_tfrecord_without_label_key_and_epochs(tmp_path):
    _write_shards(tmp_path, num_files=2, per_file=5)
    input_fn = inputs.make_batched_features_input_fn(
        str(tmp_path / "part-*.tfrecord"),
        SPEC,
        batch_size=4,
        num_epochs=2,
        shuffle=True,
        shuffle_buffer_size=100,
    )
    batches = _collect(input_fn())
    assert all(isinstance(b, dict) and "label" in b for b in batches)
    ages = np.concatenate([b["age"] for b in batches])
    np.testing.assert_array_equal(np.sort(ages), np.repeat(np.arange(10.0), 2))
    assert [len(b["age"]) for b in batches] == [4, 4, 4, 4, 4]


def test_tfrecord_drop_final_batch_gives_static_shape(tmp_path):
    path = _write_records(tmp_path / "d.tfrecord", [_example(float(i), 0) for i in range(5)])
    dataset = inputs.make_batched_features_input_fn(
        path,
        SPEC,
        label_key="label",
        batch_size=2,
        num_epochs=1,
        shuffle=False,
        drop_final_batch=True,
    )()
    assert dataset.element_spec[1].shape.as_list() == [2]
    assert len(list(dataset)) == 2


def test_tfrecord_label_key_not_in_spec():
    with pytest.raises(ValueError, match=r"`label_key` 'target' is not in `feature_spec`"):
        inputs.make_batched_features_input_fn("x-*", SPEC, label_key="target")


def test_tfrecord_bad_arguments():
    with pytest.raises(TypeError, match=r"`feature_spec\['age'\]`"):
        inputs.make_batched_features_input_fn("x-*", {"age": tf.float32})
    with pytest.raises(ValueError, match="`compression_type`"):
        inputs.make_batched_features_input_fn("x-*", SPEC, compression_type="bz2")
    with pytest.raises(TypeError, match="`file_pattern`"):
        inputs.make_batched_features_input_fn([], SPEC)


def test_tfrecord_missing_files_raise_naming_pattern(tmp_path):
    pattern = str(tmp_path / "nothing-*.tfrecord")
    input_fn = inputs.make_batched_features_input_fn(pattern, SPEC)  # Builder is lazy.
    with pytest.raises(ValueError, match=re.escape(f"`file_pattern` {pattern!r} matches no files")):
        input_fn()
    existing = _write_records(tmp_path / "one.tfrecord", [_example(1.0, 0)])
    input_fn = inputs.make_batched_features_input_fn([existing, pattern], SPEC)
    with pytest.raises(ValueError, match="nothing-"):
        input_fn()


@pytest.mark.parametrize("shuffle", [False, True])
def test_tfrecord_input_context_shards_are_disjoint_and_cover_all(tmp_path, shuffle):
    _write_shards(tmp_path, num_files=4, per_file=3)
    input_fn = inputs.make_batched_features_input_fn(
        str(tmp_path / "part-*"),
        SPEC,
        label_key="label",
        batch_size=4,
        num_epochs=1,
        shuffle=shuffle,
    )
    shards = []
    for pipeline_id in range(2):
        batches = _collect(input_fn(input_context=_input_context(2, pipeline_id)))
        assert max(len(labels) for _, labels in batches) == 2  # per-replica batch size
        ages = np.concatenate([f["age"] for f, _ in batches]).tolist()
        assert len(ages) == 6
        shards.append(set(ages))
    assert shards[0].isdisjoint(shards[1])
    assert shards[0] | shards[1] == {float(i) for i in range(12)}


def test_tfrecord_too_few_files_for_pipelines(tmp_path):
    path = _write_records(tmp_path / "only.tfrecord", [_example(1.0, 0)])
    input_fn = inputs.make_batched_features_input_fn(path, SPEC, batch_size=6, num_epochs=1)
    with pytest.raises(ValueError, match="matches 1 file.*3 input pipelines"):
        input_fn(input_context=_input_context(3, 0))
