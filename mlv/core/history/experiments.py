"""``mlv log --metrics --params``: the params and metrics of each snapshot, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from mlv.core.history.log import LogEntry, log
from mlv.core.project import Project
from mlv.errors import UsageError
from mlv.model.experiments import Experiment, ExperimentTable
from mlv.model.manifest import Lock

REMOVED = "mlv.lock removed"  # the problem of a snapshot commit that deleted the manifest


def _values(lock: Lock, what: str) -> dict[tuple[str, str], Any]:
    """(stage, name) -> value of every param or metric the manifest's stages recorded."""
    found: dict[tuple[str, str], Any] = {}
    for stage_name, stage in lock.stages.items():
        for name, value in getattr(stage, what).items():
            found[(stage_name, name)] = value
    return found


def _columns(keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Column names: the value's name (``metrics.json:acc``), qualified by its stage
    (``train/metrics.json:acc``) only when two stages record the same name."""
    stages_of: dict[str, set[str]] = {}
    for stage, name in keys:
        stages_of.setdefault(name, set()).add(stage)
    return {(s, n): n if len(stages_of[n]) == 1 else f"{s}/{n}" for s, n in keys}


def _select(available: list[str], wanted: Sequence[str] | None, what: str) -> list[str]:
    """The columns chosen by ``--metric/--param NAME``: a full name, or the part after ``:``."""
    if wanted is None:
        return available
    chosen: list[str] = []
    for name in wanted:
        matches = [c for c in available if c == name or c.rpartition(":")[2] == name]
        matches = matches or [c for c in available if c.rpartition("/")[2] == name]
        if not matches:
            raise UsageError(
                f"no {what} named {name!r} in these snapshots",
                f"{what}s recorded: {', '.join(available) or '(none)'}",
            )
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def table_of(
    entries: Sequence[LogEntry],
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> ExperimentTable:
    """The experiments table of log entries (newest first), a change marked against the
    snapshot before it (the next entry whose manifest could be read)."""
    raw: list[tuple[LogEntry, dict[tuple[str, str], Any], dict[tuple[str, str], Any]]] = []
    for e in entries:
        if e.lock is None:
            raw.append((e, {}, {}))
        else:
            raw.append((e, _values(e.lock, "params"), _values(e.lock, "metrics")))
    p_names = _columns({k for _, p, _ in raw for k in p})
    m_names = _columns({k for _, _, m in raw for k in m})
    table = ExperimentTable(
        params=_select(sorted(set(p_names.values())), params, "param"),
        metrics=_select(sorted(set(m_names.values())), metrics, "metric"),
    )
    for e, p, m in raw:
        problem = e.problem or (None if e.lock is not None else REMOVED)
        row = Experiment(e.commit, e.date, e.author, e.subject, problem=problem)
        row.params = {p_names[k]: v for k, v in p.items() if p_names[k] in table.params}
        row.metrics = {m_names[k]: v for k, v in m.items() if m_names[k] in table.metrics}
        table.rows.append(row)
    # A snapshot whose manifest cannot be read (or was removed) has no values to compare: it
    # is marked by its problem, and the next one is compared with the last readable one.
    readable = [row for row, (e, _, _) in zip(table.rows, raw, strict=True) if e.lock is not None]
    for newer, older in pairwise(readable):
        newer.changed_params = [c for c in table.params if _differs(newer.params, older.params, c)]
        newer.changed_metrics = [
            c for c in table.metrics if _differs(newer.metrics, older.metrics, c)
        ]
    return table


def _differs(new: dict[str, Any], old: dict[str, Any], column: str) -> bool:
    return (column in new) != (column in old) or new.get(column) != old.get(column)


def experiments(
    project: Project,
    limit: int | None = None,
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> ExperimentTable:
    """Params and metrics of the snapshots reachable from HEAD, newest first."""
    return table_of(log(project, limit), params, metrics)
