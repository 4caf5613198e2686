"""Readable HTML pages of the statistics, with no scripts or assets.

`render_statistics`: one split's page (`Split-<name>/stats.html`). `render_all_statistics`:
one page with every split's tables, the file of the ingest step's `statistics_html` output
(a KFP `system.HTML` artifact, which the Kubeflow UI shows as is).

Example:
    >>> page = render_all_statistics(read_statistics(statistics_uri))
    >>> page.count("<h2 id='split-")
    2
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["render_all_statistics", "render_statistics"]

_STYLE = """
body { font-family: sans-serif; margin: 1em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
.scroll { overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; vertical-align: top;
         font-size: 13px; }
td.name { overflow-wrap: anywhere; min-width: 8em; }
th { background: #f0f0f0; }
td.name, th.name { text-align: left; font-weight: bold; }
td.top { text-align: left; font-family: monospace; }
.warn { color: #b00; }
"""


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:.4e}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


def _missing_cell(feature: Mapping[str, Any], num_examples: int) -> str:
    missing = feature["num_missing"]
    share = missing / num_examples if num_examples else 0.0
    css = ' class="warn"' if share > 0.5 else ""
    return f"<td{css}>{missing:,} ({share:.1%})</td>"


def render_statistics(stats: Mapping[str, Any], *, title: str = "") -> str:
    """The HTML page of one split's statistics dict (see statistics.py for its layout).

    Example:
        >>> render_statistics(read_statistics(statistics_uri)["train"]).startswith("<!DOC")
        True
    """
    heading = html.escape(title or f"Statistics of split {stats.get('split', '')!s}")
    return _page(heading, f"<h1>{heading}</h1>" + _tables(stats, level=2))


def render_all_statistics(stats_by_split: Mapping[str, Mapping[str, Any]], *,
                          title: str = "Statistics") -> str:
    """One HTML page with every split's tables, in the order given.

    Args:
        stats_by_split: {split name: its statistics dict} (`artifacts.read_statistics`).
        title: The page's heading. Defaults to "Statistics".

    Raises:
        ValueError: If there are no splits.

    Example:
        >>> page = render_all_statistics({"train": train_stats, "eval": eval_stats})
    """
    if not stats_by_split:
        raise ValueError("`stats_by_split` is empty: there are no statistics to show.")
    heading = html.escape(title)
    counts = ", ".join(f"{html.escape(str(name))}: {stats['num_examples']:,}"
                       for name, stats in stats_by_split.items())
    parts = [f"<h1>{heading}</h1><p>Examples per split: {counts}.</p>"]
    for name, stats in stats_by_split.items():
        anchor = html.escape(str(name), quote=True)
        parts.append(f"<h2 id='split-{anchor}'>Split {html.escape(str(name))}</h2>"
                     + _tables(stats, level=3))
    return _page(heading, "".join(parts))


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title><style>{_STYLE}</style></head><body>{body}"
            "</body></html>\n")


def _tables(stats: Mapping[str, Any], *, level: int) -> str:
    """The example count and the numeric and string feature tables of one split."""
    num_examples = stats["num_examples"]
    numeric_rows, categorical_rows = [], []
    for name, feature in stats["features"].items():
        cells = (f'<td class="name">{html.escape(name)}</td><td>{feature["type"]}</td>'
                 + _missing_cell(feature, num_examples))
        numeric = feature.get("numeric")
        if numeric is not None:
            quantiles = numeric.get("quantiles") or []
            median = quantiles[len(quantiles) // 2] if quantiles else None
            numeric_rows.append(
                "<tr>" + cells + "".join(f"<td>{_number(numeric.get(k))}</td>" for k in
                                         ("mean", "std", "min")) + f"<td>{_number(median)}</td>"
                + f"<td>{_number(numeric.get('max'))}</td>"
                + f"<td>{_number(numeric.get('num_zeros'))}</td></tr>")
        categorical = feature.get("categorical")
        if categorical is not None and feature["type"] == "BYTES":
            top = categorical.get("top_values") or []
            shown = "<br>".join(f"{html.escape(item['value']) or '&lt;empty&gt;'}: "
                                f"{item['count']:,}" for item in top[:10])
            approx = "" if categorical.get("distinct_is_exact") else " (approx.)"
            categorical_rows.append(
                "<tr>" + cells + f"<td>{categorical['distinct']:,}{approx}</td>"
                + f"<td>{_number(categorical.get('avg_length'))}</td>"
                + f'<td class="top">{shown}</td></tr>')
    h = f"h{level}"
    parts = [f"<p>{num_examples:,} examples, {len(stats['features'])} features.</p>"]
    if numeric_rows:
        parts.append(f"<{h}>Numeric features</{h}><div class='scroll'><table><tr>"
                     "<th class='name'>feature</th><th>type</th><th>missing</th><th>mean</th>"
                     "<th>std</th><th>min</th><th>median</th><th>max</th><th>zeros</th></tr>"
                     + "".join(numeric_rows) + "</table></div>")
    if categorical_rows:
        parts.append(f"<{h}>String features</{h}><div class='scroll'><table><tr>"
                     "<th class='name'>feature</th><th>type</th><th>missing</th>"
                     "<th>distinct</th><th>avg length</th><th>top values</th></tr>"
                     + "".join(categorical_rows) + "</table></div>")
    return "".join(parts)
