"""`mlv log --metrics --params`: a row per snapshot, a column per param and metric."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.experiment_runs import SCRIPT, make_runs
from tests.conftest import MlvRunner, git


@pytest.fixture
def runs(project: Path, mlv: MlvRunner) -> list[str]:
    return make_runs(project, mlv, count=3)


def log_json(mlv: MlvRunner, *args: str) -> dict[str, Any]:
    result = mlv("log", "--json", *args)
    assert result.code == 0, result.err
    doc: dict[str, Any] = json.loads(result.out)
    return doc


def test_json_has_a_row_per_snapshot_and_marks_changes(runs: list[str], mlv: MlvRunner) -> None:
    doc = log_json(mlv, "--metrics", "--params")
    assert doc["params"] == ["params.yaml:lr", "params.yaml:name"]
    assert doc["metrics"] == ["metrics.json:acc", "metrics.json:loss"]
    rows = doc["snapshots"]
    assert [r["subject"] for r in rows] == runs[::-1]
    assert [r["params"]["params.yaml:lr"] for r in rows] == [0.3, 0.2, 0.1]
    assert [r["metrics"]["metrics.json:acc"] for r in rows] == [0.8, 0.7, 0.6]
    assert rows[0]["changed"]["params"] == ["params.yaml:lr", "params.yaml:name"]
    assert rows[1]["changed"] == {
        "params": ["params.yaml:lr"],
        "metrics": ["metrics.json:acc", "metrics.json:loss"],
    }
    assert rows[2]["changed"] == {"params": [], "metrics": []}  # the oldest: nothing before it


def test_choose_columns_by_short_name(runs: list[str], mlv: MlvRunner) -> None:
    doc = log_json(mlv, "--metric", "acc")
    assert (doc["params"], doc["metrics"]) == ([], ["metrics.json:acc"])
    doc = log_json(mlv, "--param", "params.yaml:lr", "--metrics")
    assert doc["params"] == ["params.yaml:lr"]
    assert doc["metrics"] == ["metrics.json:acc", "metrics.json:loss"]


def test_unknown_column_is_bad_input(runs: list[str], mlv: MlvRunner) -> None:
    result = mlv("log", "--metric", "f1")
    assert result.code == 2
    assert "no metric named 'f1'" in result.err and "metrics.json:acc" in result.err
    assert mlv("log", "--json", "--csv").code == 2


def test_csv(runs: list[str], mlv: MlvRunner) -> None:
    result = mlv("log", "--csv", "--metrics", "--params", "-n", "2")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[0] == [
        "commit", "date", "subject", "params.yaml:lr", "params.yaml:name",
        "metrics.json:acc", "metrics.json:loss",
    ]  # fmt: skip
    assert len(rows) == 3
    assert rows[1][2] == runs[-1] and rows[1][5] == "0.8"
    assert rows[1][4] == SCRIPT  # CSV is data: written as it is


def test_table_fits_80_columns(
    runs: list[str], mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    from mlv.cli import output

    monkeypatch.setattr(output, "_out", None)
    result = mlv("log", "--metrics", "--params")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "acc" in lines[0] and "lr" in lines[0]
    assert "0.8*" in result.out  # the newest acc changed
    assert "changed since the snapshot before" in lines[-1]


def test_columns_that_do_not_fit_are_named_not_squeezed(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = "".join(f"param_number_{i:02d}: {1000.5 + i}\n" for i in range(15))
    (project / "params.yaml").write_text(params)
    code = "open('out.txt', 'w').write('x')"
    added = mlv(
        "stage", "add", "s", "-p", "params.yaml", "-o", "out.txt", "--", "python3", "-c", code
    )
    assert added.code == 0, added.err
    assert mlv("run").code == 0
    assert mlv("snapshot", "-m", "one").code == 0
    monkeypatch.setenv("COLUMNS", "80")
    from mlv.cli import output

    monkeypatch.setattr(output, "_out", None)
    result = mlv("log", "--params")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 80  # the table, and the note wrapped
    assert "param_number_00" in lines[0] and "1000.5" in lines[1]  # whole, not cut
    note = " ".join(line for line in lines[2:])
    assert "more columns do not fit (param_number_" in note and "--csv" in note


def snapshot_values(
    project: Path, mlv: MlvRunner, params: str, metrics: dict[str, Any], message: str = "one"
) -> None:
    """One snapshot of a stage that records ``params`` (params.yaml) and ``metrics``."""
    (project / "params.yaml").write_text(params)
    code = f"import json; json.dump({metrics!r}, open('metrics.json', 'w'))"
    added = mlv(
        "stage", "add", "s", "--force", "-p", "params.yaml", "-M", "metrics.json",
        "--", "python3", "-c", code,
    )  # fmt: skip
    assert added.code == 0, added.err
    run = mlv("run")
    assert run.code == 0, run.err
    assert mlv("snapshot", "-m", message).code == 0


def test_csv_and_json_carry_full_precision(project: Path, mlv: MlvRunner) -> None:
    snapshot_values(project, mlv, "lr: 12345.678901\n", {"acc": 75.674363, "tiny": 1.23456789e-9})
    result = mlv("log", "--csv", "--metrics", "--params")
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    values = dict(zip(rows[0], rows[1], strict=True))
    assert values["params.yaml:lr"] == "12345.678901"
    assert values["metrics.json:acc"] == "75.674363"
    assert float(values["metrics.json:tiny"]) == 1.23456789e-9
    doc = log_json(mlv, "--metrics", "--params")
    assert doc["snapshots"][0]["metrics"]["metrics.json:acc"] == 75.674363
    assert doc["snapshots"][0]["params"]["params.yaml:lr"] == 12345.678901


def narrow_log(mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    monkeypatch.setenv("COLUMNS", "80")
    from mlv.cli import output

    monkeypatch.setattr(output, "_out", None)
    result = mlv("log", *args)
    assert result.code == 0, result.err
    print(result.out)
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    return lines


def test_narrow_table_drops_columns_rather_than_cut_numbers(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"a_rather_long_metric_name_{i}" for i in range(6)]
    snapshot_values(project, mlv, "learning_rate_of_the_model: 0.1\n", dict.fromkeys(names, 0.1))
    metrics = dict.fromkeys(names, 0.2) | {names[0]: 0.94231234}
    message = "a commit message longer than the column"
    snapshot_values(project, mlv, "learning_rate_of_the_model: 0.2\n", metrics, message)
    lines = narrow_log(mlv, monkeypatch, "--metrics", "--params")
    assert "0.942312*" in lines[1] and "0.2*" in lines[1]  # whole, marker kept
    assert lines[2].endswith("0.1") and "0…" not in "\n".join(lines)
    note = [i for i, line in enumerate(lines) if "do not fit" in line]
    assert note and "--csv" in " ".join(lines[note[0] :])


def test_narrow_table_with_many_short_columns_keeps_numbers_whole(
    project: Path, mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {f"m{i}": 0.1 for i in range(9)}
    snapshot_values(project, mlv, "lr: 0.1\n", old)
    new = {f"m{i}": 0.94231234 for i in range(9)}
    snapshot_values(project, mlv, "lr: 0.1\n", new, "a commit message longer than the column")
    lines = narrow_log(mlv, monkeypatch, "--metrics")
    shown = lines[0].split()[2:]
    assert shown and lines[1].split()[-len(shown) :] == ["0.942312*"] * len(shown)


def test_an_unreadable_manifest_is_noted_and_skipped_in_the_comparison(
    project: Path, mlv: MlvRunner
) -> None:
    snapshot_values(project, mlv, "lr: 0.1\n", {"acc": 0.5}, "first")
    good = (project / "mlv.lock").read_text()
    (project / "mlv.lock").write_text("{ not json")
    git(project, "commit", "-q", "-am", "broken lock")
    (project / "mlv.lock").write_text(good)
    snapshot_values(project, mlv, "lr: 0.2\n", {"acc": 0.5}, "second")
    rows = log_json(mlv, "--metrics", "--params")["snapshots"]
    assert [r["subject"] for r in rows] == ["second", "broken lock", "first"]
    assert rows[0]["changed"] == {"params": ["params.yaml:lr"], "metrics": []}
    assert rows[1]["problem"] and rows[1]["changed"] == {"params": [], "metrics": []}
    table = mlv("log", "--metrics", "--params")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert "(unreadable) broken lock" in lines[2] and "*" not in lines[2], table.out
    assert lines[1].count("*") == 1  # lr alone
    broken = git(project, "rev-parse", "--short=7", "HEAD~1")
    assert any(line.startswith(f"{broken}: ") for line in lines[4:])


def test_a_very_narrow_terminal_still_prints(
    runs: list[str], mlv: MlvRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "15")
    from mlv.cli import output

    monkeypatch.setattr(output, "_out", None)
    result = mlv("log", "--metrics", "--params")
    assert result.code == 0, result.err
    assert "4 more columns do not fit" in " ".join(result.out.split())
