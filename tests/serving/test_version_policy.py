"""VersionPolicy: latest-N, all, specific; TF Serving's proto form."""

import pytest

from serving import VersionPolicy
from serving.version_policy import PolicyKind


@pytest.mark.parametrize("policy, expected", [
    (VersionPolicy.latest(), [9]),
    (VersionPolicy.latest(2), [7, 9]),
    (VersionPolicy.latest(10), [1, 3, 7, 9]),
    (VersionPolicy.all(), [1, 3, 7, 9]),
    (VersionPolicy.specific(3, 4, 1), [1, 3]),
])
def test_select(policy, expected):
    assert policy.select([9, 1, 7, 3]) == expected


def test_select_nothing_on_disk():
    assert VersionPolicy.latest(2).select([]) == []


@pytest.mark.parametrize("policy", [VersionPolicy.latest(3), VersionPolicy.all(),
                                    VersionPolicy.specific(5, 2)])
def test_proto_round_trip(policy):
    assert VersionPolicy.from_proto(policy.to_proto()) == policy


def test_unset_proto_is_latest_one():
    from tensorflow_serving.config import file_system_storage_path_source_pb2 as pb

    empty = pb.FileSystemStoragePathSourceConfig.ServableVersionPolicy()
    assert VersionPolicy.from_proto(empty) == VersionPolicy.latest(1)


def test_string_kinds_and_str():
    assert VersionPolicy("all").kind is PolicyKind.ALL
    assert str(VersionPolicy.specific(2, 1)) == "specific[1, 2]"


@pytest.mark.parametrize("make, match", [
    (lambda: VersionPolicy.latest(0), "must be a positive integer"),
    (lambda: VersionPolicy.specific(), "at least one version"),
    (lambda: VersionPolicy.specific(-1), "non-negative integers"),
    (lambda: VersionPolicy("newest"), "is not a valid PolicyKind"),
])
def test_invalid_policies(make, match):
    with pytest.raises(ValueError, match=match):
        make()
