"""Feature columns in a real Estimator: wide & deep train/evaluate/predict/export.

The exported SavedModel is loaded with tf.saved_model.load and run on serialized
tf.Examples after the vocabulary file it was built from is deleted: the export carries
its own copy of the file as an asset.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from estimator_lib import feature_columns as fc

CITIES = ["austin", "boston", "chicago", "denver"]
COLORS = ["red", "green", "blue"]
WORDS = ["cheap", "fast", "new", "used", "red"]
BATCH_SIZE = 16


def make_examples(count, seed):
    """Serialized tf.Examples; the label is 1 for Austin and Chicago (and 'elpaso' is OOV)."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(count):
        city = rng.choice(CITIES + ["elpaso"])
        words = list(rng.choice(WORDS, size=rng.integers(0, 3), replace=False))
        feature = {
            "city": [city.encode()], "color": [rng.choice(COLORS).encode()],
            "query": [w.encode() for w in words],
        }
        proto = tf.train.Example()
        for key, values in feature.items():
            proto.features.feature[key].bytes_list.value.extend(values)
        if rng.random() < 0.8:  # Sometimes missing: the numeric default fills in.
            proto.features.feature["age"].float_list.value.append(float(rng.uniform(18, 80)))
        proto.features.feature["label"].float_list.value.append(
            float(city in ("austin", "chicago")))
        examples.append(proto.SerializeToString())
    return examples


def make_columns(vocabulary_file):
    age = fc.numeric_column("age", default_value=40.0, normalizer_fn=lambda x: (x - 40.0) / 20.0)
    city = fc.categorical_column_with_vocabulary_file("city", vocabulary_file, num_oov_buckets=1)
    color = fc.categorical_column_with_vocabulary_list("color", COLORS)
    query = fc.categorical_column_with_hash_bucket("query", 50)
    deep = [age, fc.embedding_column(city, 4), fc.embedding_column(query, 3, combiner="sqrtn"),
            fc.indicator_column(color)]
    wide = [fc.bucketized_column(age, [-0.5, 0.5]), city,
            fc.crossed_column([query, color], hash_bucket_size=1000)]
    return deep, wide


def make_model_fn(deep, wide):
    def model_fn(features, labels, mode):
        hidden = keras.layers.Dense(8, activation="relu")(fc.DenseFeatures(deep)(features))
        logits = keras.layers.Dense(1)(hidden) + fc.LinearModel(wide)(features)
        probabilities = tf.sigmoid(logits)
        predictions = {"logits": logits, "probabilities": probabilities}
        if mode == el.ModeKeys.PREDICT:
            return el.EstimatorSpec(mode, predictions=predictions)
        loss = el.losses.sigmoid_cross_entropy(labels, logits)
        return el.EstimatorSpec(
            mode, loss=loss, predictions=predictions, train_op=keras.optimizers.Adagrad(0.3),
            eval_metric_ops={"accuracy": el.metrics.accuracy(
                labels, tf.cast(probabilities > 0.5, tf.float32))})

    return model_fn


def make_input_fn(examples, spec, repeat=False, labels=True):
    def input_fn():
        dataset = tf.data.Dataset.from_tensor_slices(examples)
        if repeat:
            dataset = dataset.repeat()
        full_spec = {**spec, "label": tf.io.FixedLenFeature([1], tf.float32)}

        def parse(serialized):
            features = tf.io.parse_example(serialized, full_spec)
            label = features.pop("label")
            return (features, label) if labels else features

        return dataset.batch(BATCH_SIZE).map(parse)

    return input_fn


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide_deep")
    vocabulary_file = root / "cities.txt"
    vocabulary_file.write_text("\n".join(CITIES) + "\n")
    deep, wide = make_columns(str(vocabulary_file))
    spec = fc.make_parse_example_spec(deep + wide)
    config = el.RunConfig(log_step_count_steps=None, save_checkpoints_secs=None,
                          steps_per_loop=20, tf_random_seed=1)
    estimator = el.Estimator(make_model_fn(deep, wide), model_dir=str(root / "model"),
                             config=config)
    return {"root": root, "vocabulary_file": vocabulary_file, "spec": spec,
            "estimator": estimator, "train": make_examples(256, seed=0),
            "test": make_examples(64, seed=1)}


