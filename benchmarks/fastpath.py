#!/usr/bin/env python3
"""The fast paths of issue 13: status right after a snapshot, status after one changed file,
hard-link checkout — whole-command wall times, median of --runs, mlv (and DVC for the checkout).

    python benchmarks/fastpath.py    # many = 50,000 x 4 KiB in 100 dirs, big = 2 x 256 MiB
    python benchmarks/fastpath.py --data many --runs 5 --dvc .venv/bin/dvc

Unlike benchmarks/run.py the data is *fresh* when snapshotted (copied just before, no pause), as
after a stage that wrote its outputs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import Dataset, MiB, generate  # noqa: E402

DATA = {
    "many": Dataset("many", 50_000, 4096, 100),
    "big": Dataset("big", 2, 256 * MiB, 1),
}


def sh(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if out.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr[-800:]}")
    return took


def fresh_repo(repo: Path, source: Path, init: list[list[str]]) -> None:
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "bench@mlv.invalid"],
        ["git", "config", "user.name", "bench"],
        *init,
    ):
        sh(cmd, repo)
    subprocess.run(["cp", "-rL", str(source), str(repo / "data")], check=True)


def flip_first_byte(repo: Path) -> None:
    victim = sorted((repo / "data").rglob("*.bin"))[0]
    with open(victim, "r+b") as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))


def mlv_run(mlv: list[str], source: Path, repo: Path, record: dict[str, list[float]]) -> None:
    fresh_repo(repo, source, [[*mlv, "init"]])
    record.setdefault("snapshot of fresh files", []).append(
        sh([*mlv, "track", "data"], repo) + sh([*mlv, "snapshot", "--no-commit"], repo)
    )
    record.setdefault("status right after it", []).append(sh([*mlv, "status"], repo))
    record.setdefault("status again", []).append(sh([*mlv, "status"], repo))
    record.setdefault("status again (2)", []).append(sh([*mlv, "status"], repo))
    flip_first_byte(repo)
    time.sleep(0.05)
    record.setdefault("status, one file changed", []).append(sh([*mlv, "status"], repo))
    record.setdefault("status, one file changed (again)", []).append(sh([*mlv, "status"], repo))
    sh([*mlv, "snapshot", "--no-commit"], repo)
    text = (repo / "mlv.toml").read_text().replace('link = "copy"', 'link = "hardlink"')
    (repo / "mlv.toml").write_text(text)
    shutil.rmtree(repo / "data")
    record.setdefault("hardlink checkout, objects packed", []).append(
        sh([*mlv, "checkout", "--force"], repo)
    )
    shutil.rmtree(repo, ignore_errors=True)
    # A project that hard-links from the start keeps loose objects.
    fresh_repo(repo, source, [[*mlv, "init"]])
    text = (repo / "mlv.toml").read_text().replace('link = "copy"', 'link = "hardlink"')
    (repo / "mlv.toml").write_text(text)
    sh([*mlv, "track", "data"], repo)
    sh([*mlv, "snapshot", "--no-commit"], repo)
    for label in ("first", "second", "third"):
        shutil.rmtree(repo / "data")
        record.setdefault(f"hardlink project: checkout into empty tree, {label}", []).append(
            sh([*mlv, "checkout", "--force"], repo)
        )
    record.setdefault("status after hardlink checkout", []).append(sh([*mlv, "status"], repo))
    shutil.rmtree(repo, ignore_errors=True)


def dvc_run(dvc: str, source: Path, repo: Path, record: dict[str, list[float]]) -> None:
    fresh_repo(
        repo,
        source,
        [
            [dvc, "init", "-q"],
            [dvc, "config", "core.analytics", "false"],
            [dvc, "config", "core.autostage", "false"],
        ],
    )
    sh([dvc, "add", "data"], repo)
    sh([dvc, "config", "cache.type", "hardlink"], repo)
    shutil.rmtree(repo / "data")
    record.setdefault("dvc: hardlink checkout", []).append(sh([dvc, "checkout", "--force"], repo))
    shutil.rmtree(repo, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=[*DATA, "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dvc", type=Path, default=None, help="also time DVC's hard-link checkout")
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    args = parser.parse_args()
    mlv = [sys.executable, "-m", "mlv"]  # this interpreter's (a console script may be another's)
    dvc = str(args.dvc.resolve()) if args.dvc else None
    names = list(DATA) if args.data == "both" else [args.data]
    for name in names:
        ds = DATA[name]
        source = args.work / "data" / f"{name}-fastpath"
        generate(ds, source)
        record: dict[str, list[float]] = {}
        for run in range(args.runs):
            mlv_run(mlv, source, args.work / f"fastpath-{name}", record)
            if dvc:
                dvc_run(dvc, source, args.work / f"fastpath-dvc-{name}", record)
            print(f"{name} run {run + 1}:", {k: round(v[-1], 2) for k, v in record.items()})
            sys.stdout.flush()
        print(f"## {ds.describe()}, median of {args.runs}")
        for op, values in record.items():
            runs = " ".join(f"{v:.2f}" for v in values)
            print(f"| {op} | {statistics.median(values):.2f} s | {runs} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
