"""What ``mlv diff`` found between two versions, and its JSON-ready dict (docs/json.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FileChanges:
    """The files of a directory artifact that changed (lists only with ``--files``)."""

    added: int = 0
    removed: int = 0
    modified: int = 0
    paths: dict[str, list[str]] | None = None  # "added" / "removed" / "modified" -> paths


@dataclass
class ArtifactDiff:
    path: str
    change: str  # "added", "removed", "modified"
    type: str
    old_size: int | None
    new_size: int | None
    old_files: int | None
    new_files: int | None
    files: FileChanges | None = None  # None: not a directory, or its listing is not available


@dataclass
class ValueChange:
    """A param or metric, old -> new; deltas for numbers."""

    stage: str
    name: str
    old: Any
    new: Any
    delta: float | None = None
    relative: float | None = None


@dataclass
class ColumnDiff:
    name: str
    change: str  # "added", "removed", "retyped", "modified", "unchanged"
    old_type: str | None = None
    new_type: str | None = None
    stats: dict[str, list[Any]] = field(default_factory=dict)  # statistic -> [old, new]
    psi: float | None = None
    drift: str = "ok"  # "ok", "warn", "alert"
    ks: float | None = None


@dataclass
class RowDiff:
    """Rows matched by key between two local versions of a table."""

    key: list[str]
    added: int
    removed: int
    changed: int
    unchanged: int
    duplicate_keys: list[int]  # [old, new] keys that occur more than once
    changed_columns: dict[str, int]  # column -> rows where it changed
    sample: list[dict[str, Any]]


@dataclass
class TableDiff:
    path: str
    change: str  # "added", "removed", "modified"
    old_rows: int | None = None
    new_rows: int | None = None
    opaque: list[str | None] = field(default_factory=lambda: [None, None])  # reasons
    summaries: bool = True  # False: a summary was not available (see ``note``)
    note: str = ""
    columns: list[ColumnDiff] = field(default_factory=list)
    rows: RowDiff | None = None

    @property
    def schema_changed(self) -> bool:
        return any(c.change in ("added", "removed", "retyped") for c in self.columns)

    @property
    def max_drift(self) -> str:
        levels = [c.drift for c in self.columns]
        return "alert" if "alert" in levels else ("warn" if "warn" in levels else "ok")


@dataclass
class DiffReport:
    old: str  # what was compared: a revision, or "workspace"
    new: str
    old_commit: str | None
    new_commit: str | None
    artifacts: list[ArtifactDiff] = field(default_factory=list)
    params: list[ValueChange] = field(default_factory=list)
    metrics: list[ValueChange] = field(default_factory=list)
    tables: list[TableDiff] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    check_failures: list[str] = field(default_factory=list)  # filled by --check

    @property
    def empty(self) -> bool:
        return not (self.artifacts or self.params or self.metrics or self.tables)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for table, raw in zip(self.tables, doc["tables"], strict=True):
            raw["schema_changed"] = table.schema_changed
            raw["drift"] = table.max_drift
        return doc
