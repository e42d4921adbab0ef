"""``mlv diff``: what changed between two versions — artifacts, params, metrics and tables.

A version is a revision's mlv.lock, or the work tree (its files as they are now). Everything is
read from manifests and small objects (tree listings, table summaries); those missing locally
are fetched from the default remote when one is configured, so two revisions compare in a clone
that never pulled their data. The KS statistic and row-level diff need the tables' bytes and
are computed only where both versions are local.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlv.core.history.sides import Side, revision_side, workspace_side
from mlv.core.objects.sharing import using_store
from mlv.core.objects.trees import load_tree
from mlv.core.project import Project, to_relpath
from mlv.core.tables.compare import add_ks, compare
from mlv.core.tables.records import load_summary, summary_of
from mlv.errors import MlvError, PathError
from mlv.model.diff import ArtifactDiff, DiffReport, FileChanges, TableDiff, ValueChange
from mlv.model.ids import ObjectId
from mlv.model.paths import is_within
from mlv.model.summary import TableSummary, table_format

WORKSPACE = "workspace"


@dataclass(frozen=True)
class DiffOptions:
    old: str | None = None  # default HEAD
    new: str | None = None  # default the work tree
    paths: tuple[str, ...] = ()
    files: bool = False
    key: tuple[str, ...] = ()
    fetch: bool = True
    cwd: Path | None = None


@dataclass
class _Scope:
    paths: list[str] = field(default_factory=list)

    def wants(self, path: str) -> bool:
        return not self.paths or any(is_within(path, p) or is_within(p, path) for p in self.paths)


def _artifacts(old: Side, new: Side, scope: _Scope, files: bool) -> list[ArtifactDiff]:
    found = []
    for path in sorted(old.artifacts.keys() | new.artifacts.keys()):
        if not scope.wants(path):
            continue
        a, b = old.artifacts.get(path), new.artifacts.get(path)
        if a is not None and b is not None and a.id == b.id:
            continue
        change = "added" if a is None else ("removed" if b is None else "modified")
        kind = (b or a).type  # type: ignore[union-attr]
        diff = ArtifactDiff(
            path,
            change,
            kind,
            a.size if a else None,
            b.size if b else None,
            a.files if a else None,
            b.files if b else None,
        )
        if kind == "dir":
            diff.files = _file_changes(old.listing(path), new.listing(path), files)
            if a is not None and b is not None and _same_content(old, new, path, diff.files):
                continue  # one directory in two tree formats (a flat tree and its levels)
        found.append(diff)
    return found


def _same_content(old: Side, new: Side, path: str, changes: FileChanges | None) -> bool:
    """Whether two different tree ids list the same files, modes and empty directories."""
    if changes is None or changes.added or changes.removed or changes.modified:
        return False
    try:
        return load_tree(old.project.store.read_bytes, old.artifacts[path].id) == load_tree(
            new.project.store.read_bytes, new.artifacts[path].id
        )
    except MlvError:
        return False


def _file_changes(
    old: dict[str, ObjectId] | None, new: dict[str, ObjectId] | None, listed: bool
) -> FileChanges | None:
    if old is None or new is None:
        return None
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    modified = sorted(p for p in old.keys() & new.keys() if old[p] != new[p])
    changes = FileChanges(len(added), len(removed), len(modified))
    if listed:
        changes.paths = {"added": added, "removed": removed, "modified": modified}
    return changes


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _values(old: Side, new: Side, what: str, scope: _Scope) -> list[ValueChange]:
    changes = []
    for stage in sorted(old.stages.keys() | new.stages.keys()):
        a = getattr(old.stages.get(stage), what, None) or {}
        b = getattr(new.stages.get(stage), what, None) or {}
        for name in sorted(a.keys() | b.keys()):
            if not scope.wants(name.partition(":")[0]) or a.get(name) == b.get(name):
                continue
            change = ValueChange(stage, name, a.get(name), b.get(name))
            x, y = _number(change.old), _number(change.new)
            if x is not None and y is not None:
                change.delta = y - x
                change.relative = (y - x) / abs(x) if x else None
            changes.append(change)
    return changes


def table_summary(project: Project, side: Side, path: str) -> TableSummary | None:
    """The recorded summary; or, for a revision that recorded none (an older mlv, summaries
    off then) whose table is local, one computed now (and kept in the store's index)."""
    record = side.tables.get(path)
    if record is not None:
        try:
            return load_summary(project.store, record.summary)
        except MlvError:
            pass
    file_id, local = side.file_id(path), side.local(path)
    if file_id is None or local is None:
        return None
    if not project.declarations.tables.wants(path, local.stat().st_size):
        return None
    summary_id = summary_of(project.store, local, file_id, table_format(path) or "")
    return load_summary(project.store, summary_id)


def _tables(project: Project, old: Side, new: Side, scope: _Scope) -> list[TableDiff]:
    config = project.declarations.tables
    diffs = []
    candidates = {
        p
        for side in (old, new)
        for p in side.table_paths()
        if scope.wants(p) and table_format(p) is not None
    }
    for path in sorted(candidates):
        a_id, b_id = old.file_id(path), new.file_id(path)
        if a_id == b_id:
            continue
        change = "added" if a_id is None else ("removed" if b_id is None else "modified")
        diff = TableDiff(path, change)
        diffs.append(diff)
        a = table_summary(project, old, path) if a_id else None
        b = table_summary(project, new, path) if b_id else None
        if (a_id and a is None) or (b_id and b is None):
            diff.summaries = False
            diff.note = "no summary available (summaries off, or not fetched: `mlv fetch`)"
        if a is not None and b is not None:
            compare(a, b, config, diff)
            a_file, b_file = old.local(path), new.local(path)
            reader = table_format(path) or ""
            if a_file is not None and b_file is not None and diff.columns:
                diff.note = add_ks(diff, (a, b), (a_file, reader), (b_file, reader)) or ""
        elif a is not None:
            diff.old_rows = a.rows
        elif b is not None:
            diff.new_rows = b.rows
    return diffs


def diff(
    project: Project,
    options: DiffOptions = DiffOptions(),
    *,
    row_diff: Callable[[Project, TableDiff, Side, Side, tuple[str, ...]], None] | None = None,
) -> DiffReport:
    """Compare two versions (default: HEAD and the work tree)."""
    with using_store(project):
        old_rev = options.old or "HEAD"
        old = revision_side(project, old_rev)
        new = (
            workspace_side(project) if options.new is None else revision_side(project, options.new)
        )
        scope = _Scope([to_relpath(project.root, p, options.cwd) for p in options.paths])
        for path in scope.paths:
            known = [*old.artifacts, *new.artifacts]
            if not any(is_within(path, a) or is_within(a, path) for a in known):
                raise PathError(
                    f"{path} is not tracked in {old.label} or {new.label}",
                    "`mlv show` lists the tracked paths of a revision",
                )
        report = DiffReport(old.label, new.label, old.commit, new.commit)
        if options.fetch:
            report.warnings += _fetch_metadata(project, old, new, scope)
        report.artifacts = _artifacts(old, new, scope, options.files)
        report.params = _values(old, new, "params", scope)
        report.metrics = _values(old, new, "metrics", scope)
        report.tables = _tables(project, old, new, scope)
        if options.key:
            from mlv.core.history.rows import key_diff

            for table in report.tables:
                if table.change == "modified":
                    key_diff(project, table, old, new, options.key)
        return report


def _fetch_metadata(project: Project, old: Side, new: Side, scope: _Scope) -> list[str]:
    """Bring the tree listings and summaries the diff needs from the default remote."""
    wanted: set[ObjectId] = set()
    trees: set[ObjectId] = set()
    for side in (old, new):
        wanted |= {r.summary for p, r in side.tables.items() if scope.wants(p)}
        trees |= {a.id for p, a in side.artifacts.items() if a.type == "dir" and scope.wants(p)}
    missing = project.store.missing(wanted | trees)
    if not missing or not project.declarations.remotes:
        return []
    from mlv.core.objects.trees import reach
    from mlv.core.remote.fetch import fetch_objects

    def bring(oids: set[ObjectId]) -> None:
        if project.store.missing(oids):
            fetch_objects(project, project.store.missing(oids))

    try:
        fetch_objects(project, missing - trees)
        # The levels of a format 2 tree, one batch per depth (a present level has its subtree).
        reach(project.store.read_bytes, sorted(trees & missing), fetch=bring)
    except MlvError as exc:
        return [f"could not fetch table summaries and listings: {exc.message}"]
    except OSError as exc:  # the remote is unreachable: diff what is local
        return [f"could not fetch table summaries and listings: {exc}"]
    old.forget_listings()
    new.forget_listings()
    return []


def check_failures(report: DiffReport, project: Project) -> list[str]:
    """What ``mlv diff --check`` fails on: alert-level drift and schema changes (as
    ``[tables] check`` in mlv.toml says)."""
    config = project.declarations.tables
    failures = []
    for table in report.tables:
        if "schema" in config.check:
            if table.schema_changed:
                what = ", ".join(
                    f"{c.name} {c.change}"
                    for c in table.columns
                    if c.change in ("added", "removed", "retyped")
                )
                failures.append(f"{table.path}: schema changed ({what})")
            elif table.opaque[0] is None and table.opaque[1] is not None:
                failures.append(f"{table.path}: no longer readable ({table.opaque[1]})")
        if "drift" in config.check:
            alerts = [c for c in table.columns if c.drift == "alert"]
            if alerts:
                names = ", ".join(f"{c.name} (PSI {c.psi:.3f})" for c in alerts)
                failures.append(f"{table.path}: drift alert in {names}")
    return failures
