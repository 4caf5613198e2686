"""TransformConfig fails at construction on what cannot run."""

import pytest

from components.transform.config import TransformConfig

URIS = dict(examples_uri="/in/examples", schema_uri="/in/schema",
            transformed_examples_uri="/out/examples", transform_graph_uri="/out/graph")


def test_defaults():
    config = TransformConfig(**URIS, spec_file="spec.yaml")
    assert config.analyze_splits == ("train",)
    assert config.transform_splits is None
    assert config.beam_pipeline_args == ()


@pytest.mark.parametrize("kwargs, error", [
    (dict(), ValueError),
    (dict(spec_file="s.yaml", module_file="m.py"), ValueError),
    (dict(spec_file="s.yaml", analyze_splits="train"), TypeError),
    (dict(spec_file="s.yaml", analyze_splits=[]), ValueError),
    (dict(spec_file="s.yaml", transform_splits=["eval", "eval"]), ValueError),
    (dict(spec_file="s.yaml", transform_splits=["a/b"]), ValueError),
    (dict(spec_file="s.yaml", beam_pipeline_args="--runner=DirectRunner"), TypeError),
    (dict(spec_file=""), TypeError),
])
def test_bad_configs(kwargs, error):
    with pytest.raises(error):
        TransformConfig(**URIS, **kwargs)


def test_exactly_one_of_spec_and_module_is_explained():
    with pytest.raises(ValueError, match="`spec_file`: give exactly one of a feature spec.*`module_file`"):
        TransformConfig(**URIS)


def test_output_must_not_overwrite_input():
    with pytest.raises(ValueError, match="must differ from `examples_uri`"):
        TransformConfig(**{**URIS, "transformed_examples_uri": "/in/examples/"},
                        spec_file="s.yaml")


def test_replace_checks_again():
    config = TransformConfig(**URIS, spec_file="spec.yaml")
    assert config.replace(transform_splits=["eval"]).transform_splits == ("eval",)
    with pytest.raises(ValueError):
        config.replace(module_file="m.py")
