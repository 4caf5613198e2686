"""A Python spec's shared embeddings and weighted column, from the transform step through the
trainer: the model holds one table for the shared group and weighs the ids as declared."""

import os
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import estimator_lib as el
from components.artifacts import transform_graph
from components.trainer.config import TrainerConfig
from components.trainer.executor import run as run_trainer
from components.transform.executor import TransformConfig
from components.transform.executor import run as run_transform
from tests.components.transform.taxi_inputs import load_frame, write_inputs

SPEC = textwrap.dedent('''
    import estimator_lib as el
    from components.transform.python_spec import expression, z_score

    fc = el.feature_column
    LABEL = "big_tipper"
    pickup = fc.categorical_column_with_identity("pickup_community_area", 78)
    dropoff = fc.categorical_column_with_identity("dropoff_community_area", 78)
    payment = fc.categorical_column_with_hash_bucket("payment_type", 16)
    FEATURES = [
        *fc.shared_embeddings([pickup, dropoff], dimension=4,
                              shared_embedding_collection_name="community_areas"),
        fc.weighted_categorical_column(payment, "trip_miles"),
        fc.numeric_column("trip_miles"),
        z_score("fare"),
        expression("big_tipper", "tips > 0.2 * fare"),
    ]
''')
STEPS = 40


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("feature_choices"))
    inputs = write_inputs(os.path.join(root, "ingest"), load_frame(600))
    spec_file = os.path.join(root, "spec.py")
    with open(spec_file, "w") as f:
        f.write(SPEC)
    transform = TransformConfig(
        examples_uri=inputs.examples_uri, schema_uri=inputs.schema_uri,
        transformed_examples_uri=os.path.join(root, "transformed"),
        transform_graph_uri=os.path.join(root, "graph"), spec_file=spec_file)
    run_transform(transform)
    result = run_trainer(TrainerConfig(
        examples_uri=transform.transformed_examples_uri,
        transform_graph_uri=transform.transform_graph_uri, model_uri=os.path.join(root, "model"),
        estimator="DNNLinearCombinedClassifier", params={"dnn_hidden_units": [8]},
        train_steps=STEPS, batch_size=32, save_checkpoints_steps=STEPS))
    return transform, result


def test_the_contract_records_the_group_and_the_weight(trained):
    transform, _ = trained
    description = transform_graph.read_feature_description(transform.transform_graph_uri)
    assert description["shared_embeddings"] == [{
        "name": "community_areas", "dimension": 4, "combiner": "mean",
        "features": ["pickup_community_area", "dropoff_community_area"]}]
    assert description["features"]["payment_type"]["weight"] == "trip_miles"


def test_the_model_has_one_shared_table_and_the_weighted_column(trained):
    _, result = trained
    assert result.final_step == STEPS
    variables = {name: shape for name, (_, shape) in
                 el.checkpoint.list_variables(result.model_dir).items()
                 if "optimizer" not in name.split("/")[0]}
    tables = {name: shape for name, shape in variables.items()
              if name.endswith("embedding_weights")}
    # One table for both community areas, none of their own; payment ids weighed by miles
    # in both parts (its embedding by the trainer's rule: 6 * 16 ** 0.25 = 12 wide).
    assert tables == {
        "dnn_input/community_areas/embedding_weights": [78, 4],
        "dnn_input/payment_type_weighted_by_trip_miles_embedding/embedding_weights": [16, 12],
    }, tables
    assert any(name.startswith("linear/") and "payment_type_weighted_by_trip_miles" in name
               for name in variables), variables


def test_the_served_model_answers_raw_examples(trained):
    transform, result = trained
    loaded = tf.saved_model.load(result.serving_model_dir)
    files = tf.io.gfile.glob(os.path.join(transform.examples_uri, "Split-eval", "*.gz"))
    serialized = [r.numpy() for r in tf.data.TFRecordDataset(files, "GZIP").take(5)]
    scores = loaded.signatures["classification"](inputs=tf.constant(serialized))["scores"]
    assert scores.shape == (5, 2)
    np.testing.assert_allclose(scores.numpy().sum(axis=1), 1.0, rtol=1e-5)
