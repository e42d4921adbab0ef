"""Gather the report: the experiments table of the chosen snapshots, ``mlv diff`` between two
of them with the recorded distributions of the columns that get a chart, the lineage of the
outputs and the environment diff. Bounded, so that hundreds of snapshots or thousands of
columns give a report of a few megabytes at most (docs/report.md says what is cut)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from mlv.core.env.diff import LockReader
from mlv.core.history.diff import DiffOptions, diff, table_summary
from mlv.core.history.experiments import table_of
from mlv.core.history.log import LogEntry, log
from mlv.core.history.report_env import environment_view
from mlv.core.history.sides import revision_side
from mlv.core.pipeline.lineage import lineage
from mlv.core.project import Project
from mlv.errors import MlvError, UsageError
from mlv.model.diff import ColumnDiff
from mlv.model.ids import ObjectId
from mlv.model.manifest import LOCK_FILE, decode_lock
from mlv.model.report import ColumnDistributions, Distribution, Report, TableSection
from mlv.model.summary import TableSummary

MAX_SNAPSHOTS = 200  # snapshots in the charts and tables (the newest kept)
MAX_TABLES = 20  # changed tables shown in the drift section
MAX_COLUMNS = 500  # column rows per table (worst drift and schema changes first)
MAX_CHARTS = 60  # column distribution charts in the whole report (worst drift first)
MAX_OUTPUTS = 100  # stage outputs whose lineage is drawn
_LEVEL = {"alert": 2, "warn": 1, "ok": 0}


@dataclass(frozen=True)
class ReportOptions:
    revs: tuple[str, ...] = ()  # empty: the last ``limit`` snapshots of the current branch
    limit: int = 20
    compare: tuple[str, str] | None = None  # default: the last two selected snapshots
    fetch: bool = True


def _entries(project: Project, revs: tuple[str, ...]) -> list[LogEntry]:
    """The named revisions as log entries, newest first (by commit date), without repeats."""
    found: dict[str, LogEntry] = {}
    for rev in revs:
        sha = project.git.resolve(rev)
        if sha in found:
            continue
        info = project.git.commit_info(sha)
        data = project.git.read_blob(sha, LOCK_FILE)
        if data is None:
            raise UsageError(
                f"revision {rev} ({sha[:10]}) has no {LOCK_FILE}",
                "`mlv log` lists the commits that are snapshots",
            )
        found[sha] = LogEntry(sha, info.date, info.author, info.subject, decode_lock(data))
    return sorted(found.values(), key=lambda e: e.date, reverse=True)


def _rank(c: ColumnDiff) -> tuple[int, int, float]:
    return (-_LEVEL[c.drift], c.change == "unchanged", -(c.psi or 0.0))


def _distribution(summary: TableSummary | None, name: str) -> Distribution | None:
    column = summary.column(name) if summary is not None else None
    if summary is None or column is None:
        return None
    dist = Distribution(rows=summary.rows)
    if column.numeric is not None:
        dist.quantiles = list(column.numeric.quantiles)
    if column.frequencies is not None:
        dist.top = [(str(v), n) for v, n in column.frequencies.top[:10]]
    return dist if dist.quantiles or dist.top else None


def _tables(project: Project, report: Report, old: str, new: str) -> None:
    assert report.diff is not None
    tables = report.diff.tables
    if len(tables) > MAX_TABLES:
        report.notes.append(f"{len(tables) - MAX_TABLES} more changed tables not shown")
    a, b = revision_side(project, old), revision_side(project, new)
    charts = MAX_CHARTS
    for table in tables[:MAX_TABLES]:
        section = TableSection(table, omitted_columns=max(0, len(table.columns) - MAX_COLUMNS))
        table.columns = sorted(table.columns, key=_rank)[:MAX_COLUMNS]
        report.tables.append(section)
        if table.change != "modified" or charts <= 0:
            continue
        old_summary, new_summary = (
            table_summary(project, a, table.path),
            table_summary(project, b, table.path),
        )
        for column in table.columns:
            if charts <= 0:
                report.notes.append("more column distributions not drawn (worst drift first)")
                break
            pair = ColumnDistributions(
                column.name,
                _distribution(old_summary, column.name),
                _distribution(new_summary, column.name),
                column.psi,
                column.drift,
            )
            if pair.old is not None or pair.new is not None:
                section.distributions.append(pair)
                charts -= 1


def build_report(project: Project, options: ReportOptions = ReportOptions()) -> Report:
    """Everything ``mlv report`` shows, for the chosen snapshots."""
    entries = _entries(project, options.revs) if options.revs else log(project, options.limit)
    if not entries:
        raise UsageError("there are no snapshots to report on", "make one with `mlv snapshot`")
    report = Report(
        project.root.name,
        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        table_of(entries[:MAX_SNAPSHOTS]),
    )
    if len(entries) > MAX_SNAPSHOTS:
        report.notes.append(f"{len(entries) - MAX_SNAPSHOTS} older snapshots not shown")
    pair = options.compare
    if pair is None:
        usable = [e.commit for e in entries[:MAX_SNAPSHOTS] if e.lock is not None]
        pair = (usable[1], usable[0]) if len(usable) >= 2 else None
    if pair is None:
        report.notes.append("only one snapshot: no drift or environment diff to show")
    else:
        report.diff = diff(project, DiffOptions(old=pair[0], new=pair[1], fetch=options.fetch))
        report.notes += report.diff.warnings  # a remote that could not be reached, say
        _tables(project, report, pair[0], pair[1])
        (_, old_lock), (_, new_lock) = project.lock_at(pair[0]), project.lock_at(pair[1])
        report.environment = environment_view(
            old_lock, new_lock, pair[0][:10], pair[1][:10], read=_lockfile_reader(project)
        )
    newest = pair[1] if pair is not None else entries[0].commit
    _lineage(project, report, newest)
    return report


def _lockfile_reader(project: Project) -> LockReader:
    """Lockfile objects from the local store; None for one that is absent or damaged (its
    pins are then not compared, the lockfile is shown as modified)."""

    def read(oid: ObjectId) -> bytes | None:
        try:
            return project.store.read_bytes(oid) if project.store.exists(oid) else None
        except MlvError:
            return None

    return read


def _lineage(project: Project, report: Report, rev: str) -> None:
    _, lock = project.lock_at(rev)
    outs = sorted({o for s in lock.stages.values() for o in s.outs})
    if len(outs) > MAX_OUTPUTS:
        report.notes.append(f"the lineage of {len(outs) - MAX_OUTPUTS} more outputs not drawn")
    for out in outs[:MAX_OUTPUTS]:
        try:
            report.lineage.append(lineage(project, str(project.root / out), rev))
        except MlvError as exc:  # a malformed manifest: say so, draw the rest
            report.notes.append(f"lineage of {out}: {exc.message}")
