"""The verdict of ``mlv reproduce``: per stage and per output, and its JSON-ready dict.

``mlv.render.junit`` writes it as JUnit XML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlv.model.ids import ObjectId

IDENTICAL = "identical"
WITHIN_TOLERANCE = "within tolerance"
DIFFERS = "differs"
MISSING = "missing"  # the stage did not write it (or did not run)


@dataclass
class MetricDelta:
    name: str
    recorded: Any
    reproduced: Any
    delta: float | None  # None for non-numeric values
    tolerance: float | None

    @property
    def within(self) -> bool:
        if self.recorded == self.reproduced:
            return True
        return (
            self.delta is not None
            and self.tolerance is not None
            and (abs(self.delta) <= self.tolerance)
        )


@dataclass
class ColumnDelta:
    """A column of a reproduced table whose values differ from the recorded ones."""

    name: str
    differing: int  # rows whose value differs (null against a value counts)
    max_abs: float | None  # largest absolute difference (numeric columns)
    tolerance: float | None

    @property
    def within(self) -> bool:
        return (
            self.max_abs is not None
            and self.tolerance is not None
            and self.max_abs <= self.tolerance
        )

    def explain(self) -> str:
        size = f", max |delta| {self.max_abs:.6g}" if self.max_abs is not None else ""
        tol = f", tolerance {self.tolerance:g}" if self.tolerance is not None else ""
        return f"{self.name}: {self.differing} value(s) differ{size}{tol}"


@dataclass
class TableComparison:
    """How a reproduced table differs from the recorded one (both compared row by row)."""

    rows: list[int] = field(default_factory=list)  # [recorded, reproduced]
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)
    columns: list[ColumnDelta] = field(default_factory=list)
    error: str = ""  # the comparison itself failed (an unreadable table)

    @property
    def same_shape(self) -> bool:
        return (
            not self.error
            and not (self.columns_added or self.columns_removed or self.retyped)
            and len(self.rows) == 2
            and self.rows[0] == self.rows[1]
        )

    @property
    def within(self) -> bool:
        return self.same_shape and all(c.within for c in self.columns)

    def explain(self) -> str:
        if self.error:
            return f"table not comparable: {self.error}"
        parts = []
        if self.columns_added:
            parts.append(f"columns added: {', '.join(self.columns_added)}")
        if self.columns_removed:
            parts.append(f"columns removed: {', '.join(self.columns_removed)}")
        if self.retyped:
            parts.append(f"columns retyped: {', '.join(self.retyped)}")
        if len(self.rows) == 2 and self.rows[0] != self.rows[1]:
            parts.append(f"rows {self.rows[0]} -> {self.rows[1]}")
        parts += [c.explain() for c in self.columns]
        if not parts:
            parts.append("same values, different bytes (encoding or order of metadata)")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns_added": self.columns_added,
            "columns_removed": self.columns_removed,
            "retyped": self.retyped,
            "error": self.error or None,
            "columns": [
                {
                    "name": c.name,
                    "differing": c.differing,
                    "max_abs": c.max_abs,
                    "tolerance": c.tolerance,
                    "within": c.within,
                }
                for c in self.columns
            ],
        }


@dataclass
class FileTable:
    """A table inside an output directory, compared with its recorded version."""

    path: str  # relative to the repository root, as tolerances name it
    table: TableComparison


def _some(paths: list[str], shown: int = 5) -> str:
    more = f" (+{len(paths) - shown} more)" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


@dataclass
class DirComparison:
    """How a reproduced output directory differs from the recorded one, file by file."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # differing files not compared as tables
    tables: list[FileTable] = field(default_factory=list)

    @property
    def within(self) -> bool:
        """Every differing file is a table within its tolerances (and something differs)."""
        return (
            bool(self.tables)
            and not (self.added or self.removed or self.changed)
            and all(t.table.within for t in self.tables)
        )

    def explain(self) -> str:
        parts = []
        if self.added:
            parts.append(f"files added: {_some(self.added)}")
        if self.removed:
            parts.append(f"files removed: {_some(self.removed)}")
        if self.changed:
            parts.append(f"files changed: {_some(self.changed)}")
        parts += [f"{t.path}: {t.table.explain()}" for t in self.tables]
        return "; ".join(parts) or "same files; modes or empty directories differ"

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "tables": [
                {"path": t.path, "within": t.table.within, **t.table.to_dict()} for t in self.tables
            ],
        }


