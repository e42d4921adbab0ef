"""`mlv reproduce` explains how a tabular output differs, and accepts column tolerances."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MlvRunner, git, write

SCRIPT = """\
import csv, os
noise = float(os.environ.get("MLV_TEST_NOISE", "0"))
extra = int(os.environ.get("MLV_TEST_EXTRA_ROWS", "0"))
rows = [r for r in csv.DictReader(open("data/in.csv"))]
with open("predictions.csv", "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["id", "score", "label"])
    for r in rows + rows[:extra]:
        x = float(r["x"])
        w.writerow([r["id"], round(2 * x + noise * (int(r["id"]) % 4), 6), "hi" if x > 5 else "lo"])
"""


@pytest.fixture
def predicted(project: Path, mlv: MlvRunner) -> Path:
    write(project / "data/in.csv", "id,x\n" + "".join(f"{i},{i * 1.5}\n" for i in range(10)))
    write(project / "predict.py", SCRIPT)
    git(project, "add", "predict.py")
    git(project, "commit", "-q", "-m", "code")
    assert mlv("track", "data/in.csv").code == 0
    added = mlv(
        "stage", "add", "predict", "-d", "data/in.csv", "-d", "predict.py",
        "-o", "predictions.csv", "--", sys.executable, "predict.py",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "predictions").code == 0
    return project


def output(result_out: str, path: str = "predictions.csv") -> dict[str, Any]:
    """The verdict on output ``path`` in a `mlv reproduce --json` report."""
    report = json.loads(result_out)
    found: dict[str, Any] = next(
        o for s in report["stages"] for o in s["outputs"] if o["path"] == path
    )
    return found


def test_a_table_mismatch_is_explained_by_column(
    predicted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_NOISE", "0.001")
    result = mlv("reproduce", "--json")
    assert result.code == 1
    out = output(result.out)
    assert out["verdict"] == "differs"
    [column] = out["table"]["columns"]
    assert column["name"] == "score" and column["differing"] == 7  # ids 0, 4 and 8 agree
    assert column["max_abs"] == pytest.approx(0.003, abs=1e-9) and column["tolerance"] is None
    assert "score: 7 value(s) differ, max |delta| 0.003" in out["detail"]
    human = mlv("reproduce")
    assert "score: 7 value(s) differ" in human.out


def test_a_column_tolerance_accepts_the_difference(
    predicted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_NOISE", "0.001")
    accepted = mlv("reproduce", "--json", "--tolerance", "predictions.csv:score=0.01")
    assert accepted.code == 0, accepted.out
    assert output(accepted.out)["verdict"] == "within tolerance"
    # Above the smallest difference, below the largest: not within.
    strict = mlv("reproduce", "--json", "--tolerance", "predictions.csv:score=0.002")
    assert strict.code == 1 and output(strict.out)["verdict"] == "differs"
    # The same tolerance, from mlv.toml.
    with open(predicted / "mlv.toml", "a") as handle:
        handle.write('\n[tables.tolerance]\n"predictions.csv:score" = 0.01\n')
    assert mlv("reproduce", "--check").code == 0


def test_a_changed_row_count_is_never_within_tolerance(
    predicted: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLV_TEST_EXTRA_ROWS", "2")
    result = mlv("reproduce", "--json", "--tolerance", "predictions.csv:score=100")
    assert result.code == 1
    out = output(result.out)
    assert out["table"]["rows"] == [10, 12] and "rows 10 -> 12" in out["detail"]
