"""ModelConfig and models.config: validated names, TF Serving's text proto both ways."""

import pytest

from model_names import is_valid_model_name
from serving import ModelConfig, VersionPolicy, format_model_config, parse_model_config
from serving.model_config import read_model_config_file

CONFIG = """
model_config_list {
  config {
    name: "taxi"
    base_path: "/serving/taxi"
    model_platform: "tensorflow"
    model_version_policy { latest { num_versions: 2 } }
    version_labels { key: "stable" value: 3 }
  }
  config { name: "toy" base_path: "gs://bucket/toy" model_version_policy { all {} } }
  config { name: "pinned" base_path: "/serving/pinned" model_version_policy { specific { versions: 4 versions: 5 } } }
  config { name: "plain" base_path: "/serving/plain" }
}
"""


def test_parse_tf_serving_config():
    taxi, toy, pinned, plain = parse_model_config(CONFIG)
    assert taxi == ModelConfig("taxi", "/serving/taxi", version_policy=VersionPolicy.latest(2),
                               version_labels={"stable": 3})
    assert toy.version_policy == VersionPolicy.all() and toy.base_path == "gs://bucket/toy"
    assert pinned.version_policy == VersionPolicy.specific(4, 5)
    assert plain.version_policy == VersionPolicy.latest(1)


def test_format_round_trips():
    configs = parse_model_config(CONFIG)
    assert parse_model_config(format_model_config(configs)) == configs


def test_read_file(tmp_path):
    path = tmp_path / "models.config"
    path.write_text(CONFIG)
    assert [c.name for c in read_model_config_file(str(path))] == ["taxi", "toy", "pinned", "plain"]
    path.write_text("model_config_list { config { nme: 'x' } }")
    with pytest.raises(ValueError, match="models.config: Invalid model config"):
        read_model_config_file(str(path))


@pytest.mark.parametrize("name", ["taxi", "chicago_taxi", "taxi-v2", "m.1", "A9"])
def test_valid_names(name):
    assert is_valid_model_name(name)
    assert ModelConfig(name, "/x").name == name


@pytest.mark.parametrize("name", ["", ".", "..", "../etc", "a/b", "a\\b", "/abs", "-x", "_x",
                                  "a b", "x" * 129, "ta:xi", "émile"])
def test_invalid_names_cannot_escape_the_base_path(name):
    assert not is_valid_model_name(name)
    with pytest.raises(ValueError, match="Invalid model name"):
        ModelConfig.under("/serving", name)


def test_under_joins_the_pushers_layout():
    assert ModelConfig.under("/serving", "taxi").base_path == "/serving/taxi"


@pytest.mark.parametrize("text, match", [
    ('model_config_list { config { name: "a" base_path: "/a" } config { name: "a" base_path: "/b" } }',
     "configured twice"),
    ('model_config_list { config { name: "../a" base_path: "/a" } }', "Invalid model name"),
    ('model_config_list { config { name: "a" base_path: "" } }', "non-empty path"),
    ('model_config_list { config { name: "a" base_path: "/a" model_platform: "pytorch" } }',
     "only 'tensorflow'"),
    ('model_config_list { config { name: "a" base_path: "/a" version_labels { key: "9x" value: 1 } } }',
     "Invalid version label"),
    ("model_config_list { config { name: ", "Invalid model config"),
])
def test_invalid_configs(text, match):
    with pytest.raises(ValueError, match=match):
        parse_model_config(text)


def test_type_errors():
    with pytest.raises(TypeError, match="must be a serving.VersionPolicy"):
        ModelConfig("a", "/a", version_policy="latest")
    with pytest.raises(TypeError, match="must be a string"):
        ModelConfig(3, "/a")
