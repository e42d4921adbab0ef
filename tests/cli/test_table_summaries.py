"""Table summaries at snapshot and run: recorded in mlv.lock, stored once, kept by gc."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlv.core.tables.records as records
from mlv.core.tables.records import load_summary
from mlv.model.ids import ObjectId
from mlv.storage.store import ObjectStore
from tests.conftest import MlvRunner, git, write
from tests.stored import delete_object


def lock(root: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads((root / "mlv.lock").read_text())
    return doc


def tables(root: Path) -> dict[str, dict[str, str]]:
    return lock(root).get("tables", {})  # type: ignore[return-value]


def summary(root: Path, path: str):  # type: ignore[no-untyped-def]
    store = ObjectStore(root / ".mlv/cache")
    return load_summary(store, ObjectId.parse(tables(root)[path]["summary"]))


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n)})


def test_snapshot_summarises_tables_in_files_and_directories(project: Path, mlv: MlvRunner) -> None:
    frame(500).to_parquet(project / "features.parquet")
    write(project / "data/raw/part.csv", "a,b\n1,x\n2,y\n")
    write(project / "data/raw/notes.txt", "not a table\n")
    write(project / "data/raw/bad.parquet", b"PAR1 not really PAR1")
    assert mlv("track", "features.parquet", "data/raw").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    doc = lock(project)
    assert doc["schema"] == 3
    assert sorted(tables(project)) == [
        "data/raw/bad.parquet",
        "data/raw/part.csv",
        "features.parquet",
    ]
    features = summary(project, "features.parquet")
    assert features.rows == 500 and [c.name for c in features.columns] == ["x", "c"]
    assert features.file == doc["artifacts"]["features.parquet"]["id"]  # type: ignore[index]
    assert summary(project, "data/raw/part.csv").rows == 2
    bad = summary(project, "data/raw/bad.parquet")
    assert bad.status == "opaque" and bad.reason
    assert mlv("verify").code == 0
    # Untracking forgets the tables too, and a manifest without any goes back to version 1.
    assert mlv("untrack", "data/raw", "features.parquet").code == 0
    assert "tables" not in lock(project)


def test_an_unchanged_table_is_never_summarised_again(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = records.summarise

    def counting(path: Path, file_id: ObjectId, reader: str):  # type: ignore[no-untyped-def]
        calls.append(str(file_id))
        return real(path, file_id, reader)

    monkeypatch.setattr(records, "summarise", counting)
    frame(100).to_parquet(project / "a.parquet")
    frame(100, seed=1).to_csv(project / "b.csv", index=False)
    assert mlv("track", "a.parquet", "b.csv").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    assert len(calls) == 2
    first_b = tables(project)["b.csv"]
    frame(100, seed=2).to_csv(project / "b.csv", index=False)
    assert mlv("snapshot", "-m", "two").code == 0
    assert len(calls) == 3  # only the changed file
    # Back to the first content, which mlv.lock no longer names: the store's index knows it.
    frame(100, seed=1).to_csv(project / "b.csv", index=False)
    assert mlv("snapshot", "-m", "three").code == 0
    assert len(calls) == 3
    # The same summary as the first time (a summary depends on the bytes alone).
    assert tables(project)["b.csv"] == first_b


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("summaries = false", []),
        ('exclude = ["big/**"]', ["small.csv"]),
        ("max_size = 100", ["small.csv"]),
    ],
)
def test_settings_turn_summaries_off_or_limit_them(
    project: Path, mlv: MlvRunner, setting: str, expected: list[str]
) -> None:
    write(project / "small.csv", "a\n1\n")
    (project / "big").mkdir()
    frame(200).to_csv(project / "big/large.csv", index=False)
    assert mlv("track", "small.csv", "big").code == 0
    with open(project / "mlv.toml", "a") as handle:
        handle.write(f"\n[tables]\n{setting}\n")
    assert mlv("snapshot", "-m", "one").code == 0
    assert sorted(tables(project)) == expected
    if not expected:
        assert "tables" not in lock(project)


def test_bad_tables_setting_is_exit_2(project: Path, mlv: MlvRunner) -> None:
    with open(project / "mlv.toml", "a") as handle:
        handle.write("\n[tables]\npsi_alert = 0.05\n")
    result = mlv("status")
    assert result.code == 2 and "psi_alert" in result.err


def test_run_records_the_summaries_of_its_outputs(project: Path, mlv: MlvRunner) -> None:
    write(project / "in.csv", "v\n1\n2\n3\n")
    assert mlv("track", "in.csv").code == 0
    code = (
        "import pathlib; t = pathlib.Path('in.csv').read_text();"
        " pathlib.Path('out.csv').write_text(t + '4\\n')"
    )
    added = mlv(
        "stage", "add", "more", "-d", "in.csv", "-o", "out.csv", "--", sys.executable, "-c", code
    )
    assert added.code == 0, added.err
    assert mlv("run").code == 0
    assert sorted(tables(project)) == ["out.csv"]  # a run records its outputs only
    assert summary(project, "out.csv").rows == 4


def test_gc_keeps_the_summaries_kept_revisions_name(project: Path, mlv: MlvRunner) -> None:
    write(project / "t.csv", "a\n1\n")
    assert mlv("track", "t.csv").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    first = tables(project)["t.csv"]["summary"]
    write(project / "t.csv", "a\n2\n")
    assert mlv("snapshot", "--no-commit").code == 0
    second = tables(project)["t.csv"]["summary"]
    git(project, "checkout", "--", "mlv.lock")  # the second version is named nowhere now
    done = mlv("gc", "--json")
    assert done.code == 0, done.err
    store = ObjectStore(project / ".mlv/cache")
    assert store.exists(ObjectId.parse(first))
    assert not store.exists(ObjectId.parse(second))
    # The store's summary index forgets the removed summary, keeps the other.
    index = sorted((project / ".mlv/cache/tables").rglob("*"))
    assert [p.read_text() for p in index if p.is_file()] == [first]
    # A missing summary is a missing object to verify.
    delete_object(project / ".mlv/cache", first)
    assert mlv("verify").code == 1


def test_the_same_bytes_as_csv_and_tsv_are_two_tables(project: Path, mlv: MlvRunner) -> None:
    """A summary belongs to the bytes *and* the reader: one file's summary never stands in for
    the other's, in the same snapshot or the next."""
    write(project / "data/t.csv", "a,b\n1,2\n3,4\n")
    write(project / "data/t.tsv", "a,b\n1,2\n3,4\n")  # one column, 'a,b', as TSV
    write(project / "data/other.txt", "one\n")
    assert mlv("track", "data").code == 0
    for message, other in (("one", "one\n"), ("two", "two\n")):
        write(project / "data/other.txt", other)
        assert mlv("snapshot", "-m", message).code == 0
        csv, tsv = summary(project, "data/t.csv"), summary(project, "data/t.tsv")
        assert (csv.reader, [c.name for c in csv.columns]) == ("csv", ["a", "b"])
        assert (tsv.reader, [c.name for c in tsv.columns]) == ("tsv", ["a,b"])
