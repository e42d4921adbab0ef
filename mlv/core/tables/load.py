"""Loading a whole tabular file as one Arrow table (for ``mlv.api.read_table``).

The same streaming readers as summaries (``readers.py``); columns are selected batch by batch,
so memory follows the columns asked for, not the width of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlv.core.tables.readers import LateText, Opaque, open_reader, reading
from mlv.errors import UsageError
from mlv.model.summary import table_format

MAX_LATE_TEXT = 8  # CSV columns re-read as text before giving up (as summaries do)


def load_table(path: Path, name: str, columns: list[str] | None = None) -> Any:
    """The table in ``path`` (read with the reader ``name``'s suffix says) as a pyarrow Table."""
    import pyarrow as pa

    reader_name = table_format(name)
    if reader_name is None:
        raise UsageError(
            f"{name} is not a table mlv reads (by its suffix)",
            "tables are .csv, .tsv, .parquet, .arrow/.feather/.ipc and .jsonl/.ndjson files;"
            " use mlv.api.open for other files",
        )
    as_text: frozenset[str] = frozenset()
    while True:
        try:
            with reading(name):
                reader = open_reader(path, reader_name, as_text)
                schema = reader.schema
                unknown = [c for c in columns or [] if c not in schema.names]
                if not unknown:
                    if columns is not None:
                        schema = pa.schema([schema.field(c) for c in columns])
                        batches = [b.select(columns) for b in reader.batches]
                    else:
                        batches = list(reader.batches)
                    return pa.Table.from_batches(batches, schema=schema)
        except LateText as late:
            if late.column in as_text or len(as_text) >= MAX_LATE_TEXT:
                raise UsageError(f"{name} cannot be read as a table: {late}") from None
            as_text |= {late.column}
            continue
        except Opaque as exc:
            raise UsageError(f"{name} cannot be read as a table: {exc}") from None
        raise UsageError(
            f"{name} has no column(s) {', '.join(unknown)}",
            f"its columns: {', '.join(schema.names[:20])}",
        )
