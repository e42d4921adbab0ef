"""Charts of the report: Vega-Lite specifications rendered to SVG by vl-convert, in process
(no browser, no network), and inlined in the page. vl-convert is imported on first use."""

from __future__ import annotations

import html
import re
from typing import Any

from mlv.model.experiments import Experiment, as_number
from mlv.model.report import ColumnDistributions, Distribution

TEXT = 60  # characters of a commit message or a value carried into a chart
_COLOURS = {"old": "#7f8fa6", "new": "#e1701a"}


def _svg(spec: dict[str, Any]) -> str | None:
    """The chart as SVG, or None when the engine refuses it (the page then notes it is
    missing rather than failing as a whole)."""
    import vl_convert

    try:
        svg: str = vl_convert.vegalite_to_svg(spec)
    except ValueError:  # vl-convert's error for a spec or data it cannot draw
        return None
    return svg


# A point of a line chart as Vega writes it: its label names the commit, message and value.
_POINT = re.compile(r'(<path aria-label="([^"]*)"[^>]*aria-roledescription="point"[^>]*)/>')


def _tooltips(svg: str) -> str:
    """Give each point its label as an SVG ``<title>``: the browser shows it on hover, with
    no script (the page has none)."""

    def title(m: re.Match[str]) -> str:
        return f"{m.group(1)}><title>{html.escape(html.unescape(m.group(2)))}</title></path>"

    return _POINT.sub(title, svg)


def _cut(text: str) -> str:
    return text if len(text) <= TEXT else text[: TEXT - 1] + "…"


def metric_chart(name: str, rows: list[Experiment]) -> tuple[str | None, list[str]]:
    """A line of ``name`` across ``rows`` (oldest first), each point naming its commit and
    message; and the short commits whose value is not a number (left out of the line)."""
    points, skipped = [], []
    for i, r in enumerate(rows):
        value = r.metrics.get(name)
        number = as_number(value)
        if number is None or number != number or number in (float("inf"), float("-inf")):
            if value is not None:
                skipped.append(r.commit[:7])
            continue
        points.append(
            {"n": i + 1, "commit": r.commit[:7], "message": _cut(r.subject), "value": number}
        )
    if not points:
        return None, skipped
    spec = {
        "title": _cut(name),
        "width": min(900, max(320, 16 * len(rows))),
        "height": 180,
        "data": {"values": points},
        "mark": {"type": "line", "point": {"color": _COLOURS["new"]}, "color": _COLOURS["new"]},
        "encoding": {
            "x": {
                "field": "commit",
                "type": "ordinal",
                "sort": {"field": "n"},
                "title": "snapshot (oldest to newest)",
                "axis": {"labelAngle": -45, "labelOverlap": True},
            },
            "y": {"field": "value", "type": "quantitative", "scale": {"zero": False}},
            "tooltip": [
                {"field": "commit", "title": "commit"},
                {"field": "message", "title": "message"},
                {"field": "value", "title": "value"},
            ],
        },
    }
    svg = _svg(spec)
    return (None if svg is None else _tooltips(svg)), skipped


def distribution_chart(column: ColumnDistributions, labels: tuple[str, str]) -> str | None:
    """Old and new side by side: percentile curves of a numeric column, or the shares of the
    most frequent values of another."""
    sides = [(labels[0], column.old), (labels[1], column.new)]
    numeric = all(d is None or d.quantiles for _, d in sides)
    values = _quantile_points(sides) if numeric else _top_points(sides)
    if not values:
        return None
    flag = f"PSI {column.psi:.3f} ({column.drift})" if column.psi is not None else "no PSI"
    colour = {
        "field": "version",
        "type": "nominal",
        "sort": list(labels),
        "scale": {"domain": list(labels), "range": [_COLOURS["old"], _COLOURS["new"]]},
    }
    base: dict[str, Any] = {
        "title": {"text": _cut(column.name), "subtitle": flag},
        "width": 260,
        "height": 150,
        "data": {"values": values},
    }
    if numeric:
        base["mark"] = {"type": "line"}
        base["encoding"] = {
            "x": {"field": "p", "type": "quantitative", "title": "percentile"},
            "y": {"field": "value", "type": "quantitative", "scale": {"zero": False}},
            "color": colour,
        }
    else:
        base["mark"] = {"type": "bar"}
        base["encoding"] = {
            "y": {"field": "value", "type": "nominal", "title": None, "sort": None},
            "x": {"field": "share", "type": "quantitative", "axis": {"format": "%"}},
            "yOffset": {"field": "version", "sort": list(labels)},
            "color": colour,
        }
    return _svg(base)


def _quantile_points(sides: list[tuple[str, Distribution | None]]) -> list[dict[str, Any]]:
    points = []
    for label, dist in sides:
        if dist is None:
            continue
        step = 100 / max(1, len(dist.quantiles) - 1)
        points += [
            {"p": round(i * step, 3), "value": q, "version": label}
            for i, q in enumerate(dist.quantiles)
            if q == q and q not in (float("inf"), float("-inf"))
        ]
    return points


def _top_points(sides: list[tuple[str, Distribution | None]]) -> list[dict[str, Any]]:
    points = []
    for label, dist in sides:
        if dist is None or not dist.rows:
            continue
        points += [
            {"value": _cut(v), "share": n / dist.rows, "version": label} for v, n in dist.top
        ]
    return points
