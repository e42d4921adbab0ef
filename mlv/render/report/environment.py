"""The report's environment section: `mlv env diff` of the two compared snapshots as one table,
a row per change (interpreter, platform, packages, sources, lockfiles and their changed pins,
variables, conda, CUDA), each value escaped and cut, each group cut to ``MAX_ROWS``."""

from __future__ import annotations

from html import escape

from mlv.model.env_diff import Change, EnvironmentDiff
from mlv.model.report import EnvironmentView
from mlv.render.report.text import cell, name

MAX_ROWS = 500  # rows per kind of change (packages upgraded, pins of one lockfile...)

# A row: its kind (its data-kind attribute), the change, the name, the old and new values.
Row = tuple[str, str, str, str, str]


def _group(kind: str, label: str, changes: tuple[Change, ...], rows: list[Row]) -> int:
    """Add the first ``MAX_ROWS`` changes; return how many were left out."""
    rows += [(kind, label, c.name, c.old or "", c.new or "") for c in changes[:MAX_ROWS]]
    return max(0, len(changes) - MAX_ROWS)


def _rows(d: EnvironmentDiff) -> tuple[list[Row], int]:
    rows: list[Row] = []
    for change in (d.python, d.platform, d.release):
        if change is not None:
            label = "kernel release" if change.name == "release" else change.name
            rows.append((change.name, label, "", change.old or "", change.new or ""))
    cut = 0
    for kind, changes in (
        ("upgraded", d.upgraded),
        ("downgraded", d.downgraded),
        ("changed", d.changed),
        ("added", d.added),
        ("removed", d.removed),
    ):
        cut += _group(kind, f"package {kind}", changes, rows)
    sources = tuple(Change(c.name, c.old or "index", c.new or "index") for c in d.sources)
    cut += _group("source", "package source", sources, rows)
    for lockfile in d.lockfiles:
        rows.append(("lockfile", f"lockfile {lockfile.status}", lockfile.name, "", ""))
        pins = tuple(Change(p.name, p.old or "-", p.new or "-") for p in lockfile.pins or ())
        cut += _group("pin", f"pin in {lockfile.name}", pins, rows)
    cut += _group("variable", "variable", d.variables, rows)
    cut += _group("conda", "conda", d.conda, rows)
    cut += _group("cuda", "gpu", d.cuda, rows)
    return rows, cut


def environment_section(env: EnvironmentView | None) -> str:
    if env is None:
        return "<p>Only one snapshot: nothing to compare.</p>"
    parts = [
        f"<p>Fingerprints: <code>{escape(env.old_fingerprint or '-')}</code> → "
        f"<code>{escape(env.new_fingerprint or '-')}</code></p>"
    ]
    if env.note:
        parts.append(f"<p class='note'>{escape(env.note)}</p>")
    d = env.diff
    if d is None:
        return "\n".join(parts)
    if d.same:
        only = " but the kernel release (not part of the fingerprint)" if d.release else ""
        parts.append(f"<p>No difference{only}.</p>")
    rows, cut = _rows(d)
    if not rows:
        return "\n".join(parts)
    body = "".join(
        f"<tr data-kind='{kind}'><td>{name(label)}</td><td>{name(what)}</td>"
        f"<td>{cell(old)}</td><td>{cell(new)}</td></tr>"
        for kind, label, what, old, new in rows
    )
    parts.append(
        "<div class='scroll'><table id='environment-diff'><tr><th>change</th><th>name</th>"
        f"<th>old</th><th>new</th></tr>{body}</table></div>"
    )
    if cut:
        parts.append(f"<p class='note'>{cut} more environment changes not listed</p>")
    return "\n".join(parts)
