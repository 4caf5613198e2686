"""Line charts as SVG text: the report's plots, drawn without a plotting library.

A `Chart` is data (its lines, titles, limits and notes); `to_svg` draws it: a frame with
round-numbered ticks and a light grid, each `Series` as a line (with dots, or dashed), a
legend, and `Note`s (a point held at the frame's edge, with its text). The SVG is vector,
so it stays sharp at any zoom, and it takes milliseconds where a matplotlib figure took a
tenth of a second (plus its import and font cache): the report is written in about 10 ms.

Example:
    >>> chart = Chart(series=(Series(x=(0, 100, 200), y=(0.9, 0.5, 0.4), dots=True),),
    ...               title="loss", xlabel="step")
    >>> page_image = to_svg(chart)            # '<svg xmlns=... width='360' ...>...</svg>'
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence

__all__ = ["COLORS", "Chart", "Note", "Series", "nice_ticks", "to_svg"]

# matplotlib's first colours (tab10), so the plots look as they did.
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
_GREY = "#808080"
_FONT = 11  # px: tick labels, legend, notes (the title and axis labels are larger)
_CHAR = 0.6  # a character's width in font sizes (sans-serif, generous): for the margins


@dataclasses.dataclass(frozen=True)
class Series:
    """One line.

    Args:
        x: The x values.
        y: The y values; a non-finite value breaks the line.
        label: Its name in the legend ("" for none).
        color: Its colour; default: the next of `COLORS` among the chart's coloured series.
        dots: Whether each point is marked with a dot.
        dashed: A thin dashed line (a reference, such as the diagonal).
    """

    x: Sequence[float]
    y: Sequence[float]
    label: str = ""
    color: str | None = None
    dots: bool = False
    dashed: bool = False


@dataclasses.dataclass(frozen=True)
class Note:
    """A point held at the frame's top (`above`) or bottom edge, marked with a triangle
    and labelled with `text`: a value off the chart's scale."""

    x: float
    text: str
    above: bool = True
    color: str = COLORS[3]


@dataclasses.dataclass(frozen=True)
class Chart:
    """A line chart.

    Args:
        series: The lines, drawn in order.
        title: Above the frame.
        xlabel: Below the x-axis.
        ylabel: Beside the y-axis.
        ylim: The y-axis's (low, high); default: the data's range and 5% on each side.
        legend: Where the legend sits ("upper left", "lower right", ...; None: no legend).
        notes: Off-scale points (see `Note`).
        width: In pixels.
        height: In pixels.
    """

    series: tuple[Series, ...]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    ylim: tuple[float, float] | None = None
    legend: str | None = None
    notes: tuple[Note, ...] = ()
    width: int = 360
    height: int = 250

    @property
    def xlim(self) -> tuple[float, float]:
        """The x-axis's (low, high): the data's range and 5% on each side."""
        return _padded([x for s in self.series for x, y in zip(s.x, s.y, strict=True)
                        if math.isfinite(x) and math.isfinite(y)])

    @property
    def ylimits(self) -> tuple[float, float]:
        """The y-axis's (low, high): `ylim`, or the data's range and 5% on each side."""
        if self.ylim is not None:
            return self.ylim
        return _padded([y for s in self.series for x, y in zip(s.x, s.y, strict=True)
                        if math.isfinite(x) and math.isfinite(y)])


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values in [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten, at
    most `most` of them.

    Example:
        >>> nice_ticks(-0.05, 1.05)
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    span = high - low
    if not (math.isfinite(span) and span > 0):
        return [low] if math.isfinite(low) else []
    power = 10.0 ** math.floor(math.log10(span / most))
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if span / (power * m) <= most)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    while (value := (first + len(ticks)) * step) <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else round(value, 12))
    return ticks