def test_train_evaluate_predict_export(setup):
    estimator, spec = setup["estimator"], setup["spec"]
    train, test = setup["train"], setup["test"]
    assert spec["city"] == tf.io.VarLenFeature(tf.string)
    assert spec["age"] == tf.io.FixedLenFeature((1,), tf.float32, (40.0,))

    estimator.train(make_input_fn(train, spec, repeat=True), steps=100)
    metrics = estimator.evaluate(make_input_fn(test, spec))
    assert metrics["global_step"] == 100
    assert metrics["loss"] < 0.1  # From about log(2) = 0.69 at the start.
    assert metrics["accuracy"] > 0.9  # The city vocabulary decides the label.

    names = estimator.get_variable_names()
    for name in ["dense_features/city_embedding/embedding_weights",
                 "dense_features/query_embedding/embedding_weights",
                 "linear_model/city/weights", "linear_model/color_X_query/weights",
                 "linear_model/age_bucketized/weights", "linear_model/bias_weights"]:
        assert name in names, (name, names)
    city_weights = estimator.get_variable_value(
        "linear_model/city/weights").ravel()
    assert city_weights.shape == (5,)  # 4 cities + 1 OOV bucket.
    assert min(city_weights[0], city_weights[2]) > max(city_weights[1], city_weights[3])

    predictions = list(estimator.predict(make_input_fn(test, spec, labels=False)))
    probabilities = np.array([p["probabilities"] for p in predictions])
    assert probabilities.shape == (64, 1)

    receiver_fn = el.export.build_parsing_serving_input_receiver_fn(spec)
    export_dir = estimator.export_saved_model(str(setup["root"] / "export"), receiver_fn)
    assert os.listdir(os.path.join(export_dir, "assets")) == ["cities.txt"]

    os.remove(setup["vocabulary_file"])
    loaded = tf.saved_model.load(export_dir)
    serve = loaded.signatures["serving_default"]
    outputs = serve(examples=tf.constant(test))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), probabilities, rtol=1e-5,
                               atol=1e-6)
    # The loaded table maps the cities: Austin high, Boston low.
    austin, boston = (make_one(city) for city in ("austin", "boston"))
    scores = serve(examples=tf.constant([austin, boston]))["probabilities"].numpy().ravel()
    assert scores[0] > 0.5 > scores[1]


def make_one(city):
    proto = tf.train.Example()
    proto.features.feature["city"].bytes_list.value.append(city.encode())
    proto.features.feature["color"].bytes_list.value.append(b"red")
    return proto.SerializeToString()


def test_paper_wide_and_deep_columns_train_on_generated_data():
    """The KDD'17 paper's example: hashed query and docid, their cross, 32-dim embeddings."""
    query = fc.categorical_column_with_hash_bucket("query", hash_bucket_size=10_000)
    docid = fc.categorical_column_with_hash_bucket("docid", hash_bucket_size=10_000)
    wide_columns = [query, docid, fc.crossed_column([query, docid], hash_bucket_size=100_000)]
    deep_columns = [fc.embedding_column(query, 32), fc.embedding_column(docid, 32)]

    rng = np.random.default_rng(0)
    queries = rng.integers(0, 10, size=512)
    docids = rng.integers(0, 10, size=512)
    labels = ((queries + docids) % 3 == 0).astype(np.float32)[:, None]  # Only the cross knows.
    features = {"query": tf.constant([f"q{q}" for q in queries]),
                "docid": tf.constant([f"doc{d}" for d in docids])}

    deep = fc.DenseFeatures(deep_columns)
    hidden = keras.layers.Dense(16, activation="relu")
    output = keras.layers.Dense(1)
    wide = fc.LinearModel(wide_columns)
    optimizer = keras.optimizers.Adagrad(1.0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            embedded = deep(features)
            logits = output(hidden(embedded)) + wide(features)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))
        variables = deep.trainable_weights + hidden.trainable_weights + output.trainable_weights \
            + wide.trainable_weights
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss, embedded, logits

    first_loss, embedded, logits = step()
    assert embedded.shape == (512, 64) and logits.shape == (512, 1)
    for _ in range(30):
        loss, _, _ = step()
    assert float(loss) < 0.5 * float(first_loss)
    assert [w.path for w in wide.weights] == [
        "linear_model/docid/weights", "linear_model/docid_X_query/weights",
        "linear_model/query/weights", "linear_model/bias_weights"]
