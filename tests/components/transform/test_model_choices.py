"""A spec's model-side choices per feature (embedding width, one-hot, wide or deep part,
weight) and its shared embeddings: they reach the trainer's columns as declared, in YAML and
in Python specs."""

import pytest

import estimator_lib as el
from components.model.recipe import feature_columns
from components.transform.python_spec import spec_from_columns
from components.transform.spec import (
    EMBEDDING_COMBINERS,
    SharedEmbedding,
    SpecError,
    dump_spec,
    parse_spec,
)

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


# --- Weighted features and shared embeddings. -------------------------------------------------

SHARED_SPEC = """
label: species
features:
  - {name: pickup_area, source: pickup, transform: identity, num_buckets: 5}
  - {name: dropoff_area, source: dropoff, transform: identity, num_buckets: 7}
  - {name: term, transform: hash, hash_buckets: 16, weight: term_count}
  - {name: term_count, transform: passthrough}
  - {name: species, transform: vocabulary}
shared_embeddings:
  - {features: [pickup_area, dropoff_area], dimension: 3, combiner: sqrtn}
"""


def test_yaml_weight_and_shared_embeddings_round_trip():
    spec = parse_spec(SHARED_SPEC)
    assert spec.feature("term").weight == "term_count"
    (group,) = spec.shared_embeddings
    assert group == SharedEmbedding(("pickup_area", "dropoff_area"), 3, "sqrtn",
                                    name="dropoff_area_pickup_area_shared_embedding")
    assert spec.shared_embedding_of("dropoff_area") is group
    assert parse_spec(dump_spec(spec)) == spec


