"""The HTML page of ``mlv report``: one self-contained file, no script, no network.

Every text that comes from the project (paths, column names, commit messages, values) goes
through ``html.escape``; the page also carries a Content-Security-Policy that forbids scripts
and every network fetch, so even a mistake here could not make an injected ``<script>`` run.
"""

from __future__ import annotations

from html import escape

from mlv.model.experiments import Experiment
from mlv.model.report import Report
from mlv.render.document import document
from mlv.render.lineage_svg import lineage_svg
from mlv.render.report.charts import metric_chart
from mlv.render.report.environment import environment_section
from mlv.render.report.tables import drift_section
from mlv.render.report.text import cell, name

MAX_CHARTS = 40  # metric charts (the others are in the snapshots table)
MAX_PARAMS = 50  # param columns (those that change first), and as many metric columns


def _snapshots(report: Report, rows: list[Experiment]) -> str:
    exp = report.experiments
    changing = [p for p in exp.params if any(p in r.changed_params for r in rows)]
    params = (changing + [p for p in exp.params if p not in changing])[:MAX_PARAMS]
    head = "".join(f"<th class='param'>{name(p)}</th>" for p in params)
    head += "".join(f"<th class='metric'>{name(m)}</th>" for m in exp.metrics[:MAX_PARAMS])
    lines = [
        "<div class='scroll'><table id='snapshots'><tr><th>commit</th><th>date</th>"
        f"<th>message</th>{head}</tr>"
    ]
    for r in reversed(rows):  # newest first
        tds = [
            f"<td><code>{escape(r.commit[:10])}</code></td>",
            f"<td class='date'>{escape(r.date[:16].replace('T', ' '))}</td>",
            f"<td>{cell(r.subject)}{' (' + escape(r.problem) + ')' if r.problem else ''}</td>",
        ]
        for p in params:
            mark = " class='changed'" if p in r.changed_params else ""
            tds.append(f"<td{mark}>{cell(r.params.get(p))}</td>")
        for m in exp.metrics[:MAX_PARAMS]:
            mark = " class='num changed'" if m in r.changed_metrics else " class='num'"
            tds.append(f"<td{mark}>{cell(r.metrics.get(m))}</td>")
        lines.append(f"<tr>{''.join(tds)}</tr>")
    lines.append("</table></div>")
    if len(params) < len(exp.params) or len(exp.metrics) > MAX_PARAMS:
        lines.append(f"<p class='note'>columns cut to {MAX_PARAMS} params and metrics each</p>")
    return "\n".join(lines)


def _metrics(report: Report, rows: list[Experiment]) -> str:
    names = report.experiments.metrics
    if not names:
        return "<p>No metrics recorded in these snapshots.</p>"
    parts = ["<div class='charts' id='metric-charts'>"]
    notes = []
    for metric in names[:MAX_CHARTS]:
        svg, skipped = metric_chart(metric, rows)
        if skipped:
            notes.append(f"{name(metric)}: not a number at {escape(', '.join(skipped[:20]))}")
        if svg is not None:
            parts.append(f"<figure class='chart metric' data-name='{name(metric)}'>{svg}</figure>")
    parts.append("</div>")
    if len(names) > MAX_CHARTS:
        notes.append(f"{len(names) - MAX_CHARTS} more metrics not charted (see the table)")
    parts += [f"<p class='note'>{n}</p>" for n in notes]
    return "\n".join(parts)


def render_report(report: Report) -> str:
    """The whole report as one HTML document."""
    rows = list(reversed(report.experiments.rows))  # oldest first: commit order
    title = f"mlv report: {report.project}"
    d = report.diff
    compared = ""
    if d is not None:
        old, new = _side(d.old, d.old_commit), _side(d.new, d.new_commit)
        compared = f"<p>Compared (drift, environment): {old} → {new}</p>"
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(rows)} snapshots, generated {escape(report.generated)} by mlv.</p>{compared}",
        *(f"<p class='note'>{escape(n)}</p>" for n in report.notes),
        "<h2 id='metrics'>Metrics</h2>",
        _metrics(report, rows),
        "<h2 id='params'>Snapshots, params and metrics</h2>",
        "<p>Highlighted: changed since the snapshot before.</p>",
        _snapshots(report, rows),
        "<h2 id='drift'>Tables and drift</h2>",
        drift_section(report),
        "<h2 id='lineage'>Lineage</h2>",
        _lineage(report),
        "<h2 id='environment'>Environment</h2>",
        environment_section(report.environment),
    ]
    return document(title, "\n".join(body))


def _side(label: str, commit: str | None) -> str:
    """A compared revision: its commit, and the name the user gave it when that is not a sha."""
    short = (commit or label)[:10]
    named = "" if commit is None or commit.startswith(label) else f" ({escape(label)})"
    return f"<code>{escape(short)}</code>{named}"


def _lineage(report: Report) -> str:
    if not report.lineage:
        return "<p>No stage outputs recorded in the newest snapshot.</p>"
    svg, omitted = lineage_svg(report.lineage)
    note = f"<p class='note'>{omitted} nodes not drawn</p>" if omitted else ""
    return f"{note}<div class='scroll graph'>{svg}</div>"
