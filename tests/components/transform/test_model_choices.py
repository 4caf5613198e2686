"""A spec's model-side choices per feature (embedding width, one-hot, wide or deep part): they
reach the trainer's columns as declared, in YAML and in Python specs."""

import pytest

import estimator_lib as el
from components.model.recipe import feature_columns
from components.transform.python_spec import spec_from_columns
from components.transform.spec import SpecError, dump_spec, parse_spec

fc = el.feature_column

SPEC = """
label: species
features:
  - {name: island, transform: vocabulary, embedding: 4, part: deep}
  - {name: sex, transform: vocabulary, indicator: true}
  - {name: mass, transform: z_score, part: wide}
  - {name: year, transform: identity, num_buckets: 3}
  - {name: species, transform: vocabulary}
"""


def test_yaml_choices_round_trip():
    spec = parse_spec(SPEC)
    island = spec.feature("island")
    assert (island.embedding, island.part, island.indicator) == (4, "deep", False)
    assert spec.feature("sex").indicator
    assert parse_spec(dump_spec(spec)) == spec


@pytest.mark.parametrize("entry, message", [
    ("{name: mass, transform: z_score, embedding: 4}", "are for categorical features"),
    ("{name: island, transform: vocabulary, part: middle}", r"`part` \('middle'\) must be one"),
    ("{name: island, transform: vocabulary, embedding: 0}", "must be a positive integer"),
    ("{name: island, transform: vocabulary, embedding: 4, indicator: true}", "not both"),
    ("{name: island, transform: vocabulary, embedding: 4, part: wide}", "but `part` is 'wide'"),
])
def test_bad_choices_name_the_feature(entry, message):
    with pytest.raises(SpecError, match=message) as caught:
        parse_spec(f"features:\n  - {entry}\n")
    assert caught.value.problems[0].startswith("feature ")


def test_the_trainer_builds_what_was_declared_and_its_rules_elsewhere():
    description = {"features": {
        "island": {"kind": "categorical_identity", "num_buckets": 4, "embedding": 4,
                   "part": "deep"},
        "sex": {"kind": "categorical_identity", "num_buckets": 3, "indicator": True},
        "mass": {"kind": "numeric", "part": "wide"},
        "year": {"kind": "categorical_identity", "num_buckets": 3},
        "species": {"kind": "label", "num_classes": 3},
    }}
    linear, dnn = feature_columns(description, label_key="species")
    assert sorted(c.name for c in linear) == ["mass", "sex", "year"]
    deep = {c.name: c for c in dnn}
    assert set(deep) == {"island_embedding", "sex_indicator", "year_embedding"}
    assert deep["island_embedding"].dimension == 4
    assert isinstance(deep["sex_indicator"], fc.IndicatorColumn)
    assert deep["year_embedding"].dimension == 8  # the rule: ceil(6 * 3 ** 0.25)


def test_python_spec_embedding_and_indicator_columns_are_kept():
    spec = spec_from_columns([
        fc.embedding_column(fc.categorical_column_with_hash_bucket("company", 64), 5),
        fc.indicator_column(fc.categorical_column_with_identity("hour", 24)),
    ])
    assert spec.feature("company").embedding == 5
    assert spec.feature("hour").indicator
