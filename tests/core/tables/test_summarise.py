"""Summaries of real files: statistics against numpy, bad input recorded as opaque."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from mlv.core.tables.summarise import EXACT_DISTINCT, summarise
from mlv.model.ids import ObjectId
from mlv.model.summary import decode_summary, table_format

FILE_ID = ObjectId.xxh128("ab" * 16)


def _frame(n: int = 20_000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 2.0, n)
    x[::10] = np.nan  # pandas writes NaN of a float column as null in Parquet? (not always)
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 4, n),
            "city": rng.choice(["oslo", "rome", "lima"], n, p=[0.5, 0.3, 0.2]),
            "flag": rng.random(n) < 0.25,
        }
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".tsv", ".feather", ".jsonl"])
def test_every_format_gives_the_same_statistics(tmp_path: Path, suffix: str) -> None:
    df = _frame()
    path = tmp_path / f"t{suffix}"
    if suffix == ".parquet":
        df.to_parquet(path)
    elif suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif suffix == ".feather":
        feather.write_feather(pa.Table.from_pandas(df, preserve_index=False), path)
    else:
        df.to_json(path, orient="records", lines=True)
    reader = table_format(path.name)
    assert reader is not None
    summary = summarise(path, FILE_ID, reader)
    assert summary.status == "table", summary.reason
    assert summary.rows == len(df)
    assert [c.name for c in summary.columns] == ["x", "k", "city", "flag"]
    x = summary.column("x")
    assert x is not None and x.numeric is not None
    finite = df["x"].dropna().to_numpy()
    assert x.nulls + x.numeric.nonfinite == df["x"].isna().sum()
    assert x.numeric.count == len(finite)
    assert x.numeric.mean == pytest.approx(finite.mean(), rel=1e-9)
    assert x.numeric.std == pytest.approx(finite.std(), rel=1e-9)
    assert x.numeric.min == pytest.approx(finite.min())
    assert x.numeric.max == pytest.approx(finite.max())
    q = x.numeric.quantiles
    assert len(q) == 101 and q == sorted(q)
    # The t-digest's rank error moves a percentile by little for a normal column.
    for rank in (10, 50, 90):
        assert q[rank] == pytest.approx(np.percentile(finite, rank), abs=0.1)
    k = summary.column("k")
    assert k is not None and k.frequencies is not None and k.frequencies.values
    assert dict(k.frequencies.top) == {str(v): int(n) for v, n in df["k"].value_counts().items()}
    city = summary.column("city")
    assert city is not None and city.frequencies is not None
    assert city.frequencies.distinct == 3 and city.frequencies.exact
    assert city.frequencies.top[0] == ("oslo", int((df["city"] == "oslo").sum()))
    flag = summary.column("flag")
    assert flag is not None and flag.frequencies is not None
    assert dict(flag.frequencies.top)["true"] == int(df["flag"].sum())
    assert decode_summary(summary.encode()) == summary


def test_nulls_and_many_distinct_values(tmp_path: Path) -> None:
    n = 3 * EXACT_DISTINCT
    ids = [f"id-{i}" if i % 5 else None for i in range(n)]
    table = pa.table({"id": ids, "v": pa.array([None if i % 3 == 0 else i for i in range(n)])})
    pq.write_table(table, tmp_path / "t.parquet")
    summary = summarise(tmp_path / "t.parquet", FILE_ID, "parquet")
    ids_summary = summary.column("id")
    assert ids_summary is not None and ids_summary.nulls == n // 5
    frequencies = ids_summary.frequencies
    assert frequencies is not None and not frequencies.exact
    # Estimated from the k minimum hashes: within a few percent of the true count.
    assert frequencies.distinct == pytest.approx(n - n // 5, rel=0.05)
    v = summary.column("v")
    assert v is not None and v.nulls == n // 3 and v.numeric is not None
    assert v.frequencies is None  # too many values to list


def _wide_csv(path: Path, columns: int) -> None:
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + "1," * (columns - 1) + "1\n")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("corrupt.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1", "parquet"),
        # A footer that claims 2^31 bytes of metadata in a file of a few dozen.
        ("claims.parquet", b"PAR1" + b"\x01" * 16 + struct.pack("<I", 2**31) + b"PAR1", "parquet"),
        ("binary.csv", bytes(range(256)) * 40, "binary data"),
        ("ragged.csv", b"a,b\n1,2\n3\n4,5,6\n", "Expected 2 columns"),
        ("latin1.csv", b"name,n\n\xe9t\xe9,1\n", "invalid UTF-8"),
        ("broken.jsonl", b'{"a": 1}\n{"a": \n', "jsonl"),
        ("junk.feather", b"ARROW1\x00\x00" + b"\xff" * 64, "arrow"),
    ],
)
def test_bad_input_is_opaque_with_a_one_line_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    summary = summarise(path, FILE_ID, table_format(name) or "")
    assert summary.status == "opaque"
    assert reason in summary.reason and "\n" not in summary.reason
    assert summary.columns == [] and len(summary.reason) <= 250


def test_too_many_columns_is_opaque(tmp_path: Path) -> None:
    _wide_csv(tmp_path / "wide.csv", 100_000)
    summary = summarise(tmp_path / "wide.csv", FILE_ID, "csv")
    assert summary.status == "opaque" and "100,000 columns" in summary.reason


def test_a_claimed_terabyte_is_refused_without_allocating_it(tmp_path: Path) -> None:
    import resource

    table = pa.table({"a": pa.array(range(1000), pa.int64())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data = sink.getvalue().to_pybytes()
    body = struct.pack("<q", 8000)  # the message's body length, and its buffer's
    assert body in data
    (tmp_path / "claims.arrow").write_bytes(data.replace(body, struct.pack("<q", 2**40)))
    summary = summarise(tmp_path / "claims.arrow", FILE_ID, "arrow")
    assert summary.status == "opaque" and "1099511627776 bytes" in summary.reason
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 4 * 1024 * 1024  # KiB: < 4 GiB


def test_the_same_file_always_gives_the_same_summary(tmp_path: Path) -> None:
    """A summary's id must depend on the file alone: two clones record the same mlv.lock."""
    rng = np.random.default_rng(3)
    n = 3 * EXACT_DISTINCT  # past the exact bound: pruning and estimation are deterministic too
    table = pa.table(
        {
            "x": rng.normal(size=n),
            "id": [f"u{i % (2 * EXACT_DISTINCT)}" for i in range(n)],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=50_000)
    first = summarise(tmp_path / "t.parquet", FILE_ID, "parquet").encode()
    assert all(
        summarise(tmp_path / "t.parquet", FILE_ID, "parquet").encode() == first for _ in range(3)
    )


def test_dates_timestamps_and_big_ids_are_numbers_not_opaque(tmp_path: Path) -> None:
    """CSV dates read as date32, pandas writes nanosecond timestamps, ids pass 2**53: all common,
    none castable to float64 'safely', each once made the whole table opaque."""
    (tmp_path / "d.csv").write_text("day,id\n2026-01-01,9007199254740993\n2026-01-03,1\n")
    stamps = pa.array(pd.to_datetime(["2026-01-01", "2026-01-02"]), pa.timestamp("ns"))
    pq.write_table(pa.table({"t": stamps, "n": [1, 2]}), tmp_path / "ts.parquet")
    for name, reader, column, low, high in (
        ("d.csv", "csv", "day", 20454.0, 20456.0),  # days since 1970
        ("d.csv", "csv", "id", 1.0, 9007199254740992.0),
        ("ts.parquet", "parquet", "t", 1.7672256e18, 1.767312e18),  # nanoseconds
    ):
        summary = summarise(tmp_path / name, FILE_ID, reader)
        assert not summary.opaque, summary
        stats = next(c for c in summary.columns if c.name == column).numeric
        assert stats is not None
        assert stats.min == pytest.approx(low) and stats.max == pytest.approx(high)


def test_a_csv_column_that_turns_to_text_after_the_first_block_is_text_not_opaque(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrow guesses CSV types from the first block: a word far down an int column (or a value
    in a column empty so far) used to make the whole table opaque."""
    import mlv.core.tables.readers as readers

    monkeypatch.setattr(readers, "BLOCK_SIZE", 1 << 12)  # the first block: about 400 rows
    lines = ["code,sparse,label"] + [f"{i},,x" for i in range(5000)] + ["oops,5,y"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    summary = summarise(tmp_path / "late.csv", FILE_ID, "csv")
    assert not summary.opaque, summary.reason
    assert summary.rows == 5001
    types = {c.name: c.type for c in summary.columns}
    assert types["code"] == "string" and types["label"] == "string"
    code = next(c for c in summary.columns if c.name == "code")
    assert code.frequencies is not None and code.frequencies.distinct == 5001


def test_a_csv_that_keeps_contradicting_itself_is_opaque_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlv.core.tables.readers as readers
    import mlv.core.tables.summarise as summarise_module

    monkeypatch.setattr(readers, "BLOCK_SIZE", 1 << 12)
    monkeypatch.setattr(summarise_module, "MAX_LATE_TEXT", 1)
    lines = ["a,b"] + [f"{i},{i}" for i in range(5000)] + ["x,1", "1,y"]
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    summary = summarise(tmp_path / "bad.csv", FILE_ID, "csv")
    assert summary.opaque and "CSV conversion error" in (summary.reason or "")