@dataclass
class OutputVerdict:
    stage: str
    path: str
    verdict: str
    recorded: ObjectId
    reproduced: ObjectId | None
    recorded_size: int | None = None
    reproduced_size: int | None = None
    metrics: list[MetricDelta] = field(default_factory=list)
    table: TableComparison | None = None
    files: DirComparison | None = None  # a directory output: its differing files

    @property
    def ok(self) -> bool:
        return self.verdict in (IDENTICAL, WITHIN_TOLERANCE)

    def explain(self) -> str:
        if self.verdict == IDENTICAL:
            return "identical"
        if self.verdict == MISSING:
            return "not produced"
        parts = []
        if self.recorded_size is not None and self.reproduced_size is not None:
            if self.recorded_size != self.reproduced_size:
                parts.append(f"size {self.recorded_size} -> {self.reproduced_size} bytes")
            else:
                parts.append(f"same size ({self.recorded_size} bytes), different content")
        for m in self.metrics:
            if m.recorded != m.reproduced:
                delta = f" ({m.delta:+.6g})" if m.delta is not None else ""
                tol = f", tolerance {m.tolerance:g}" if m.tolerance is not None else ""
                parts.append(f"{m.name}: {m.recorded} -> {m.reproduced}{delta}{tol}")
        if self.table is not None:
            parts.append(f"table: {self.table.explain()}")
        if self.files is not None:
            parts.append(self.files.explain())
        return "; ".join(parts) or self.verdict


@dataclass
class StageVerdict:
    name: str
    cmd: str
    inputs_matched: bool
    input_differences: list[str] = field(default_factory=list)
    exit_code: int | None = None  # None: not run (an earlier stage failed)
    duration: float = 0.0
    log: str = ""
    outputs: list[OutputVerdict] = field(default_factory=list)
    marked_stale: list[str] = field(default_factory=list)  # the snapshot's stale mark, if any

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and all(o.ok for o in self.outputs)


@dataclass
class ReproduceReport:
    rev: str
    commit: str
    environment: dict[str, Any]  # drift, as shown by status --json
    stages: list[StageVerdict] = field(default_factory=list)
    workdir: str | None = None  # kept for inspection
    # Which environment the stages ran in: {"kind": "current" | "recorded", "fingerprint", and
    # for a recorded one "path", "built" (False: taken from the cache), "seconds"}.
    environment_used: dict[str, Any] = field(default_factory=dict)

    @property
    def reproduced(self) -> bool:
        return bool(self.stages) and all(s.ok for s in self.stages)

    @property
    def first_divergence(self) -> str | None:
        """The first stage whose outputs diverged although its inputs matched the record."""
        for s in self.stages:
            if s.inputs_matched and not s.ok:
                return s.name
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "commit": self.commit,
            "reproduced": self.reproduced,
            "first_divergence": self.first_divergence,
            "workdir": self.workdir,
            "environment": self.environment,
            "environment_used": self.environment_used,
            "stages": [
                {
                    "name": s.name,
                    "cmd": s.cmd,
                    "inputs_matched": s.inputs_matched,
                    "input_differences": s.input_differences,
                    "marked_stale": s.marked_stale,
                    "exit_code": s.exit_code,
                    "duration": round(s.duration, 3),
                    "outputs": [
                        {
                            "path": o.path,
                            "verdict": o.verdict,
                            "recorded": o.recorded,
                            "reproduced": o.reproduced,
                            "recorded_size": o.recorded_size,
                            "reproduced_size": o.reproduced_size,
                            "detail": o.explain(),
                            "table": None if o.table is None else o.table.to_dict(),
                            "files": None if o.files is None else o.files.to_dict(),
                            "metrics": [
                                {
                                    "name": m.name,
                                    "recorded": m.recorded,
                                    "reproduced": m.reproduced,
                                    "delta": m.delta,
                                    "tolerance": m.tolerance,
                                }
                                for m in o.metrics
                            ],
                        }
                        for o in s.outputs
                    ],
                }
                for s in self.stages
            ],
        }
