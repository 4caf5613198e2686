"""What a local run's step cache is keyed on, beyond the step's own arguments.

kfp.local keys a step's cache on its component, command, arguments and environment
variables. Two things that determine a step's outputs are not among them: the input files
behind an unchanged `input_pattern` (a new drop of data under the same name) and the
project's own code (the executors the components call). A local run passes both to every
step as environment variables (`cache_environment`), so they join the key *beside* the
arguments: change any setting, the data or the code, and the steps it reaches run again.

(kfp's `cache_key` option is not used for this: a custom key replaces the whole key,
arguments included, so a changed setting would silently reuse stale outputs.)

Example:
    >>> env = cache_environment("data/*.csv")
    >>> sorted(env)
    ['ESTPIPE_CODE_VERSION', 'ESTPIPE_DATA_FINGERPRINT']
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os

__all__ = ["CODE_VERSION_ENV", "DATA_FINGERPRINT_ENV", "PROJECT_ROOT", "cache_environment", "code_version",
           "data_fingerprint"]

CODE_VERSION_ENV = "ESTPIPE_CODE_VERSION"
DATA_FINGERPRINT_ENV = "ESTPIPE_DATA_FINGERPRINT"
# The packages whose code the steps run (examples/ holds user modules, which the components
# embed in their arguments already).
_CODE_PACKAGES = ("estimator_lib", "components", "model_names", "pipelines", "serving")
# The checkout (or installed tree) the steps' code comes from.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data_fingerprint(input_pattern: str) -> str | None:
    """A fingerprint of the local files `input_pattern` matches (names, sizes, times).

    None for remote patterns (object stores: no cheap listing here) or when nothing matches.
    A `{SPAN}` pattern is fingerprinted over every span's files.

    Example:
        >>> data_fingerprint("examples/chicago_taxi/data/data.csv")
        '4f1c...'
    """
    if "://" in input_pattern:
        return None
    files = sorted(glob.glob(input_pattern.replace("{SPAN}", "*")))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


@functools.cache
def code_version() -> str:
    """A digest of the project's Python sources: changes whenever the step code does.

    Example:
        >>> len(code_version())
        16
    """
    digest = hashlib.sha256()
    for package in _CODE_PACKAGES:
        for path in sorted(glob.glob(os.path.join(PROJECT_ROOT, package, "**", "*.py"),
                                     recursive=True)):
            digest.update(os.path.relpath(path, PROJECT_ROOT).encode() + b"\0")
            with open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()[:16]


def cache_environment(input_pattern: str) -> dict[str, str] | None:
    """The variables that join every step's cache key in a local run; None when the input
    cannot be fingerprinted (remote or unmatched): then nothing may be reused safely.

    Example:
        >>> cache_environment("gs://bucket/data/*.csv") is None
        True
    """
    fingerprint = data_fingerprint(input_pattern)
    if fingerprint is None:
        return None
    return {CODE_VERSION_ENV: code_version(), DATA_FINGERPRINT_ENV: fingerprint}
