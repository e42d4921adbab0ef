#!/usr/bin/env python3
"""What syncing the store before mlv.lock costs a first snapshot, measured inside the same runs.

    python benchmarks/sync_cost.py --quick     # big = 4 x 64 MiB, many = 10,000 x 4 KiB
    python benchmarks/sync_cost.py             # big = 4 x 512 MiB, many = 50,000 x 4 KiB
    python benchmarks/sync_cost.py --smoke     # tiny data: checks that the script works
    python benchmarks/sync_cost.py --data many --no-fallback   # 50,000 files, no fsync-each runs

Same data as run.py. Each run: a fresh repository, the data copied in, `mlv track data`, the
copy flushed to disk (so that only the snapshot's own writes are waiting), then `mlv snapshot
--no-commit` timed as a whole process, in turn: as shipped (one syncfs, then the directories),
with the store's sync skipped, and with the fallback used where no syncfs exists (an fsync per
object, then the directories). The sync call itself is timed inside the same runs. syncfs
flushes the whole file system, so other programs' unwritten data on it adds to its time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import sh  # noqa: E402
from benchmarks.local import SIZES, Dataset, generate  # noqa: E402

# The child: mlv's CLI with ObjectStore.sync_written timed (into a file) or skipped.
DRIVER = """
import sys, time
from mlv.storage import store
from mlv.storage.store import ObjectStore
mode, out = sys.argv[1], sys.argv[2]
if mode == "fsync each":
    store.sync_filesystem = lambda path: None  # as where no whole-file-system sync waits
real = ObjectStore.sync_written
def timed(self):
    start = time.perf_counter()
    n = real(self)
    if n:
        with open(out, "a") as f:
            f.write(f"{time.perf_counter() - start} {n}\\n")
    return n
ObjectStore.sync_written = (lambda self: 0) if mode == "no sync" else timed
from mlv.cli.main import main
sys.exit(main(sys.argv[3:]))
"""


MODES = ["syncfs", "no sync", "fsync each"]


def one_run(ds: Dataset, source: Path, work: Path, mlv: str, mode: str) -> tuple[float, float, int]:
    """(whole snapshot, sync call, objects synced) for one fresh repository."""
    repo = work / f"sync-{ds.name}-{mode.replace(' ', '-')}"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    sh(["git", "init", "-q"], repo)
    sh(["git", "config", "user.email", "bench@mlv.invalid"], repo)
    sh(["git", "config", "user.name", "bench"], repo)
    sh([mlv, "init"], repo)
    sh(["cp", "-r", str(source), str(repo / "data")], repo)
    sh([mlv, "track", "data"], repo)
    time.sleep(2.1)  # past the racy-clean window, as run.py does
    os.sync()  # the copy is on disk: the snapshot's sync pays for the snapshot's writes only
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as timing:
        cmd = [sys.executable, "-c", DRIVER, mode, timing.name, "snapshot", "--no-commit"]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=repo, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        lines = timing.read().split()
    shutil.rmtree(repo, ignore_errors=True)
    sync, synced = (float(lines[0]), int(lines[1])) if lines else (0.0, 0)
    return wall, sync, synced


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick")
    size.add_argument("--smoke", dest="size", action="store_const", const="smoke")
    parser.set_defaults(size="full")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", choices=["big", "many"], help="only this data set")
    parser.add_argument(
        "--no-fallback", action="store_true", help="skip the fsync-each runs (slow on many files)"
    )
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    args = parser.parse_args()
    mlv = shutil.which("mlv", path=str(Path(sys.executable).parent)) or shutil.which("mlv")
    if mlv is None:
        print("error: mlv is not installed (pip install -e .)", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    modes = [m for m in MODES if not (args.no_fallback and m == "fsync each")]
    for ds in [d for d in SIZES[args.size] if args.data in (None, d.name)]:
        source = args.work / "data" / f"{ds.name}-{args.size}"
        print(f"generating {ds.describe()} ...", flush=True)
        generate(ds, source)
        walls: dict[str, list[float]] = {mode: [] for mode in modes}
        syncs: dict[str, list[float]] = {mode: [] for mode in modes}
        synced = 0
        for run in range(args.runs):
            for mode in modes[run % len(modes) :] + modes[: run % len(modes)]:
                print(f"  {ds.name} run {run + 1}/{args.runs}: {mode}", flush=True)
                wall, sync, n = one_run(ds, source, args.work, mlv, mode)
                walls[mode].append(wall)
                syncs[mode].append(sync)
                synced = max(synced, n)
        base = statistics.median(walls["no sync"])
        for mode in modes:
            wall = statistics.median(walls[mode])
            call = f"{statistics.median(syncs[mode]):.3f} s" if mode != "no sync" else "-"
            rows.append(
                f"| {ds.describe()} | {mode} | {synced:,} | {wall:.2f} s"
                f" ({min(walls[mode]):.2f}-{max(walls[mode]):.2f}) | {wall - base:+.2f} s"
                f" | {call} |"
            )
    print()
    flags = [] if args.size == "full" else [f"--{args.size}"]
    flags += [f"--data {args.data}"] if args.data else []
    flags += ["--no-fallback"] if args.no_fallback else []
    print(f"`python benchmarks/sync_cost.py {' '.join([*flags, f'--runs {args.runs}'])}`, medians:")
    print()
    print("| data | sync | objects | snapshot (min-max) | against no sync | sync call |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
