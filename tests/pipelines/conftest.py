"""Fixtures of the pipeline tests."""

import os

import pytest
import yaml

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
EXAMPLE_DIR = os.path.join(EXAMPLES, "chicago_taxi")
SAMPLE_ROWS = 3000
TRAIN_STEPS = 300


@pytest.fixture(scope="module")
def sample_config(tmp_path_factory):
    """The taxi pipeline on its first 3,000 rows, 300 steps of a small wide & deep model:
    (the config's path, its folder)."""
    root = tmp_path_factory.mktemp("pipeline")
    with open(os.path.join(EXAMPLE_DIR, "data", "data.csv")) as f:  # the rows as they are
        lines = [next(f) for _ in range(SAMPLE_ROWS + 1)]
    (root / "taxi_sample.csv").write_text("".join(lines))
    with open(os.path.join(EXAMPLE_DIR, "pipeline.yaml")) as f:
        raw = yaml.safe_load(f)
    raw["pipeline"]["root"] = str(root / "runs")
    raw["data"]["input_pattern"] = str(root / "taxi_sample.csv")
    raw["transform"]["spec"] = os.path.abspath(os.path.join(EXAMPLE_DIR, "transform_spec.yaml"))
    raw["model"]["params"] = {"dnn_hidden_units": [16, 8]}
    raw["training"].update(train_steps=TRAIN_STEPS, save_checkpoints_steps=100)
    raw["serving"]["base_dir"] = str(root / "serving")
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), root


def write_example_config(example: str, folder) -> tuple[str, dict]:
    """A bundled example's config as a new user runs it, with its data and spec where they
    ship and its pipeline root and serving base under `folder`: (the config's path, its dict)."""
    source = os.path.join(EXAMPLES, example)
    with open(os.path.join(source, "pipeline.yaml")) as f:
        raw = yaml.safe_load(f)
    raw["pipeline"]["root"] = str(folder / "runs")
    raw["serving"]["base_dir"] = str(folder / "serving")
    raw["data"]["input_pattern"] = os.path.join(source, raw["data"]["input_pattern"])
    raw["transform"]["spec"] = os.path.join(source, raw["transform"]["spec"])
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), raw
