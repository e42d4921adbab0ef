"""PSI from summaries against PSI from the data, and what counts as a schema change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlv.core.tables.compare import compare
from mlv.core.tables.drift import cdf, column_psi, psi
from mlv.core.tables.summarise import summarise
from mlv.model.diff import TableDiff
from mlv.model.ids import ObjectId
from mlv.model.table_config import TableConfig

FILE_ID = ObjectId.xxh128("cd" * 16)


def summary(tmp_path: Path, name: str, table: pa.Table):  # type: ignore[no-untyped-def]
    pq.write_table(table, tmp_path / name)
    return summarise(tmp_path / name, FILE_ID, "parquet")


def exact_psi(a: np.ndarray, b: np.ndarray) -> float:
    edges = np.unique(np.percentile(a, range(10, 100, 10)))
    bins = np.r_[-np.inf, edges, np.inf]
    share_a = np.histogram(a, bins)[0] / len(a)
    share_b = np.histogram(b, bins)[0] / len(b)
    return psi([*share_a, 0.0], [*share_b, 0.0])


def test_cdf_of_evenly_spaced_quantiles() -> None:
    q = [0.0, 1.0, 2.0, 3.0, 4.0]  # quartiles of a uniform column on [0, 4]
    assert cdf(q, -1) == 0 and cdf(q, 4) == 1 and cdf(q, 9) == 1
    assert cdf(q, 1.5) == pytest.approx(0.375)
    assert cdf([0.0, 1.0, 1.0, 1.0, 2.0], 1.0) == pytest.approx(0.75)  # ties: all of them


@pytest.mark.parametrize("shift", [0.0, 0.2, 0.5])
def test_psi_from_summaries_is_close_to_psi_from_the_data(tmp_path: Path, shift: float) -> None:
    rng = np.random.default_rng(11)
    a, b = rng.lognormal(0, 1, 50_000), rng.lognormal(shift, 1, 50_000)
    old = summary(tmp_path, "a.parquet", pa.table({"x": a})).columns[0]
    new = summary(tmp_path, "b.parquet", pa.table({"x": b})).columns[0]
    assert column_psi(old, len(a), new, len(b)) == pytest.approx(exact_psi(a, b), abs=0.005)


def test_categories_new_ones_and_nulls_drift(tmp_path: Path) -> None:
    old = summary(tmp_path, "a.parquet", pa.table({"c": ["a"] * 50 + ["b"] * 50}))
    same = summary(tmp_path, "b.parquet", pa.table({"c": ["b"] * 50 + ["a"] * 50}))
    moved = summary(tmp_path, "c.parquet", pa.table({"c": ["a"] * 50 + ["z"] * 30 + [None] * 20}))
    col = old.columns[0]
    assert column_psi(col, 100, same.columns[0], 100) == pytest.approx(0.0)
    assert column_psi(col, 100, moved.columns[0], 100) > 1.0


def test_string_widths_are_not_a_schema_change(tmp_path: Path) -> None:
    values = ["x", "y"] * 10
    narrow = summary(tmp_path, "a.parquet", pa.table({"s": pa.array(values, pa.string())}))
    wide = summary(tmp_path, "b.parquet", pa.table({"s": pa.array(values, pa.large_string())}))
    numbers = summary(tmp_path, "c.parquet", pa.table({"s": pa.array(range(20))}))
    same = TableDiff("t", "modified")
    compare(narrow, wide, TableConfig(), same)
    assert not same.schema_changed
    retyped = TableDiff("t", "modified")
    compare(narrow, numbers, TableConfig(), retyped)
    assert retyped.schema_changed and retyped.columns[0].change == "retyped"
