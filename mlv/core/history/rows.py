"""Row-level diff of two local versions of a table, matched by key columns, with DuckDB.

DuckDB joins out of core: with its memory limit set it spills to a scratch directory under
.mlv/tmp, so tables larger than memory diff in bounded memory. Counts cover every row; the
sample shows a few added, removed and changed rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlv.core.project import Project
from mlv.core.tables.engine import connection, quoted, register
from mlv.errors import UsageError
from mlv.model.diff import RowDiff, TableDiff
from mlv.model.summary import table_format

if TYPE_CHECKING:
    from mlv.core.history.sides import Side

SAMPLE = 5


def _distinct(column: str, same_type: bool) -> str:
    c = quoted(column)
    if same_type:
        return f"(a.{c} IS DISTINCT FROM b.{c})"
    return f"(a.{c}::VARCHAR IS DISTINCT FROM b.{c}::VARCHAR)"  # retyped: compared as text


def key_diff(
    project: Project, table: TableDiff, old: Side, new: Side, key: tuple[str, ...]
) -> None:
    """Fill ``table.rows`` from both versions' bytes, or say in ``table.note`` why not."""
    a_path, b_path = old.local(table.path), new.local(table.path)
    if a_path is None or b_path is None:
        table.note = "row diff needs both versions locally: `mlv fetch REV` brings them"
        return
    import duckdb
    import pyarrow as pa

    reader = table_format(table.path) or ""
    try:
        table.rows = rows_by_key(project.tmp_dir, a_path, b_path, reader, key, table.path)
    except (duckdb.Error, pa.ArrowException) as exc:  # Arrow: an IPC stream, a damaged file
        table.note = "row diff failed: " + " ".join(str(exc).split())[:200]


def rows_by_key(
    tmp_dir: Path, old: Path, new: Path, reader: str, key: tuple[str, ...], name: str = ""
) -> RowDiff:
    """Rows added, removed and changed from ``old`` to ``new``, matched by ``key``."""
    with connection(tmp_dir) as con:
        a_types = register(con, "a", old, reader)
        b_types = register(con, "b", new, reader)
        return _rows(con, name or str(new), key, a_types, b_types)


def _rows(
    con: Any, path: str, key: tuple[str, ...], a_types: dict[str, str], b_types: dict[str, str]
) -> RowDiff:
    for k in key:
        if k not in a_types or k not in b_types:
            raise UsageError(
                f"--key {k} is not a column of both versions of {path}",
                f"columns: {', '.join(sorted(set(a_types) & set(b_types)))}",
            )
    common = [c for c in a_types if c in b_types and c not in key]
    keys = ", ".join(quoted(k) for k in key)
    flags = [f"__mlv_changed_{i}" for i in range(len(common))]
    # One full outer join, materialised (DuckDB spills it): keys, which side has the row, and
    # per common column whether its value changed. Every count and sample reads this.
    con.execute(
        "CREATE TEMP TABLE j AS SELECT "
        + ", ".join(f"coalesce(a.{quoted(k)}, b.{quoted(k)}) AS {quoted(k)}" for k in key)
        + ", a.__mlv_a IS NOT NULL AS __mlv_in_a, b.__mlv_b IS NOT NULL AS __mlv_in_b"
        + "".join(
            f", {_distinct(c, a_types[c] == b_types[c])} AS {f}"
            for c, f in zip(common, flags, strict=True)
        )
        + " FROM (SELECT *, true AS __mlv_a FROM a) AS a"
        " FULL OUTER JOIN (SELECT *, true AS __mlv_b FROM b) AS b ON "
        + " AND ".join(f"a.{quoted(k)} = b.{quoted(k)}" for k in key)
    )
    both = "__mlv_in_a AND __mlv_in_b"
    any_change = f"({both} AND ({' OR '.join(flags) or 'false'}))"
    counts = con.execute(
        f"SELECT count(*) FILTER (WHERE {both}),"
        " count(*) FILTER (WHERE __mlv_in_b AND NOT __mlv_in_a),"
        " count(*) FILTER (WHERE __mlv_in_a AND NOT __mlv_in_b),"
        f" count(*) FILTER (WHERE {any_change})"
        + "".join(f", count(*) FILTER (WHERE {both} AND {f})" for f in flags)
        + " FROM j"
    ).fetchone()
    matched, added, removed, changed = (int(n or 0) for n in counts[:4])
    changed_columns = {c: int(n) for c, n in zip(common, counts[4:], strict=True) if n}
    dup = [
        int(
            con.execute(
                f"SELECT count(*) FROM (SELECT {keys} FROM {side} GROUP BY {keys}"
                " HAVING count(*) > 1)"
            ).fetchone()[0]
        )
        for side in ("a", "b")
    ]
    sample = _sample(con, key, common, any_change) if changed else []
    for change, where in (
        ("added", "__mlv_in_b AND NOT __mlv_in_a"),
        ("removed", "__mlv_in_a AND NOT __mlv_in_b"),
    ):
        rows = con.execute(
            f"SELECT {keys} FROM j WHERE {where} ORDER BY {keys} LIMIT {SAMPLE}"
        ).fetchall()
        sample += [
            {"change": change, "key": dict(zip(key, (str(v) for v in row), strict=True))}
            for row in rows
        ]
    return RowDiff(
        list(key), added, removed, changed, matched - changed, dup, changed_columns, sample
    )


def _sample(con: Any, key: tuple[str, ...], common: list[str], any_change: str) -> list[Any]:
    """A few changed rows: their keys, and the old and new values that differ."""
    keys = ", ".join(quoted(k) for k in key)
    on = " AND ".join(f"{side}.{quoted(k)} = s.{quoted(k)}" for side in ("a", "b") for k in key)
    olds = "".join(f", a.{quoted(c)}::VARCHAR" for c in common)
    news = "".join(f", b.{quoted(c)}::VARCHAR" for c in common)
    picked = con.execute(
        f"SELECT {', '.join(f's.{quoted(k)}' for k in key)}{olds}{news}"
        f" FROM (SELECT {keys} FROM j WHERE {any_change} ORDER BY {keys} LIMIT {SAMPLE}) AS s,"
        f" a, b WHERE {on} ORDER BY {', '.join(f's.{quoted(k)}' for k in key)}"
    ).fetchall()
    sample = []
    for row in picked:
        ident = dict(zip(key, (str(v) for v in row[: len(key)]), strict=True))
        before = row[len(key) : len(key) + len(common)]
        after = row[len(key) + len(common) :]
        columns = {c: [x, y] for c, x, y in zip(common, before, after, strict=True) if x != y}
        sample.append({"change": "changed", "key": ident, "columns": columns})
    return sample
