"""Reading a tabular file as a stream of Arrow record batches, in bounded memory.

Every reader is pyarrow's streaming one (Parquet row groups, CSV and JSON blocks, IPC batches),
so memory follows the batch and the widest row, never the file. Whatever cannot be read as the
table its suffix says is an ``Opaque`` error with a one-line reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# More columns than this and a file is recorded as opaque: a summary per column would be larger
# than the table is useful to diff, and a reader's per-column buffers would follow the width.
MAX_COLUMNS = 10_000
# The cells a batch holds at most (rows x columns): bounds memory for wide tables.
BATCH_CELLS = 4_000_000
MAX_BATCH_ROWS = 65_536
# CSV and JSON are read in blocks of this size; a row longer than a block is an error, so a
# file without line breaks cannot make the reader hold all of it.
BLOCK_SIZE = 8 * 1024 * 1024
_SNIFF = 8192


class Opaque(Exception):
    """The file is not the table its name says; the message is the one-line reason."""


class LateText(Opaque):
    """A CSV column typed from the first block holds text further down: read it again as text."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


# "In CSV column #3: CSV conversion error to int64: invalid value 'x'" (pyarrow's wording)
_LATE_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def batch_rows(columns: int) -> int:
    return max(1, min(MAX_BATCH_ROWS, BATCH_CELLS // max(columns, 1)))


def _check_width(schema: Any) -> None:
    if len(schema) > MAX_COLUMNS:
        raise Opaque(f"{len(schema):,} columns, more than the {MAX_COLUMNS:,} mlv summarises")


def _sniff_text(path: Path, delimiter: str | None = None) -> None:
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF)
        if b"\0" in head:
            raise Opaque("binary data (NUL bytes), not text")
        if delimiter is not None:
            # Count the header's fields before Arrow parses a header of 10^5 columns.
            handle.seek(0)
            header = handle.readline(BLOCK_SIZE)
            columns = header.count(delimiter.encode()) + 1
            if columns > MAX_COLUMNS:
                raise Opaque(f"{columns:,} columns, more than the {MAX_COLUMNS:,} mlv summarises")


class TableReader:
    """An open table: its Arrow schema, the row count when the format knows it, and batches."""

    def __init__(self, schema: Any, batches: Iterator[Any], rows: int | None = None) -> None:
        self.schema = schema
        self.batches = batches
        self.rows = rows


def _parquet(path: Path) -> TableReader:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path, pre_buffer=False)
    schema = handle.schema_arrow
    _check_width(schema)
    return TableReader(
        schema,
        handle.iter_batches(batch_size=batch_rows(len(schema)), use_threads=True),
        handle.metadata.num_rows,
    )


def _arrow(path: Path) -> TableReader:
    import pyarrow as pa

    try:
        reader = pa.ipc.open_file(path)
    except pa.ArrowInvalid:
        stream = pa.ipc.open_stream(path)  # an IPC stream rather than a file
        _check_width(stream.schema)
        return TableReader(stream.schema, iter(stream))
    _check_width(reader.schema)
    batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    return TableReader(reader.schema, batches)


def _csv(path: Path, delimiter: str, as_text: frozenset[str]) -> TableReader:
    import pyarrow as pa
    import pyarrow.csv as csv

    _sniff_text(path, delimiter)
    reader = csv.open_csv(
        path,
        read_options=csv.ReadOptions(block_size=BLOCK_SIZE),
        parse_options=csv.ParseOptions(delimiter=delimiter),
        # An empty field is a missing value, as pandas and most writers mean it.
        convert_options=csv.ConvertOptions(
            strings_can_be_null=True, column_types={name: pa.string() for name in as_text}
        ),
    )
    _check_width(reader.schema)
    _check_text(reader.schema)
    return TableReader(reader.schema, _late_text(reader))


def _late_text(reader: Any) -> Iterator[Any]:
    """The batches; a column whose type, guessed from the first block, fails further down (an
    int column with a word in row 10^6, an empty column filled late) is named for a re-read."""
    import pyarrow as pa

    try:
        yield from reader
    except pa.ArrowInvalid as exc:
        found = _LATE_CONVERSION.search(str(exc))
        if found is None or int(found.group(1)) >= len(reader.schema):
            raise
        raise LateText(reader.schema.field(int(found.group(1))).name, _one_line(exc)) from None


def _check_text(schema: Any) -> None:
    """Text formats have no binary columns: Arrow infers one only for invalid UTF-8."""
    import pyarrow.types as t

    for field in schema:
        if t.is_binary(field.type) or t.is_large_binary(field.type):
            raise Opaque(f"invalid UTF-8 in column {field.name!r}")


def _jsonl(path: Path) -> TableReader:
    import pyarrow.json as pj

    _sniff_text(path)
    reader = pj.open_json(path, read_options=pj.ReadOptions(block_size=BLOCK_SIZE))
    _check_width(reader.schema)
    _check_text(reader.schema)
    return TableReader(reader.schema, iter(reader))


def open_reader(path: Path, reader: str, as_text: frozenset[str] = frozenset()) -> TableReader:
    """Open ``path`` with the named reader (``csv``, ``tsv``, ``parquet``, ``arrow``, ``jsonl``);
    CSV columns in ``as_text`` are read as text whatever they look like."""
    if reader == "parquet":
        return _parquet(path)
    if reader == "arrow":
        return _arrow(path)
    if reader == "csv":
        return _csv(path, ",", as_text)
    if reader == "tsv":
        return _csv(path, "\t", as_text)
    if reader == "jsonl":
        return _jsonl(path)
    raise Opaque(f"no reader for {reader!r}")


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn whatever a reader raises on bad bytes into ``Opaque`` with a one-line reason.

    Arrow reports malformed input as ArrowInvalid, OSError, ValueError, and an absurd size
    claimed by a corrupt file as MemoryError or an allocation failure: all of them mean "not
    the table its name says", never a crash. KeyboardInterrupt passes through.
    """
    try:
        yield
    except Opaque:
        raise
    except (Exception, MemoryError) as exc:  # pyarrow raises many kinds for bad bytes
        raise Opaque(f"{what}: {_one_line(exc)}") from None
