"""The experiments table of ``mlv log --metrics --params``: rich table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from mlv.cli.output import out, print_json
from mlv.core.history.experiments import REMOVED, experiments
from mlv.core.project import open_project
from mlv.model.experiments import ExperimentTable

CELL = 24  # the widest a value or header may get before it is cut with an ellipsis


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _data(value: Any) -> str:
    """A value as CSV carries it: full precision (the shortest text that reads back as the
    same float), unlike the table's six significant digits."""
    if isinstance(value, float):
        return repr(value)
    return _cell(value)


def _headers(names: list[str]) -> list[str]:
    """Short headers: the key after the file name (``acc`` for ``metrics.json:acc``) where no
    other shown column has the same key."""
    short = [n.rpartition(":")[2] for n in names]
    return [s if short.count(s) == 1 else n for s, n in zip(short, names, strict=True)]


def show_experiments(
    limit: int | None,
    params: Sequence[str] | None,
    metrics: Sequence[str] | None,
    fmt: str,
) -> int:
    """Print the experiments table; ``[]`` leaves params or metrics out, ``None`` means all."""
    project = open_project()
    try:
        table = experiments(project, limit, params, metrics)
    finally:
        project.close()
    if fmt == "json":
        print_json(table.to_dict())
    elif fmt == "csv":
        _csv(table)
    elif not table.rows:
        out().print("No snapshots yet. Make one with `mlv snapshot -m MESSAGE`.")
    else:
        _rich(table)
    return 0


def _csv(table: ExperimentTable) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["commit", "date", "subject", *table.params, *table.metrics])
    for r in table.rows:
        values = [r.params.get(p) for p in table.params] + [r.metrics.get(m) for m in table.metrics]
        writer.writerow([r.commit, r.date, r.subject, *map(_data, values)])


def _texts(table: ExperimentTable) -> list[tuple[str, list[Text]]]:
    """Each value column: its header and its cells, a changed value marked with ``*``."""
    columns = []
    names = [*table.params, *table.metrics]
    for i, (name, header) in enumerate(zip(names, _headers(names), strict=True)):
        is_param = i < len(table.params)
        cells = []
        for r in table.rows:
            text = _cell((r.params if is_param else r.metrics).get(name))
            if len(text) > CELL - 1:  # cut here, so that the change mark is never cut off
                text = text[: CELL - 2] + "…"
            changed = name in (r.changed_params if is_param else r.changed_metrics)
            cells.append(
                Text(text + ("*" if changed else ""), style="bold yellow" if changed else "")
            )
        columns.append((header, cells))
    return columns


def _rich(table: ExperimentTable) -> None:
    """Commit, message and as many value columns as the terminal holds at their natural width
    (cut at ``CELL``); the others are named in a note rather than squeezed illegible. Every
    width is fixed here so that rich never shrinks a column: a number or its change mark is
    never cut, only a text value, a header or the message."""
    console = out()
    room = console.width - 7 - 1 - 12  # commit, a space, the message at its narrowest
    shown, left_out = [], []
    for header, cells in _texts(table):
        width = max(min(CELL, len(header)), *(c.cell_len for c in cells))
        if width + 1 > room:
            left_out.append(header)
        else:
            room -= width + 1
            shown.append((header, cells, width))
    view = Table(box=None, pad_edge=False, header_style="bold", collapse_padding=True)
    view.add_column("commit", width=7, no_wrap=True)
    view.add_column(
        "message",
        min_width=12,
        max_width=max(12, min(CELL, 12 + room)),
        overflow="ellipsis",
        no_wrap=True,
    )
    for header, _, width in shown:
        view.add_column(
            Text(header), width=width, overflow="ellipsis", no_wrap=True, justify="right"
        )
    for i, r in enumerate(table.rows):
        subject = r.subject
        if r.problem:  # named in full under the table
            subject = f"({'no mlv.lock' if r.problem == REMOVED else 'unreadable'}) {subject}"
        view.add_row(Text(r.commit[:7]), Text(subject), *(cells[i] for _, cells, _ in shown))
    console.print(view)
    for r in table.rows:
        if r.problem:
            console.print(f"{r.commit[:7]}: {r.problem}", markup=False, soft_wrap=False)
    if any(r.changed_params or r.changed_metrics for r in table.rows):
        console.print("* changed since the snapshot before", markup=False)
    if left_out:
        names = ", ".join(left_out[:10]) + (", ..." if len(left_out) > 10 else "")
        console.print(
            f"{len(left_out)} more columns do not fit ({names}): choose with --metric/--param,"
            " or use --csv",
            markup=False,
            soft_wrap=False,
        )
