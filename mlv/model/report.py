"""What ``mlv report`` shows, gathered by ``core/history/report.py``, drawn by ``render/report``.

Pure data: the experiments table, the diff of the two compared snapshots (``mlv diff``'s own
result, drift included), the recorded distributions of the columns that get a chart, the
lineage of the outputs and the environment diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlv.model.diff import DiffReport, TableDiff
from mlv.model.env_diff import EnvironmentDiff
from mlv.model.experiments import ExperimentTable
from mlv.model.lineage import Lineage


@dataclass
class Distribution:
    """One side of a column as its summary recorded it: percentiles 0..100 of a numeric
    column, or the most frequent values of any column (as text) with their counts."""

    quantiles: list[float] = field(default_factory=list)
    top: list[tuple[str, int]] = field(default_factory=list)
    rows: int = 0


@dataclass
class ColumnDistributions:
    name: str
    old: Distribution | None  # None: the column is not in that version (or has no statistics)
    new: Distribution | None
    psi: float | None
    drift: str  # "ok", "warn", "alert"


@dataclass
class TableSection:
    """A table that changed between the compared snapshots: ``diff`` as ``mlv diff`` found it
    (its columns cut to the report's bound, worst drift first), the charts' data, and how many
    columns were left out."""

    diff: TableDiff
    distributions: list[ColumnDistributions] = field(default_factory=list)
    omitted_columns: int = 0


@dataclass
class EnvironmentView:
    """How the environment recorded by the newer compared snapshot differs from the older's:
    ``diff`` as `mlv env diff` computes it (requirements pins included when the lockfiles are
    in the store), None when a snapshot recorded no environment (``note`` says which)."""

    old_fingerprint: str | None
    new_fingerprint: str | None
    diff: EnvironmentDiff | None = None
    note: str = ""


@dataclass
class Report:
    project: str  # the repository's directory name
    generated: str  # ISO date and time
    experiments: ExperimentTable  # newest first
    diff: DiffReport | None = None  # None: fewer than two snapshots to compare
    tables: list[TableSection] = field(default_factory=list)
    lineage: list[Lineage] = field(default_factory=list)
    environment: EnvironmentView | None = None
    notes: list[str] = field(default_factory=list)  # what was left out to bound the size
