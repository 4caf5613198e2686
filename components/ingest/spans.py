"""Resolving an input pattern, with or without `{SPAN}`, to the files of one or more spans.

A span is one drop of data (a day, an export), numbered in its path:
`/data/span-{SPAN}/*.csv` matches `/data/span-7/part-0.csv` as span 7. The latest span is
the default; a given span or an inclusive range can be asked for instead.

Example:
    >>> resolve_input("/data/span-{SPAN}/*.csv")            # the latest span
    ResolvedInput(files=('/data/span-12/a.csv',), spans=(12,))
    >>> resolve_input("/data/span-{SPAN}/*.csv", span_range=(3, 5)).spans
    (3, 4, 5)
"""

from __future__ import annotations

import dataclasses
import os
import re

from components.artifacts import io
from components.ingest.config import SPAN_PLACEHOLDER

__all__ = ["EmptyInputError", "ResolvedInput", "resolve_input"]


class EmptyInputError(ValueError):
    """The input has no files, or its files have no data rows."""


@dataclasses.dataclass(frozen=True)
class ResolvedInput:
    """The files to ingest and the spans they belong to (empty without `{SPAN}`)."""

    files: tuple[str, ...]
    spans: tuple[int, ...] = ()

    @property
    def span(self) -> int | None:
        """The span that travels with the output: the highest one ingested, or None."""
        return max(self.spans) if self.spans else None


def _span_regex(pattern: str) -> re.Pattern[str]:
    """A regex over matched paths that captures the span number; globs match as globs."""
    parts = []
    for piece in re.split(r"(\{SPAN\}|\*\*|\*|\?)", pattern):
        if piece == SPAN_PLACEHOLDER:
            parts.append(r"(?P<span>\d+)" if "(?P<span>" not in "".join(parts)
                         else r"(?P=span)")
        elif piece == "**":
            parts.append(r".*")
        elif piece == "*":
            parts.append(r"[^/]*")
        elif piece == "?":
            parts.append(r"[^/]")
        else:
            parts.append(re.escape(piece))
    return re.compile("^" + "".join(parts) + "$")


def resolve_input(pattern: str, *, span: int | None = None,
                  span_range: tuple[int, int] | None = None) -> ResolvedInput:
    """The files of `pattern` for the requested span(s).

    Args:
        pattern: a glob, optionally with `{SPAN}` (digits) in it.
        span: the span to take. Default: None.
        span_range: the spans `(first, last)` to take, both included. Default: None.
            With neither, a `{SPAN}` pattern takes the latest span.

    Returns:
        The sorted files and the spans they came from.

    Raises:
        EmptyInputError: if nothing matches, or the requested span(s) do not exist (the
            message lists the spans that do).
    """
    if io.is_local(pattern):
        pattern = os.path.abspath(pattern)
    if SPAN_PLACEHOLDER not in pattern:
        files = io.match(pattern)
        if not files:
            raise EmptyInputError(f"The input pattern {pattern!r} matches no files.")
        return ResolvedInput(files=tuple(files))
    regex = _span_regex(pattern)
    by_span: dict[int, list[str]] = {}
    for path in io.match(pattern.replace(SPAN_PLACEHOLDER, "*")):
        found = regex.match(path)
        if found:
            by_span.setdefault(int(found.group("span")), []).append(path)
    if not by_span:
        raise EmptyInputError(
            f"The input pattern {pattern!r} matches no files (no path has digits where "
            f"{SPAN_PLACEHOLDER} is).")
    available = sorted(by_span)
    if span is not None:
        chosen = [span] if span in by_span else []
        wanted = f"span {span}"
    elif span_range is not None:
        chosen = [s for s in available if span_range[0] <= s <= span_range[1]]
        wanted = f"spans {span_range[0]}..{span_range[1]}"
    else:
        chosen, wanted = [available[-1]], "the latest span"
    if not chosen:
        raise EmptyInputError(
            f"{pattern!r} has no files for {wanted}; the spans found are {available}.")
    files = sorted(path for s in chosen for path in by_span[s])
    return ResolvedInput(files=tuple(files), spans=tuple(chosen))
