"""Comparing two versions of a table value by value, row by row (``mlv reproduce``).

DuckDB's positional join walks both files side by side in bounded memory; per column it counts
the values that differ and, for numeric columns, the largest absolute difference, which a
per-column tolerance may accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlv.core.project import Project
from mlv.core.tables.engine import connection, quoted, register
from mlv.model.reproduce import ColumnDelta, TableComparison

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")  # fmt: skip


def compare_tables(
    project: Project,
    path: str,
    recorded: Path,
    reproduced: Path,
    reader: str,
    tolerances: Mapping[str, float],
) -> TableComparison:
    """How the reproduced table differs from the recorded one, column by column."""
    import duckdb
    import pyarrow as pa

    result = TableComparison()
    try:
        with connection(project.tmp_dir) as con:
            a_types = register(con, "a", recorded, reader)
            b_types = register(con, "b", reproduced, reader)
            result.columns_removed = [c for c in a_types if c not in b_types]
            result.columns_added = [c for c in b_types if c not in a_types]
            result.retyped = [c for c in a_types if c in b_types and a_types[c] != b_types[c]]
            rows = [con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in ("a", "b")]
            result.rows = [int(rows[0]), int(rows[1])]
            if rows[0] != rows[1]:
                return result
            common = [c for c in a_types if c in b_types]
            if not common:
                return result
            parts = []
            for c in common:
                q = quoted(c)
                parts.append(
                    f"sum(CASE WHEN a.{q}::VARCHAR IS DISTINCT FROM b.{q}::VARCHAR"
                    " THEN 1 ELSE 0 END)"
                )
                numeric = a_types[c].startswith(_NUMERIC) and b_types[c].startswith(_NUMERIC)
                parts.append(f"max(abs(a.{q}::DOUBLE - b.{q}::DOUBLE))" if numeric else "NULL")
            values = con.execute(f"SELECT {', '.join(parts)} FROM a POSITIONAL JOIN b").fetchone()
    except (duckdb.Error, pa.ArrowException) as exc:  # Arrow: an IPC stream, a damaged file
        result.error = " ".join(str(exc).split())[:200]
        return result
    for i, c in enumerate(common):
        differing, max_abs = int(values[2 * i] or 0), values[2 * i + 1]
        if differing:
            tolerance = tolerances.get(f"{path}:{c}")
            result.columns.append(
                ColumnDelta(c, differing, None if max_abs is None else float(max_abs), tolerance)
            )
    return result
