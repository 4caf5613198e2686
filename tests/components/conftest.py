"""Fixtures shared by the component tests."""

import dataclasses

import pytest

from tests.components.taxi_pipeline_data import TaxiData, make_taxi_data

STEPS = 300


@pytest.fixture(scope="session")
def taxi_data(tmp_path_factory) -> TaxiData:
    """The taxi sample, ingested and transformed once per session (tens of seconds)."""
    return make_taxi_data(str(tmp_path_factory.mktemp("taxi_data")))


@dataclasses.dataclass(frozen=True)
class Trained:
    """The trainer's outputs on the taxi sample: checkpoints at 0, 100, 200 and 300."""

    model_uri: str
    model_dir: str
    serving_model_dir: str
    metrics: dict


@pytest.fixture(scope="session")
def trained(taxi_data, tmp_path_factory) -> Trained:
    """A wide & deep model trained on the taxi sample once per session, as the trainer step
    trains it (its model artifact, model_dir and serving export)."""
    from components.trainer.config import TrainerConfig
    from components.trainer.executor import run as train

    model_uri = str(tmp_path_factory.mktemp("trained") / "model")
    result = train(TrainerConfig(
        examples_uri=taxi_data.transformed_examples_uri,
        transform_graph_uri=taxi_data.transform_graph_uri, model_uri=model_uri,
        estimator="DNNLinearCombinedClassifier", params={"dnn_hidden_units": [16, 8]},
        train_steps=STEPS, batch_size=128, save_checkpoints_steps=100))
    return Trained(model_uri, result.model_dir, result.serving_model_dir, result.metrics)
