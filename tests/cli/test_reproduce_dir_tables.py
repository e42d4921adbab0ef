"""`mlv reproduce` explains the tables inside an output directory, file by file, and accepts them
within column tolerances keyed by the file's path (`features/part-0.parquet:score`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.test_reproduce_tables import output
from tests.conftest import MlvRunner, git, write

# Writes features/ with a Parquet and a CSV table whose values move with MLV_TEST_NOISE, and a
# text file that changes with MLV_TEST_NOTE.
SCRIPT = """\
import csv, os
import pyarrow as pa, pyarrow.parquet as pq
noise = float(os.environ.get("MLV_TEST_NOISE", "0"))
os.makedirs("features", exist_ok=True)
ids = list(range(8))
pq.write_table(
    pa.table({"id": ids, "score": [0.5 * i + noise * (i % 2) for i in ids]}),
    "features/part-0.parquet",
)
with open("features/part-1.csv", "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["id", "weight", "kind"])
    for i in ids:
        w.writerow([i, round(10 + i + noise * 3 * (i % 4 == 1), 6), "odd" if i % 2 else "even"])
with open("features/notes.txt", "w") as out:
    out.write(os.environ.get("MLV_TEST_NOTE", "steady") + "\\n")
"""


@pytest.fixture
def featured(project: Path, mlv: MlvRunner) -> Path:
    write(project / "features.py", SCRIPT)
    git(project, "add", "features.py")
    git(project, "commit", "-q", "-m", "code")
    added = mlv(
        "stage", "add", "features", "-d", "features.py", "-o", "features",
        "--", sys.executable, "features.py",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "features").code == 0
    return project


def test_tables_inside_a_directory_are_explained_by_file_and_column(
    featured: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_NOISE", "0.001")
    result = mlv("reproduce", "--json")
    assert result.code == 1, result.out
    out = output(result.out, "features")
    assert out["verdict"] == "differs" and out["table"] is None
    files = out["files"]
    assert files["added"] == files["removed"] == files["changed"] == []
    tables = {t["path"]: t for t in files["tables"]}
    assert sorted(tables) == ["features/part-0.parquet", "features/part-1.csv"]
    [score] = tables["features/part-0.parquet"]["columns"]
    assert score["name"] == "score" and score["differing"] == 4  # the odd ids
    assert score["max_abs"] == pytest.approx(0.001, abs=1e-9) and score["within"] is False
    assert tables["features/part-0.parquet"]["within"] is False
    [weight] = tables["features/part-1.csv"]["columns"]
    assert weight["name"] == "weight" and weight["differing"] == 2  # ids 1 and 5
    assert weight["max_abs"] == pytest.approx(0.003, abs=1e-9)
    assert "features/part-0.parquet: score: 4 value(s) differ" in out["detail"]
    assert "features/part-1.csv: weight: 2 value(s) differ" in out["detail"]
    human = mlv("reproduce")
    assert human.code == 1 and "weight: 2 value(s) differ" in human.out


def test_column_tolerances_accept_the_directory_only_when_every_table_is_within(
    featured: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_NOISE", "0.001")
    both = ("--tolerance", "features/part-0.parquet:score=0.01",
            "--tolerance", "features/part-1.csv:weight=0.01")  # fmt: skip
    accepted = mlv("reproduce", "--json", *both)
    assert accepted.code == 0, accepted.out
    assert output(accepted.out, "features")["verdict"] == "within tolerance"
    # One table within, the other not: the directory differs.
    one = mlv("reproduce", "--json", "--tolerance", "features/part-0.parquet:score=0.01")
    assert one.code == 1 and output(one.out, "features")["verdict"] == "differs"
    # Tolerance too tight for the CSV's largest difference.
    tight = mlv(
        "reproduce", "--json", "--tolerance", "features/part-0.parquet:score=0.01",
        "--tolerance", "features/part-1.csv:weight=0.002",
    )  # fmt: skip
    assert tight.code == 1 and output(tight.out, "features")["verdict"] == "differs"
    # The same tolerances, from mlv.toml.
    with open(featured / "mlv.toml", "a") as handle:
        handle.write(
            '\n[tables.tolerance]\n"features/part-0.parquet:score" = 0.01\n'
            '"features/part-1.csv:weight" = 0.01\n'
        )
    assert mlv("reproduce", "--check").code == 0


def test_a_differing_file_that_is_no_table_is_never_within_tolerance(
    featured: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_NOISE", "0.001")
    monkeypatch.setenv("MLV_TEST_NOTE", "moved")
    result = mlv(
        "reproduce", "--json", "--tolerance", "features/part-0.parquet:score=1",
        "--tolerance", "features/part-1.csv:weight=1",
    )  # fmt: skip
    assert result.code == 1
    out = output(result.out, "features")
    assert out["verdict"] == "differs"
    assert out["files"]["changed"] == ["features/notes.txt"]
    assert [t["within"] for t in out["files"]["tables"]] == [True, True]
    assert "files changed: features/notes.txt" in out["detail"]
