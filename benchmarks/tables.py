"""Table summaries: time and peak RSS against the floor of reading the table.

Generates Parquet files of 10 mixed columns (floats with nulls, integer codes and ids, a
timestamp, two string categories, a flag) at 1M and 10M rows, then in separate processes
measures `pyarrow.parquet.read_table` (the floor) and mlv's summary of the same file. Also times
`mlv snapshot` of non-tabular data (many small binary files) with summaries on and off, to show
the feature costs nothing where there are no tables. Results replace the tables section of
docs/benchmarks.md (or --out).

    python benchmarks/tables.py [--rows 1000000,10000000] [--runs 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- tables benchmark: written by benchmarks/tables.py -->"


def generate(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    rng = np.random.default_rng(0)
    chunk = 1_000_000
    cities = np.array([f"city-{i}" for i in range(50)])
    products = np.array([f"product-{i:05d}" for i in range(20_000)])
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        income = rng.lognormal(10, 0.5, n)
        income[rng.random(n) < 0.05] = np.nan
        table = pa.table(
            {
                "id": pa.array(np.arange(start, start + n, dtype=np.int64)),
                "age": pa.array(rng.normal(40, 12, n)),
                "income": pa.array(income, from_pandas=True),
                "score": pa.array(rng.random(n)),
                "clicks": pa.array(rng.poisson(3, n).astype(np.int32)),
                "segment": pa.array(rng.integers(0, 8, n).astype(np.int16)),
                "seen": pa.array(
                    (1_700_000_000 + rng.integers(0, 10**7, n)).astype("datetime64[s]")
                ),
                "city": pa.array(cities[rng.integers(0, len(cities), n)]),
                "product": pa.array(products[rng.integers(0, len(products), n)]),
                "active": pa.array(rng.random(n) < 0.3),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


# Each runs in a fresh process that imports what it needs, then times the operation alone and
# reports it with the process's peak RSS.
_TIMED = (
    "import json, resource, sys, time; from pathlib import Path; {imports};"
    " t = time.perf_counter(); {op}; wall = time.perf_counter() - t;"
    " print(json.dumps({{'wall': wall,"
    " 'rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))"
)
FLOOR = _TIMED.format(imports="import pyarrow.parquet as pq", op="pq.read_table(sys.argv[1])")
SUMMARY = _TIMED.format(
    imports="from mlv.core.tables.summarise import summarise; from mlv.model.ids import ObjectId;"
    " import fastdigest, numpy, pyarrow.compute, pyarrow.parquet",
    op="s = summarise(Path(sys.argv[1]), ObjectId.xxh128('0' * 32), 'parquet');"
    " assert s.status == 'table', s.reason",
)


ROWS = _TIMED.format(
    imports="from mlv.core.history.rows import rows_by_key",
    op="r = rows_by_key(Path(sys.argv[3]), Path(sys.argv[1]), Path(sys.argv[2]), 'parquet',"
    " ('id',)); assert r.changed and r.removed, r",
)


def changed_copy(path: Path, out: Path) -> None:
    """``path`` with every 1000th row's age changed and every 5000th row removed."""
    import duckdb

    duckdb.sql(
        f"COPY (SELECT * REPLACE (CASE WHEN id % 1000 = 0 THEN age + 1 ELSE age END AS age)"
        f" FROM read_parquet('{path}') WHERE id % 5000 != 1) TO '{out}' (FORMAT parquet)"
    )


def measure(cmd: list[str], cwd: Path | None = None) -> dict[str, float]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=cwd).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def best(cmd: list[str], runs: int, cwd: Path | None = None) -> dict[str, float]:
    results = [measure(cmd, cwd) for _ in range(runs)]
    return {
        "wall": statistics.median(r["wall"] for r in results),
        "rss_kib": max(r["rss_kib"] for r in results),
    }


