"""Comparing two versions of a table: from their summaries (schema, rows, statistics, PSI), and
from their bytes when both are local (the Kolmogorov-Smirnov statistic)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from mlv.core.tables.drift import column_psi, ks_statistic
from mlv.core.tables.readers import Opaque, open_reader, reading
from mlv.core.tables.summarise import as_floats, temporal_ints
from mlv.model.diff import ColumnDiff, TableDiff
from mlv.model.summary import ColumnSummary, TableSummary
from mlv.model.table_config import TableConfig

# KS reads the numeric columns whole, and sorting and the two CDFs take about 60 bytes a value
# (measured: 2.2 GiB at 19M values a side). Beyond this many values per version it is skipped,
# which keeps its peak near 250 MiB.
KS_MAX_VALUES = 2_000_000


def _stats(column: ColumnSummary) -> dict[str, Any]:
    found: dict[str, Any] = {"nulls": column.nulls}
    if column.numeric is not None:
        n = column.numeric
        found.update(mean=n.mean, std=n.std, min=n.min, max=n.max)
        if n.nonfinite:
            found["nonfinite"] = n.nonfinite
    if column.frequencies is not None:
        found["distinct"] = column.frequencies.distinct
        if column.frequencies.top:
            found["top"] = column.frequencies.top[0][0]
    return found


def _logical(arrow_type: str) -> str:
    """A type as a schema change sees it: 32- and 64-bit offsets (``large_string``) alike."""
    return arrow_type.replace("large_", "")


def _column(
    old: ColumnSummary, old_rows: int, new: ColumnSummary, new_rows: int, config: TableConfig
) -> ColumnDiff:
    a, b = _stats(old), _stats(new)
    changed = {k: [a.get(k), b.get(k)] for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}
    diff = ColumnDiff(old.name, "modified" if changed else "unchanged", old.type, new.type, changed)
    if _logical(old.type) != _logical(new.type):
        diff.change = "retyped"
    diff.psi = column_psi(old, old_rows, new, new_rows)
    if diff.psi is not None:
        diff.psi = round(diff.psi, 6)
    diff.drift = config.level(diff.psi)
    return diff


def compare(old: TableSummary, new: TableSummary, config: TableConfig, diff: TableDiff) -> None:
    """Fill ``diff`` with what differs between two summaries of one table."""
    diff.old_rows, diff.new_rows = old.rows, new.rows
    diff.opaque = [old.reason or None, new.reason or None]
    if old.opaque or new.opaque:
        return
    before, after = _by_name(old.columns), _by_name(new.columns)
    for label, column in before.items():
        if label not in after:
            diff.columns.append(ColumnDiff(label, "removed", old_type=column.type))
        else:
            found = _column(column, old.rows, after[label], new.rows, config)
            found.name = label
            diff.columns.append(found)
    for label, column in after.items():
        if label not in before:
            diff.columns.append(ColumnDiff(label, "added", new_type=column.type))


def _by_name(columns: list[ColumnSummary]) -> dict[str, ColumnSummary]:
    """Columns by name, in order; a repeated name (CSV allows it) is told apart by its place
    among its namesakes, `a`, `a (2)`, so the second `a` is never compared with the first."""
    seen: dict[str, int] = {}
    found: dict[str, ColumnSummary] = {}
    for column in columns:
        seen[column.name] = seen.get(column.name, 0) + 1
        n = seen[column.name]
        found[column.name if n == 1 else f"{column.name} ({n})"] = column
    return found


def _numeric_values(path: Path, reader: str, names: set[str]) -> dict[str, Any] | None:
    """The finite values of the named columns, or None when the table is too large."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: dict[str, list[Any]] = {name: [] for name in names}
    total = 0
    with reading(f"not a readable {reader} file"):
        table = open_reader(path, reader)
        for batch in table.batches:
            total += batch.num_rows * len(names)
            if total > KS_MAX_VALUES:
                return None
            for name in names:
                array = batch.column(name)
                if pa.types.is_temporal(array.type):
                    array = temporal_ints(array)
                values = as_floats(pc.drop_null(array))
                parts[name].append(values[np.isfinite(values)])
    return {n: np.concatenate(p) if p else np.empty(0) for n, p in parts.items()}


def add_ks(
    diff: TableDiff,
    summaries: tuple[TableSummary, TableSummary],
    old: tuple[Path, str],
    new: tuple[Path, str],
) -> str | None:
    """Add the KS statistic of every column numeric in both versions; a note if it cannot."""
    # A repeated name cannot be read by name: those columns go without KS.
    repeated = {
        name
        for summary in summaries
        for name, n in Counter(c.name for c in summary.columns).items()
        if n > 1
    }
    numeric = (
        {c.name for c in summaries[0].columns if c.numeric is not None}
        & {c.name for c in summaries[1].columns if c.numeric is not None}
    ) - repeated
    if not numeric:
        return None
    try:
        a = _numeric_values(*old, numeric)
        b = _numeric_values(*new, numeric)
    except Opaque as exc:
        return str(exc)
    if a is None or b is None:
        return f"KS not computed: more than {KS_MAX_VALUES:,} values"
    for column in diff.columns:
        if column.name in numeric:
            ks = ks_statistic(a[column.name], b[column.name])
            column.ks = None if ks is None else round(ks, 6)
    return None