def to_svg(chart: Chart) -> str:
    """The chart as one SVG document (text), `chart.width` by `chart.height` pixels.

    Example:
        >>> svg = to_svg(Chart(series=(Series(x=(0, 1), y=(0, 1)),)))
        >>> svg.startswith("<svg xmlns='http://www.w3.org/2000/svg'")
        True
    """
    xlow, xhigh = chart.xlim
    ylow, yhigh = chart.ylimits
    xticks, yticks = nice_ticks(xlow, xhigh), nice_ticks(ylow, yhigh)
    xlabels, ylabels = _labels(xticks), _labels(yticks)
    # The frame: the margins fit the tick labels, the axis labels and the title.
    left = 8 + (18 if chart.ylabel else 0) + _text_width(max(ylabels, key=len, default="")) + 6
    right = chart.width - 12
    top = 28 if chart.title else 10
    bottom = chart.height - (8 + _FONT + 6 + (16 if chart.xlabel else 0))
    sx = (right - left) / (xhigh - xlow)
    sy = (bottom - top) / (yhigh - ylow)

    def px(x: float) -> float:
        return left + (x - xlow) * sx

    def py(y: float) -> float:
        return bottom - (y - ylow) * sy

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{chart.width}' "
           f"height='{chart.height}' viewBox='0 0 {chart.width} {chart.height}' "
           f"font-family='system-ui,sans-serif' font-size='{_FONT}' fill='#222'>",
           f"<rect width='{chart.width}' height='{chart.height}' fill='#fff'/>",
           f"<clipPath id='frame'><rect x='{left}' y='{top}' width='{right - left:.1f}' "
           f"height='{bottom - top:.1f}'/></clipPath>"]
    # The grid, the ticks and their labels.
    for value, label in zip(xticks, xlabels, strict=True):
        x = px(value)
        out.append(f"<path d='M{x:.1f} {top}V{bottom}' stroke='#e3e3e3'/>"
                   f"<path d='M{x:.1f} {bottom}v4' stroke='#333'/>"
                   f"<text x='{x:.1f}' y='{bottom + 6 + _FONT}' text-anchor='middle'>"
                   f"{label}</text>")
    for value, label in zip(yticks, ylabels, strict=True):
        y = py(value)
        out.append(f"<path d='M{left} {y:.1f}H{right}' stroke='#e3e3e3'/>"
                   f"<path d='M{left} {y:.1f}h-4' stroke='#333'/>"
                   f"<text x='{left - 6}' y='{y + _FONT * 0.35:.1f}' text-anchor='end'>"
                   f"{label}</text>")
    out.append(f"<rect x='{left}' y='{top}' width='{right - left:.1f}' "
               f"height='{bottom - top:.1f}' fill='none' stroke='#333'/>")
    if chart.title:
        out.append(f"<text x='{(left + right) / 2:.1f}' y='18' text-anchor='middle' "
                   f"font-size='13'>{_e(chart.title)}</text>")
    if chart.xlabel:
        out.append(f"<text x='{(left + right) / 2:.1f}' y='{chart.height - 6}' "
                   f"text-anchor='middle' font-size='12'>{_e(chart.xlabel)}</text>")
    if chart.ylabel:
        middle = (top + bottom) / 2
        out.append(f"<text transform='translate(16 {middle:.1f}) rotate(-90)' "
                   f"text-anchor='middle' font-size='12'>{_e(chart.ylabel)}</text>")
    # The lines, clipped to the frame.
    colors = iter(COLORS)
    keyed = []
    out.append("<g clip-path='url(#frame)' fill='none' stroke-linejoin='round'>")
    for series in chart.series:
        color = series.color or (_GREY if series.dashed else next(colors))
        points = [(px(x), py(y)) if math.isfinite(x) and math.isfinite(y) else None
                  for x, y in zip(series.x, series.y, strict=True)]
        path, pen_down = [], False
        for point in points:
            if point is not None:
                path.append(f"{'L' if pen_down else 'M'}{point[0]:.1f} {point[1]:.1f}")
            pen_down = point is not None
        style = ("stroke-width='1' stroke-dasharray='5 3'" if series.dashed
                 else "stroke-width='1.6'")
        out.append(f"<path d='{''.join(path)}' stroke='{color}' {style}/>")
        if series.dots:
            radius = 2 if len(points) > 12 else 3
            out.extend(f"<circle cx='{p[0]:.1f}' cy='{p[1]:.1f}' r='{radius}' "
                       f"fill='{color}'/>" for p in points if p is not None)
        if series.label:
            keyed.append((series, color))
    out.append("</g>")
    for note in chart.notes:  # outside the clip: it sits on the edge
        x, y = px(note.x), top if note.above else bottom
        tip = -4 if note.above else 4  # a triangle pointing off the scale
        out.append(f"<path d='M{x - 4:.1f} {y - tip * 0.75:.1f}h8L{x:.1f} {y + tip:.1f}Z' "
                   f"fill='{note.color}'/>")
        text_y = y + (12 if note.above else -5)
        out.append(f"<text x='{x + 6:.1f}' y='{text_y:.1f}' fill='{note.color}' "
                   f"font-size='10'>{_e(note.text)}</text>")
    if chart.legend and keyed:
        out.append(_legend(keyed, chart.legend, left, top, right, bottom))
    out.append("</svg>")
    return "".join(out)


def _legend(keyed, where: str, left: float, top: float, right: float, bottom: float) -> str:
    row = _FONT + 6
    width = 8 + 22 + max(_text_width(s.label) for s, _ in keyed) + 8
    height = row * len(keyed) + 6
    x = left + 6 if "left" in where else right - 6 - width
    y = top + 6 if "upper" in where else bottom - 6 - height
    out = [f"<rect x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' height='{height}' "
           "fill='#fff' fill-opacity='0.85' stroke='#ccc' rx='3'/>"]
    for i, (series, color) in enumerate(keyed):
        middle = y + 3 + row * i + row / 2
        dash = " stroke-dasharray='5 3'" if series.dashed else ""
        out.append(f"<path d='M{x + 8:.1f} {middle:.1f}h18' stroke='{color}' "
                   f"stroke-width='{1 if series.dashed else 1.6}'{dash}/>"
                   f"<text x='{x + 30:.1f}' y='{middle + _FONT * 0.35:.1f}'>"
                   f"{_e(series.label)}</text>")
    return "".join(out)


def _padded(values: Sequence[float]) -> tuple[float, float]:
    """The values' range with 5% on each side (a lone value: 5% of it, or 0.05)."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 0.05
    return low - pad, high + pad


def _labels(ticks: Sequence[float]) -> list[str]:
    """The ticks written with the decimals their step needs (0.25 -> 2 decimals)."""
    if len(ticks) < 2:
        return [f"{t:g}" for t in ticks]
    step = ticks[1] - ticks[0]
    decimals = next(d for d in range(12) if abs(round(step, d) - step) < step * 1e-6)
    return [f"{t:.{decimals}f}" for t in ticks]


def _text_width(text: str, size: float = _FONT) -> float:
    return len(text) * size * _CHAR


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
