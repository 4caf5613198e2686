"""A readable HTML page of one split's statistics (`stats.html`), with no scripts or assets."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["render_statistics"]

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; vertical-align: top; }
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
    """The HTML page of one split's statistics dict (see statistics.py for its layout)."""
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
    heading = html.escape(title or f"Statistics of split {stats.get('split', '')!s}")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{heading}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{heading}</h1>",
             f"<p>{num_examples:,} examples, {len(stats['features'])} features.</p>"]
    if numeric_rows:
        parts.append("<h2>Numeric features</h2><table><tr><th class='name'>feature</th>"
                     "<th>type</th><th>missing</th><th>mean</th><th>std</th><th>min</th>"
                     "<th>median</th><th>max</th><th>zeros</th></tr>"
                     + "".join(numeric_rows) + "</table>")
    if categorical_rows:
        parts.append("<h2>String features</h2><table><tr><th class='name'>feature</th>"
                     "<th>type</th><th>missing</th><th>distinct</th><th>avg length</th>"
                     "<th>top values</th></tr>" + "".join(categorical_rows) + "</table>")
    parts.append("</body></html>\n")
    return "".join(parts)
