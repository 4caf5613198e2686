"""SVG line charts: round ticks, the data's limits, broken lines, escaped text, notes."""

import math
import xml.etree.ElementTree as ElementTree

import pytest

from components.evaluator.charts import Chart, Note, Series, nice_ticks, to_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("low", "high", "ticks"), [
    (-0.05, 1.05, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (-15, 315, [0, 100, 200, 300]),
    (0.2905, 0.3285, [0.3, 0.31, 0.32]),
    (-2.5, 2.5, [-2.0, -1.0, 0.0, 1.0, 2.0]),
    (3.0, 3.0, [3.0]),
])
def test_ticks_are_round_and_few(low, high, ticks):
    got = nice_ticks(low, high)
    assert 1 <= len(got) <= 6 and all(low <= t <= high for t in got)
    assert got == pytest.approx(ticks)
    if len(got) > 1:  # one step, 1, 2, 2.5 or 5 times a power of ten
        step = got[1] - got[0]
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5)) < 1e-9


def _parse(chart: Chart) -> ElementTree.Element:
    return ElementTree.fromstring(to_svg(chart))  # well-formed, or it raises


def test_a_chart_is_a_sized_svg_with_its_texts_escaped():
    chart = Chart(series=(Series((0, 1, 2), (1, 3, 2), label="a <b> & 'c'", dots=True),
                          Series((0, 2), (0, 4), dashed=True)),
                  title="loss & <more>", xlabel="step", ylabel="value", legend="upper left",
                  width=300, height=200)
    svg = _parse(chart)
    assert (svg.get("width"), svg.get("height"), svg.get("viewBox")) == ("300", "200",
                                                                         "0 0 300 200")
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"loss & <more>", "step", "value", "a <b> & 'c'"} <= set(texts)
    # The y-axis spans the data (0 to 4) and 5% more: its ticks are 0 to 4.
    assert {"0", "1", "2", "3", "4"} <= set(texts) and "5" not in texts
    assert len(list(svg.iter(f"{SVG}circle"))) == 3
    assert any(p.get("stroke-dasharray") for p in svg.iter(f"{SVG}path"))


def test_a_missing_value_breaks_the_line_and_a_note_sits_on_the_edge():
    chart = Chart(series=(Series((0, 1, 2, 3, 4), (9.0, 1.0, math.nan, 2.0, 3.0)),),
                  ylim=(0.5, 3.5), notes=(Note(0, "step 0: 9 (off scale)"),))
    svg = _parse(chart)
    line = next(p.get("d") for p in svg.iter(f"{SVG}path") if p.get("stroke-width") == "1.6")
    assert line.count("M") == 2 and line.count("L") == 2  # 0-1, then 3-4
    assert "step 0: 9 (off scale)" in [t.text for t in svg.iter(f"{SVG}text")]
    assert chart.ylimits == (0.5, 3.5) and chart.xlim == pytest.approx((-0.2, 4.2))


def test_a_chart_without_data_still_draws():
    svg = _parse(Chart(series=(Series((), ()),), title="empty"))
    assert "empty" in [t.text for t in svg.iter(f"{SVG}text")]
