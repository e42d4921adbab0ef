"""The report's section about the tables of the two compared snapshots: schema and drift."""

from __future__ import annotations

from html import escape

from mlv.model.diff import ColumnDiff
from mlv.model.report import Report, TableSection
from mlv.render.report.charts import distribution_chart
from mlv.render.report.text import name

_STATS = ("rows", "nulls", "mean", "std", "min", "max", "distinct")


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _schema_change(c: ColumnDiff) -> str:
    if c.change == "retyped":
        return f"retyped ({c.old_type} → {c.new_type})"
    return f"{c.change} ({c.new_type or c.old_type})"


def _column_row(c: ColumnDiff) -> str:
    kind = c.new_type or c.old_type or ""
    if c.change == "retyped":
        kind = f"{c.old_type} → {c.new_type}"
    stats = "; ".join(
        f"{escape(k)} {_fmt(v[0])} → {_fmt(v[1])}" for k, v in c.stats.items() if k in _STATS
    )
    flag = c.drift if c.psi is not None else ""
    return (
        f"<tr class='column drift-{escape(c.drift)}' data-drift='{escape(c.drift)}'>"
        f"<td>{name(c.name)}</td><td>{escape(c.change)}</td><td>{escape(kind)}</td>"
        f"<td class='num'>{'' if c.psi is None else f'{c.psi:.3f}'}</td>"
        f"<td class='flag'>{escape(flag)}</td>"
        f"<td class='num'>{'' if c.ks is None else f'{c.ks:.3f}'}</td><td>{stats}</td></tr>"
    )


def _table(section: TableSection, labels: tuple[str, str]) -> str:
    t = section.diff
    rows = f"rows {_fmt(t.old_rows)} → {_fmt(t.new_rows)}"
    parts = [
        f"<section class='table' data-path='{name(t.path)}'>",
        f"<h3><code>{name(t.path)}</code>: {escape(t.change)}, {rows},"
        f" drift <span class='drift-{escape(t.max_drift)}'>{escape(t.max_drift)}</span></h3>",
    ]
    for side, reason in zip(("old", "new"), t.opaque, strict=True):
        if reason:
            parts.append(f"<p class='note'>{side} version is opaque: {escape(reason)}</p>")
    if t.note:
        parts.append(f"<p class='note'>{escape(t.note)}</p>")
    schema = [c for c in t.columns if c.change in ("added", "removed", "retyped")]
    if schema:
        items = "".join(f"<li>{name(c.name)}: {escape(_schema_change(c))}</li>" for c in schema)
        parts.append(f"<p>Schema changes:</p><ul class='schema'>{items}</ul>")
    if t.columns:
        parts.append(
            "<div class='scroll'><table class='columns'><tr><th>column</th><th>change</th>"
            "<th>type</th><th>PSI</th><th>drift</th><th>KS</th><th>statistics (old → new)</th>"
            "</tr>" + "".join(_column_row(c) for c in t.columns) + "</table></div>"
        )
    if section.omitted_columns:
        parts.append(f"<p class='note'>{section.omitted_columns} more columns not listed</p>")
    charts = []
    for dist in section.distributions:
        svg = distribution_chart(dist, labels)
        if svg is not None:
            flag = (
                "" if dist.drift == "ok" else f"<figcaption>drift {escape(dist.drift)}</figcaption>"
            )
            charts.append(
                f"<figure class='chart distribution drift-{escape(dist.drift)}'"
                f" data-column='{name(dist.name)}'>{svg}{flag}</figure>"
            )
    if charts:
        parts.append(f"<div class='charts'>{''.join(charts)}</div>")
    parts.append("</section>")
    return "\n".join(parts)


def drift_section(report: Report) -> str:
    d = report.diff
    if d is None:
        return "<p>Only one snapshot: nothing to compare.</p>"
    if not report.tables:
        return "<p>No table changed between the compared snapshots.</p>"
    labels = ((d.old_commit or d.old)[:10], (d.new_commit or d.new)[:10])
    return "\n".join(_table(s, labels) for s in report.tables)