def snapshot_many(work: Path, files: int, runs: int) -> tuple[float, float]:
    """Median snapshot time with summaries on and off, the two alternating run by run."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(runs):
        for summaries in (True, False):
            times[summaries].append(_snapshot_once(work, files, summaries))
    return statistics.median(times[True]), statistics.median(times[False])


def _snapshot_once(work: Path, files: int, summaries: bool) -> float:
    mlv = str(Path(sys.executable).parent / "mlv")
    repo = work / f"many-{summaries}"
    shutil.rmtree(repo, ignore_errors=True)
    (repo / "data").mkdir(parents=True)
    for i in range(files):
        d = repo / "data" / f"d{i % 100:03d}"
        d.mkdir(exist_ok=True)
        (d / f"f{i:06d}.bin").write_bytes(os.urandom(2048))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([mlv, "init"], cwd=repo, check=True, capture_output=True)
    subprocess.run([mlv, "track", "data"], cwd=repo, check=True, capture_output=True)
    if not summaries:
        with open(repo / "mlv.toml", "a") as handle:
            handle.write("\n[tables]\nsummaries = false\n")
    start = time.perf_counter()
    subprocess.run([mlv, "snapshot", "--no-commit"], cwd=repo, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=20_000, help="0: skip the snapshot timing")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".work" / "tables")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    lines = [
        MARKER,
        "",
        "## Table summaries",
        "",
        f"Produced by `python benchmarks/tables.py --runs {args.runs}` on"
        f" {time.strftime('%Y-%m-%d')}. Machine: {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} cores, Python {platform.python_version()}.",
        "Data: Parquet, 10 columns (3 floats, one with 5% nulls; int64 ids; int32 and int16"
        " codes; a timestamp; strings of 50 and of 20,000 values; a flag), row groups of 1M rows.",
        "Floor: `pyarrow.parquet.read_table` of the same file. Median wall time of the operation"
        " alone (each run a fresh process, imports not counted), peak RSS of that process.",
        "",
        "| rows | file | read_table (floor) | mlv summary | summary / floor |"
        " floor peak RSS | summary peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rows in [int(r) for r in args.rows.split(",")]:
        path = args.work / f"t{rows}.parquet"
        if not path.exists():
            generate(path, rows)
        floor = best([sys.executable, "-c", FLOOR, str(path)], args.runs)
        summary = best([sys.executable, "-c", SUMMARY, str(path)], args.runs)
        size = path.stat().st_size / 2**20
        lines.append(
            f"| {rows:,} | {size:.0f} MiB | {floor['wall']:.2f} s | {summary['wall']:.2f} s |"
            f" {summary['wall'] / floor['wall']:.1f}x | {floor['rss_kib'] / 1024:.0f} MiB |"
            f" {summary['rss_kib'] / 1024:.0f} MiB |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "Row-level diff (`mlv diff --key id`, DuckDB with a 512 MB memory limit) of each file"
        " against a copy with every 1000th row changed and every 5000th removed:",
        "",
        "| rows | time | peak RSS |",
        "| --- | --- | --- |",
    ]
    for rows in [int(r) for r in args.rows.split(",")]:
        path = args.work / f"t{rows}.parquet"
        other = args.work / f"t{rows}-changed.parquet"
        if not other.exists():
            changed_copy(path, other)
        (args.work / "tmp").mkdir(exist_ok=True)
        row_diff = best(
            [sys.executable, "-c", ROWS, str(path), str(other), str(args.work / "tmp")], args.runs
        )
        lines.append(
            f"| {rows:,} | {row_diff['wall']:.2f} s | {row_diff['rss_kib'] / 1024:.0f} MiB |"
        )
        print(lines[-1], flush=True)
    if args.files:
        on, off = snapshot_many(args.work, args.files, args.runs)
    lines += (
        [
            "",
            f"Snapshot of non-tabular data ({args.files:,} files of 2 KiB, `mlv snapshot"
            f" --no-commit`): {on:.2f} s with summaries on, {off:.2f} s with `[tables] summaries ="
            " false` (median; on and off alternate run by run).",
        ]
        if args.files
        else []
    )
    print(lines[-1], flush=True)
    text = args.out.read_text() if args.out.exists() else ""
    head = text.split(MARKER)[0].rstrip("\n")
    args.out.write_text((head + "\n\n" if head else "") + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
