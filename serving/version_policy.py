"""VersionPolicy: which of a model's versions on disk are served.

TF Serving's ServableVersionPolicy: the latest N versions (the default, N = 1), specific
versions, or all of them. A version is an integer directory name under the model's base
path; a larger number is a newer version.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable

from tensorflow_serving.config import file_system_storage_path_source_pb2 as storage_pb2

_Proto = storage_pb2.FileSystemStoragePathSourceConfig.ServableVersionPolicy


class PolicyKind(enum.StrEnum):
    """How a VersionPolicy chooses versions."""

    LATEST = "latest"
    ALL = "all"
    SPECIFIC = "specific"


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """Chooses the versions of a model to serve from those found on disk.

    Use the constructors `latest(n)`, `all()` and `specific(*versions)`.

    Args:
        kind: A `PolicyKind` (or its string value).
        num_versions: For LATEST, how many of the newest versions (default 1).
        versions: For SPECIFIC, the version numbers.

    Example:
        >>> VersionPolicy.latest(2).select([1, 3, 7])
        [3, 7]
        >>> VersionPolicy.specific(1, 9).select([1, 3, 7])
        [1]
    """

    kind: PolicyKind = PolicyKind.LATEST
    num_versions: int = 1
    versions: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "kind", PolicyKind(self.kind))
        if self.kind is PolicyKind.LATEST and (
                not isinstance(self.num_versions, int) or self.num_versions < 1):
            raise ValueError(
                f"`num_versions` ({self.num_versions!r}) must be a positive integer for the "
                "latest-N policy.")
        versions = tuple(self.versions)
        if self.kind is PolicyKind.SPECIFIC:
            if not versions:
                raise ValueError("The specific-versions policy needs at least one version.")
            for version in versions:
                if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                    raise ValueError(
                        f"Versions must be non-negative integers; received {version!r}.")
        object.__setattr__(self, "versions", tuple(sorted(set(versions))))

    @classmethod
    def latest(cls, num_versions: int = 1) -> VersionPolicy:
        """The `num_versions` newest versions (TF Serving's default, with 1)."""
        return cls(PolicyKind.LATEST, num_versions=num_versions)

    @classmethod
    def all(cls) -> VersionPolicy:
        """Every version on disk."""
        return cls(PolicyKind.ALL)

    @classmethod
    def specific(cls, *versions: int) -> VersionPolicy:
        """Exactly these versions, those of them that exist."""
        return cls(PolicyKind.SPECIFIC, versions=versions)

    def select(self, available: Iterable[int]) -> list[int]:
        """The versions to serve among `available`, ascending."""
        versions = sorted(set(available))
        if self.kind is PolicyKind.ALL:
            return versions
        if self.kind is PolicyKind.LATEST:
            return versions[-self.num_versions:]
        wanted = set(self.versions)
        return [v for v in versions if v in wanted]

    def to_proto(self) -> _Proto:
        """The policy as TF Serving's `ServableVersionPolicy` message."""
        proto = _Proto()
        if self.kind is PolicyKind.ALL:
            proto.all.SetInParent()
        elif self.kind is PolicyKind.LATEST:
            proto.latest.num_versions = self.num_versions
        else:
            proto.specific.versions.extend(self.versions)
        return proto

    @classmethod
    def from_proto(cls, proto: _Proto) -> VersionPolicy:
        """Reads a `ServableVersionPolicy`; an unset policy is latest 1, as in TF Serving."""
        which = proto.WhichOneof("policy_choice")
        if which == "all":
            return cls.all()
        if which == "specific":
            return cls.specific(*proto.specific.versions)
        if which == "latest":
            return cls.latest(proto.latest.num_versions or 1)
        return cls.latest(1)

    def __str__(self) -> str:
        if self.kind is PolicyKind.LATEST:
            return f"latest({self.num_versions})"
        if self.kind is PolicyKind.ALL:
            return "all"
        return f"specific{list(self.versions)}"
