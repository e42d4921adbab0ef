"""The DuckDB side of tables: a connection in bounded memory and files registered as views.

DuckDB joins out of core: with its memory limit set it spills to a scratch directory under
.mlv/tmp, so tables larger than memory compare in bounded memory (``mlv diff --key``, and
reproduce's exact comparison). DuckDB is imported only when a connection opens.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MEMORY_LIMIT = "512MB"


def quoted(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def connection(tmp_dir: Path) -> Iterator[Any]:
    """A DuckDB connection with a memory limit, spilling into a scratch directory."""
    import duckdb

    scratch = tmp_dir / f"duckdb-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 2})
    try:
        con.execute(f"SET temp_directory = {_literal(str(scratch))}")
        yield con
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


def register(con: Any, name: str, path: Path, reader: str) -> dict[str, str]:
    """Make ``path`` queryable as view ``name``; its columns and their DuckDB types."""
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
    return {row[0]: str(row[1]) for row in con.execute(f"DESCRIBE {name}").fetchall()}