def _with(entries: str, groups: str = "") -> str:
    lines = ["label: y", "features:", "  - {name: a, transform: identity, num_buckets: 3}",
             "  - {name: b, transform: hash, hash_buckets: 3}",
             "  - {name: n, transform: z_score}", "  - {name: y, transform: vocabulary}"]
    lines += [f"  - {e}" for e in entries.splitlines() if e.strip()]
    if groups:
        lines += ["shared_embeddings:"] + [f"  - {g}" for g in groups.splitlines() if g.strip()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("entries, groups, message", [
    ("{name: c, transform: identity, num_buckets: 3, weigth: n}", "",
     r"feature 'c': unknown parameter 'weigth' .*\(did you mean 'weight'\?\)"),
    ("{name: c, transform: identity, num_buckets: 3, weight: nn}", "",
     r"feature 'c': `weight` \('nn'\) is not a feature of the spec \(did you mean 'n'\?\)"),
    ("{name: c, transform: identity, num_buckets: 3, weight: b}", "",
     r"feature 'c': `weight` \('b'\) is a 'hash' feature \(ids\); a weight is a number"),
    ("{name: c, transform: identity, num_buckets: 3, weight: y}", "",
     r"feature 'c': `weight` \('y'\) is the label"),
    ("{name: c, transform: z_score, source: n, weight: n}", "",
     r"feature 'c': `weight` is for categorical features"),
    ("{name: c, transform: identity, num_buckets: 3, weight: c}", "",
     r"feature 'c': `weight` \('c'\) is the feature itself"),
    ("", "{features: [a, b], dimensions: 4}",
     r"shared_embeddings\[0\]: unknown key 'dimensions'.* \(did you mean 'dimension'\?\)"),
    ("", "{features: [a, b]}", r"shared_embeddings\[0\]: needs \['dimension'\]"),
    ("", "{features: [a, b], dimension: 4, combiner: summ}",
     r"shared_embeddings\[0\]: `combiner` \('summ'\) .*\(did you mean 'sum'\?\)"),
    ("", "{features: [a], dimension: 4}", r"shared_embeddings\[0\]: .*at least two features"),
    ("", "{features: [a, bb], dimension: 4}",
     r"shared embedding 'a_bb_shared_embedding': 'bb' is not a feature of the spec "
     r"\(did you mean 'b'\?\)"),
    ("", "{features: [a, n], dimension: 4}",
     r"feature 'n' \(in shared embedding 'a_n_shared_embedding'\): shared embeddings are for "
     r"categorical features"),
    ("{name: c, transform: identity, num_buckets: 3, embedding: 2}",
     "{features: [a, c], dimension: 4}", r"feature 'c' .*: it also declares `embedding`"),
    ("{name: c, transform: identity, num_buckets: 3, part: wide}",
     "{features: [a, c], dimension: 4}", r"feature 'c' .*: `part` is 'wide'"),
    ("", "{features: [a, b], dimension: 4}\n{features: [b, a], dimension: 2, name: t}",
     r"feature 'b' \(in shared embedding 't'\): it is already in shared embedding "
     r"'a_b_shared_embedding'"),
])
def test_bad_weights_and_shared_embeddings_name_the_place(entries, groups, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(_with(entries, groups))


def test_a_weight_must_be_a_number_of_the_schema():
    from components.transform.schema import Column, ColumnType
    from components.transform.spec_validation import validate_against_schema

    spec = parse_spec("features:\n"
                      "  - {name: term, transform: hash, hash_buckets: 8, weight: count}\n"
                      "  - {name: count, transform: passthrough}\n")
    columns = {"term": Column("term", ColumnType.STRING),
               "count": Column("count", ColumnType.STRING)}
    with pytest.raises(SpecError, match=r"feature 'term': `weight` \('count'\) copies 'count', "
                                        r"a string column; a weight is a number"):
        validate_against_schema(spec, columns)
    validate_against_schema(spec, {**columns, "count": Column("count", ColumnType.FLOAT)})


def test_python_spec_weighted_and_shared_columns_are_kept():
    pickup = fc.categorical_column_with_identity("pickup", 5)
    dropoff = fc.categorical_column_with_identity("dropoff", 5)
    term = fc.weighted_categorical_column(fc.categorical_column_with_hash_bucket("term", 16),
                                          "term_count")
    spec = spec_from_columns([
        *fc.shared_embeddings([pickup, dropoff], 3, combiner="sum"),
        fc.embedding_column(term, 4), fc.numeric_column("term_count")])
    assert spec.shared_embeddings == (
        SharedEmbedding(("pickup", "dropoff"), 3, "sum", name="dropoff_pickup_shared_embedding"),)
    assert (spec.feature("term").weight, spec.feature("term").embedding) == ("term_count", 4)
    # What the pipeline carries is the YAML it converts to, and it reads back the same.
    assert parse_spec(dump_spec(spec)) == spec


def test_python_spec_shared_groups_must_agree():
    pickup = fc.categorical_column_with_identity("pickup", 5)
    dropoff = fc.categorical_column_with_identity("dropoff", 5)
    (first,) = fc.shared_embeddings([pickup], 3, shared_embedding_collection_name="areas")
    (second,) = fc.shared_embeddings([dropoff], 4, shared_embedding_collection_name="areas")
    with pytest.raises(SpecError, match=r"shared embedding 'areas': features \['dropoff'\] give "
                                        r"another dimension"):
        spec_from_columns([first, second])
    with pytest.raises(SpecError, match=r"shared embedding 'areas': .*at least two features"):
        spec_from_columns([first])


def test_the_trainer_builds_weighted_columns_and_one_table_per_shared_group():
    description = {"features": {
        "pickup_area": {"kind": "categorical_identity", "num_buckets": 5},
        "dropoff_area": {"kind": "categorical_identity", "num_buckets": 7, "part": "deep"},
        "term": {"kind": "categorical_identity", "num_buckets": 16, "weight": "term_count"},
        "term_count": {"kind": "numeric"},
        "species": {"kind": "label", "num_classes": 3},
    }, "shared_embeddings": [{"name": "areas", "features": ["pickup_area", "dropoff_area"],
                              "dimension": 3, "combiner": "sqrtn"}]}
    linear, dnn = feature_columns(description, label_key="species")
    wide = {c.name: c for c in linear}
    assert set(wide) == {"pickup_area", "term_weighted_by_term_count", "term_count"}
    assert wide["pickup_area"].num_buckets == 5  # the linear part keeps each feature's own size
    deep = {c.name: c for c in dnn}
    assert set(deep) == {"pickup_area_shared_embedding", "dropoff_area_shared_embedding",
                         "term_weighted_by_term_count_embedding", "term_count"}
    shared = [deep["pickup_area_shared_embedding"], deep["dropoff_area_shared_embedding"]]
    # One table, as wide as declared and as long as the largest member's ids.
    assert {c.weight_spec.scope for c in shared} == {"areas"}
    assert {c.weight_spec.shape for c in shared} == {(7, 3)}
    assert {c.combiner for c in shared} == {"sqrtn"}
    weighted = deep["term_weighted_by_term_count_embedding"].categorical_column
    assert isinstance(weighted, fc.WeightedCategoricalColumn)
    assert weighted.weight_feature_key == "term_count"


def test_the_combiners_are_el_s():
    from estimator_lib.feature_columns.embedding import COMBINERS

    assert EMBEDDING_COMBINERS == COMBINERS
