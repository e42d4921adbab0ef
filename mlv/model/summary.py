"""Table summaries: what mlv records about a tabular file, and their canonical encoding.

A summary is stored as an object (compact JSON, sorted keys), so its id names it; it holds the
id of the file it describes. ``mlv diff`` compares two summaries without the data: schema, row
count, per-column statistics and drift (``mlv.core.tables.drift``).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from mlv.errors import ManifestError
from mlv.model.ids import ObjectId

SUMMARY_FORMAT = 1
# Percentiles 0, 1, ..., 100 of each numeric column: fine enough for PSI over deciles.
QUANTILE_POINTS = 101
# The largest summary object read (a summary of 10^5 columns is ~ 30 MB).
MAX_SUMMARY_BYTES = 64 * 1024 * 1024
# File name suffixes read as tables, and the reader each one means.
TABLE_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "arrow",
    ".arrow": "arrow",
    ".ipc": "arrow",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def table_format(path: str) -> str | None:
    """The reader a path's suffix names (``csv``, ``parquet``...), or None for other files."""
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return TABLE_SUFFIXES.get(path[dot:].lower())


class NumericStats(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Statistics of the finite values of a numeric column (NaN and infinities are counted)."""

    count: int  # finite values
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None  # population standard deviation
    quantiles: list[float] = []  # QUANTILE_POINTS values at ranks 0, 1/100, ..., 1
    nonfinite: int = 0


class Frequencies(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Distinct values and the most frequent ones (values as text)."""

    distinct: int
    top: list[tuple[str, int]] = []
    # False when the column had more distinct values than mlv counts exactly: ``distinct`` is
    # then an estimate and ``top`` counts may be low by at most ``error``.
    exact: bool = True
    error: int = 0
    values: bool = False  # True: ``top`` lists every distinct value


class ColumnSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    type: str  # the Arrow type, as Arrow prints it
    nulls: int = 0
    numeric: NumericStats | None = None
    frequencies: Frequencies | None = None


class TableSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A summarised table, or an opaque file with the one-line reason it could not be read."""

    file: ObjectId
    reader: str
    format: int = SUMMARY_FORMAT
    status: Literal["table", "opaque"] = "table"
    reason: str = ""
    rows: int = 0
    columns: list[ColumnSummary] = []

    @property
    def opaque(self) -> bool:
        return self.status == "opaque"

    def column(self, name: str) -> ColumnSummary | None:
        return next((c for c in self.columns if c.name == name), None)

    def encode(self) -> bytes:
        return _ENCODER.encode(self)


def _enc_hook(obj: object) -> object:
    if isinstance(obj, ObjectId):
        return str(obj)
    raise NotImplementedError(type(obj).__name__)


def _dec_hook(kind: type, obj: object) -> object:
    if kind is ObjectId and isinstance(obj, str):
        return ObjectId.parse(obj)
    raise NotImplementedError(kind.__name__)


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, order="sorted")
_DECODER = msgspec.json.Decoder(type=TableSummary, dec_hook=_dec_hook)


def decode_summary(data: bytes) -> TableSummary:
    """Parse a summary object; any defect is a ManifestError."""
    try:
        summary = _DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ManifestError(f"malformed table summary: {e}") from None
    if summary.format != SUMMARY_FORMAT:
        raise ManifestError(
            f"table summary format {summary.format} is not supported", "upgrade mlv"
        )
    return summary
