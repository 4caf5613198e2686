"""bench/RESULTS.md, shared by the benchmarks: each owns a block between its own markers.

Example:
    >>> write_block("pipeline_overhead", "## Pipeline overhead\n\n| step | s |\n...")
    >>> commit()
    'ae6c7dd'
"""

from __future__ import annotations

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "RESULTS.md")


def commit() -> str:
    """The checkout's short commit hash ("unknown" outside git): what made the numbers."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_block(marker: str, text: str) -> None:
    """Puts `text` between `<!-- marker:begin -->` and `<!-- marker:end -->` in RESULTS.md,
    replacing what was there, or at the end of the file; the rest is left alone."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    section = f"{begin}\n{text}\n{end}\n"
    current = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n\n"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        current = head + section + ("\n" + after if after else "")
    else:
        current = current.rstrip("\n") + "\n\n" + section
    with open(RESULTS, "w") as f:
        f.write(current)
