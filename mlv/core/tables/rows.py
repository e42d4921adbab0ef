"""Row-level diff of two local versions of a table, matched by key columns, with DuckDB.

DuckDB joins out of core: with its memory limit set it spills to a scratch directory under
.mlv/tmp, so tables larger than memory diff in bounded memory. Counts cover every row; the
sample shows a few added, removed and changed rows.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlv.core.project import Project
from mlv.errors import UsageError
from mlv.model.diff import RowDiff, TableDiff
from mlv.model.summary import table_format

if TYPE_CHECKING:
    from mlv.core.diff_sides import Side

MEMORY_LIMIT = "512MB"
SAMPLE = 5


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def connection(project: Project) -> Iterator[Any]:
    """A DuckDB connection with a memory limit, spilling into a scratch directory."""
    import duckdb

    scratch = project.tmp_dir / f"duckdb-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 2})
    try:
        con.execute(f"SET temp_directory = {_literal(str(scratch))}")
        yield con
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


def register(con: Any, name: str, path: Path, reader: str) -> list[str]:
    """Make ``path`` queryable as view ``name``; its column names."""
    where = _literal(str(path))
    if reader == "parquet":
        source = f"read_parquet({where})"
    elif reader in ("csv", "tsv"):
        delim = "," if reader == "csv" else "\\t"
        source = f"read_csv({where}, header = true, delim = '{delim}')"
    elif reader == "jsonl":
        source = f"read_json({where}, format = 'newline_delimited')"
    else:
        import pyarrow.dataset as ds

        con.register(f"{name}_arrow", ds.dataset(str(path), format="ipc"))
        source = f"{name}_arrow"
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM {source}")
    return [row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()]


def _distinct(column: str) -> str:
    c = _q(column)
    return f"(a.{c}::VARCHAR IS DISTINCT FROM b.{c}::VARCHAR)"


def key_diff(
    project: Project, table: TableDiff, old: Side, new: Side, key: tuple[str, ...]
) -> None:
    """Fill ``table.rows`` from both versions' bytes, or say in ``table.note`` why not."""
    a_path, b_path = old.local(table.path), new.local(table.path)
    if a_path is None or b_path is None:
        table.note = "row diff needs both versions locally: `mlv fetch REV` brings them"
        return
    import duckdb

    reader = table_format(table.path) or ""
    try:
        with connection(project) as con:
            a_cols = register(con, "a", a_path, reader)
            b_cols = register(con, "b", b_path, reader)
            table.rows = _rows(con, table.path, key, a_cols, b_cols)
    except duckdb.Error as exc:
        table.note = "row diff failed: " + " ".join(str(exc).split())[:200]


def _rows(
    con: Any, path: str, key: tuple[str, ...], a_cols: list[str], b_cols: list[str]
) -> RowDiff:
    for k in key:
        if k not in a_cols or k not in b_cols:
            raise UsageError(
                f"--key {k} is not a column of both versions of {path}",
                f"columns: {', '.join(sorted(set(a_cols) & set(b_cols)))}",
            )
    keys = ", ".join(_q(k) for k in key)
    common = [c for c in a_cols if c in b_cols and c not in key]

    def one(sql: str) -> Any:
        return con.execute(sql).fetchone()[0]

    dup = [
        one(f"SELECT count(*) FROM (SELECT {keys} FROM {side} GROUP BY {keys} HAVING count(*) > 1)")
        for side in ("a", "b")
    ]
    added = one(f"SELECT count(*) FROM b ANTI JOIN a USING ({keys})")
    removed = one(f"SELECT count(*) FROM a ANTI JOIN b USING ({keys})")
    any_change = " OR ".join(_distinct(c) for c in common) or "false"
    per_column = "".join(f", sum(CASE WHEN {_distinct(c)} THEN 1 ELSE 0 END)" for c in common)
    counts = con.execute(
        f"SELECT count(*), sum(CASE WHEN {any_change} THEN 1 ELSE 0 END){per_column}"
        f" FROM a JOIN b USING ({keys})"
    ).fetchone()
    matched, changed = counts[0], counts[1] or 0
    changed_columns = {c: int(n or 0) for c, n in zip(common, counts[2:], strict=True) if n}
    sample: list[dict[str, Any]] = []
    key_list = ", ".join(f"a.{_q(k)}" for k in key)
    olds = ", ".join(f"a.{_q(c)}::VARCHAR" for c in common)
    news = ", ".join(f"b.{_q(c)}::VARCHAR" for c in common)
    if changed:
        picked = con.execute(
            f"SELECT {key_list}{', ' + olds if olds else ''}{', ' + news if news else ''}"
            f" FROM a JOIN b USING ({keys}) WHERE {any_change} ORDER BY {key_list} LIMIT {SAMPLE}"
        ).fetchall()
        for row in picked:
            ident = dict(zip(key, (str(v) for v in row[: len(key)]), strict=True))
            before = row[len(key) : len(key) + len(common)]
            after = row[len(key) + len(common) :]
            columns = {c: [x, y] for c, x, y in zip(common, before, after, strict=True) if x != y}
            sample.append({"change": "changed", "key": ident, "columns": columns})
    for change, (left, right) in (("added", ("b", "a")), ("removed", ("a", "b"))):
        for row in con.execute(
            f"SELECT {keys} FROM {left} ANTI JOIN {right} USING ({keys})"
            f" ORDER BY {keys} LIMIT {SAMPLE}"
        ).fetchall():
            sample.append(
                {"change": change, "key": dict(zip(key, (str(v) for v in row), strict=True))}
            )
    return RowDiff(
        list(key),
        int(added),
        int(removed),
        int(changed),
        int(matched - changed),
        [int(d) for d in dup],
        changed_columns,
        sample,
    )
