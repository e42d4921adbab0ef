#!/usr/bin/env python3
"""mlv beside DVC on the same generated data, with the machine's floors measured in the same run.

    python benchmarks/run.py            # big = 4 x 512 MiB, many = 50,000 x 4 KiB in 100 dirs
    python benchmarks/run.py --quick    # a reduced set that finishes in about a minute
    python benchmarks/run.py --smoke    # tiny data, mlv only: checks that the script works

Each operation runs for mlv and DVC alternately, in fresh repositories, --runs times; the table
gives the median wall time, the peak RSS of the whole process tree (getrusage of the children) and
the ratio DVC / mlv. Results go to docs/benchmarks.md and benchmarks/results.json (or --out).
DVC is taken from PATH or --dvc; without it the DVC columns say "n/a".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MiB = 1024 * 1024


@dataclass
class Dataset:
    name: str
    files: int
    file_size: int
    dirs: int

    def describe(self) -> str:
        size = self.file_size
        unit = f"{size // MiB} MiB" if size >= MiB else f"{size // 1024} KiB"
        where = f" in {self.dirs} dirs" if self.dirs > 1 else ""
        return f"{self.name}: {self.files:,} x {unit}{where}"


SIZES = {
    "full": [Dataset("big", 4, 512 * MiB, 1), Dataset("many", 50_000, 4096, 100)],
    "quick": [Dataset("big", 4, 64 * MiB, 1), Dataset("many", 10_000, 4096, 100)],
    "smoke": [Dataset("big", 2, 4 * MiB, 1), Dataset("many", 300, 4096, 10)],
}


def generate(ds: Dataset, target: Path) -> None:
    """Deterministic content: a seeded generator, so every run benchmarks the same bytes."""
    marker = target / f".complete-{ds.files}-{ds.file_size}"
    if marker.exists():
        return
    shutil.rmtree(target, ignore_errors=True)
    rng = random.Random(f"{ds.name}-{ds.files}-{ds.file_size}")
    per_dir = -(-ds.files // ds.dirs)
    block = min(ds.file_size, 4 * MiB)
    for i in range(ds.files):
        d = target / (f"d{i // per_dir:03d}" if ds.dirs > 1 else "")
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"f{i:06d}.bin", "wb") as handle:
            left = ds.file_size
            while left:
                n = min(block, left)
                handle.write(rng.randbytes(n))
                left -= n
    marker.touch()


@dataclass
class Measure:
    wall: float
    rss_kib: int


def timed_isolated(cmd: list[str], cwd: Path) -> Measure:
    """Like ``timed`` but in a fresh child so RUSAGE_CHILDREN's peak is this command's own."""
    wrapper = [sys.executable, str(HERE / "measure_one.py"), "--", *cmd]
    out = subprocess.run(wrapper, cwd=cwd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-800:]}")
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return Measure(doc["wall"], doc["rss_kib"])


def sh(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass
class Tool:
    name: str
    exe: str

    def init(self, repo: Path) -> None:
        sh(["git", "init", "-q"], repo)
        sh(["git", "config", "user.email", "bench@mlv.invalid"], repo)
        sh(["git", "config", "user.name", "bench"], repo)
        if self.name == "mlv":
            sh([self.exe, "init"], repo)
        else:
            sh([self.exe, "init", "-q"], repo)
            sh([self.exe, "config", "core.analytics", "false"], repo)
            sh([self.exe, "config", "core.autostage", "false"], repo)

    def add(self, repo: Path) -> list[list[str]]:
        if self.name == "mlv":
            return [[self.exe, "track", "data"], [self.exe, "snapshot", "--no-commit"]]
        return [[self.exe, "add", "data"]]

    def status(self) -> list[list[str]]:
        return [[self.exe, "status"]]

    def resnapshot(self) -> list[list[str]]:
        if self.name == "mlv":
            return [[self.exe, "snapshot", "--no-commit"]]
        return [[self.exe, "add", "data"]]

    def checkout(self) -> list[list[str]]:
        return [[self.exe, "checkout", "--force"]]

    def set_hardlink(self, repo: Path) -> None:
        if self.name == "mlv":
            text = (repo / "mlv.toml").read_text().replace('link = "copy"', 'link = "hardlink"')
            (repo / "mlv.toml").write_text(text)
        else:
            sh([self.exe, "config", "cache.type", "hardlink"], repo)

    def add_remote(self, repo: Path, url: Path) -> None:
        if self.name == "mlv":
            sh([self.exe, "remote", "add", "bench", str(url), "--default"], repo)
        else:
            sh([self.exe, "remote", "add", "-d", "bench", str(url)], repo)

    def push(self) -> list[list[str]]:
        return [[self.exe, "push"]]

    def pull(self) -> list[list[str]]:
        return [[self.exe, "pull"]]

    def cache_dir(self, repo: Path) -> Path:
        return repo / (".mlv/cache" if self.name == "mlv" else ".dvc/cache")

    def gc(self) -> list[list[str]]:
        if self.name == "mlv":
            return [[self.exe, "gc", "--workspace", "--force"]]  # as dvc gc -w -f
        return [[self.exe, "gc", "-w", "-f"]]


def run_cmds(cmds: list[list[str]], repo: Path) -> Measure:
    total, peak = 0.0, 0
    for cmd in cmds:
        m = timed_isolated(cmd, repo)
        total += m.wall
        peak = max(peak, m.rss_kib)
    return Measure(total, peak)


@dataclass
class Row:
    dataset: str
    operation: str
    results: dict[str, list[Measure]] = field(default_factory=dict)


def scenario(
    tool: Tool,
    ds: Dataset,
    source: Path,
    work: Path,
    record: Callable[[str, Measure], None],
    ops: set[str],
) -> None:
    """One fresh repository through the whole sequence of operations."""
    repo = work / f"{tool.name}-{ds.name}"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    tool.init(repo)
    sh(["cp", "-r", str(source), str(repo / "data")], repo)
    time.sleep(2.1)  # let the copies age past mlv's racy-clean window, as real data would be
    record("first snapshot", run_cmds(tool.add(repo), repo))
    record("status, nothing changed", run_cmds(tool.status(), repo))
    victim = sorted((repo / "data").rglob("*.bin"))[0]
    with open(victim, "r+b") as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))
    record("status, one byte changed", run_cmds(tool.status(), repo))
    record("re-snapshot, one byte changed", run_cmds(tool.resnapshot(), repo))
    shutil.rmtree(repo / "data")
    record("checkout into empty tree (copy)", run_cmds(tool.checkout(), repo))
    remote = work / f"{tool.name}-{ds.name}-remote"
    shutil.rmtree(remote, ignore_errors=True)
    tool.add_remote(repo, remote)
    record("push to a directory remote", run_cmds(tool.push(), repo))
    shutil.rmtree(tool.cache_dir(repo))
    shutil.rmtree(repo / "data")
    record("pull from it (empty cache and tree)", run_cmds(tool.pull(), repo))
    shutil.rmtree(remote, ignore_errors=True)
    tool.set_hardlink(repo)
    shutil.rmtree(repo / "data")
    record("checkout into empty tree (hardlink)", run_cmds(tool.checkout(), repo))
    if "gc" in ops:
        record("gc", run_cmds(tool.gc(), repo))
    shutil.rmtree(repo, ignore_errors=True)


def floors(ds: Dataset, source: Path, work: Path) -> dict[str, Measure]:
    walk = [
        sys.executable,
        "-c",
        "import os,sys\n"
        "def w(p):\n"
        "    for e in os.scandir(p):\n"
        "        w(e.path) if e.is_dir(follow_symlinks=False) else e.stat()\n"
        "w(sys.argv[1])",
        str(source),
    ]
    read = ["sh", "-c", f"find '{source}' -type f -exec cat {{}} + > /dev/null"]
    result = {
        "floor: python scandir+stat walk": timed_isolated(walk, work),
        "floor: read every file (cat)": timed_isolated(read, work),
    }
    target = work / "floor-copy"
    shutil.rmtree(target, ignore_errors=True)
    result["floor: cp -r"] = timed_isolated(["cp", "-r", str(source), str(target)], work)
    shutil.rmtree(target, ignore_errors=True)
    result["floor: cp -al"] = timed_isolated(["cp", "-al", str(source), str(target)], work)
    shutil.rmtree(target, ignore_errors=True)
    return result


def fmt_time(values: list[Measure]) -> str:
    return f"{statistics.median(m.wall for m in values):.2f} s" if values else "n/a"


def fmt_rss(values: list[Measure]) -> str:
    return f"{statistics.median(m.rss_kib for m in values) / 1024:.0f} MiB" if values else "n/a"


def write_report(
    rows: list[Row],
    floor_rows: dict[str, dict[str, list[Measure]]],
    args: argparse.Namespace,
    datasets: list[Dataset],
    tools: list[Tool],
    out: Path,
) -> None:
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    versions = {
        t.name: subprocess.run(
            [t.exe, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        for t in tools
    }
    lines = [
        "# Benchmarks: mlv beside DVC",
        "",
        f"Produced by `python benchmarks/run.py{' --' + args.size if args.size != 'full' else ''}"
        f" --runs {args.runs}` on {time.strftime('%Y-%m-%d')}.",
        f"Machine: {machine}. Tools: {', '.join(f'{k} ({v})' for k, v in versions.items())}.",
        "Data: " + "; ".join(d.describe() for d in datasets) + ".",
        "",
        "Median wall time of the whole command (for mlv's first snapshot: `mlv track` +"
        " `mlv snapshot --no-commit`), peak RSS of the largest process, and DVC's time divided"
        " by mlv's (higher is better for mlv). mlv and DVC ran alternately, each in a fresh"
        " repository per run.",
        "",
        "| data | operation | mlv | DVC | DVC / mlv | mlv peak RSS | DVC peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        m, d = row.results.get("mlv", []), row.results.get("dvc", [])
        ratio = (
            f"{statistics.median(x.wall for x in d) / statistics.median(x.wall for x in m):.1f}x"
            if m and d
            else "n/a"
        )
        lines.append(
            f"| {row.dataset} | {row.operation} | {fmt_time(m)} | {fmt_time(d)} | "
            f"{ratio} | {fmt_rss(m)} | {fmt_rss(d)} |"
        )
    lines += [
        "",
        "Floors measured in the same run (the same data, no tool):",
        "",
        "| data | floor | time |",
        "| --- | --- | --- |",
    ]
    for ds_name, entries in floor_rows.items():
        for name, values in entries.items():
            lines.append(f"| {ds_name} | {name.removeprefix('floor: ')} | {fmt_time(values)} |")
    lines.append("")
    # The table summaries section is written by benchmarks/tables.py: keep it.
    marker = "<!-- tables benchmark: written by benchmarks/tables.py -->"
    kept = out.read_text().partition(marker) if out.exists() else ("", "", "")
    tail = f"\n{marker}{kept[2]}" if kept[1] else ""
    out.write_text("\n".join(lines) + "\n" + tail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick")
    size.add_argument("--smoke", dest="size", action="store_const", const="smoke")
    parser.set_defaults(size="full")
    parser.add_argument("--runs", type=int, default=None, help="runs per tool (default 3; 1 smoke)")
    parser.add_argument("--dvc", default=shutil.which("dvc"), help="the dvc executable")
    parser.add_argument("--no-dvc", action="store_true", help="benchmark mlv alone")
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    args.runs = args.runs or (1 if args.size == "smoke" else 3)

    mlv_exe = shutil.which("mlv", path=str(Path(sys.executable).parent)) or shutil.which("mlv")
    if mlv_exe is None:
        print("error: mlv is not installed (pip install -e .)", file=sys.stderr)
        return 2
    tools = [Tool("mlv", mlv_exe)]
    if args.dvc and not args.no_dvc:
        tools.append(Tool("dvc", args.dvc))
    ops = {"gc"}

    datasets = SIZES[args.size]
    args.work.mkdir(parents=True, exist_ok=True)
    rows: dict[tuple[str, str], Row] = {}
    floor_rows: dict[str, dict[str, list[Measure]]] = {}
    for ds in datasets:
        source = args.work / "data" / f"{ds.name}-{args.size}"
        print(f"generating {ds.describe()} ...", flush=True)
        generate(ds, source)
        floor_rows[ds.name] = {}
        for run in range(args.runs):
            for name, m in floors(ds, source, args.work).items():
                floor_rows[ds.name].setdefault(name, []).append(m)
            for tool in tools if run % 2 == 0 else list(reversed(tools)):
                print(f"  {ds.name} run {run + 1}/{args.runs}: {tool.name}", flush=True)

                def record(op: str, m: Measure, tool: Tool = tool, ds: Dataset = ds) -> None:
                    rows.setdefault((ds.name, op), Row(ds.name, op)).results.setdefault(
                        tool.name, []
                    ).append(m)

                scenario(tool, ds, source, args.work, record, ops)
    ordered = list(rows.values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(ordered, floor_rows, args, datasets, tools, args.out)
    args.json.write_text(
        json.dumps(
            {
                "size": args.size,
                "runs": args.runs,
                "rows": [
                    {
                        "data": r.dataset,
                        "operation": r.operation,
                        "results": {k: [vars(m) for m in v] for k, v in r.results.items()},
                    }
                    for r in ordered
                ],
                "floors": {
                    k: {n: [vars(m) for m in v] for n, v in e.items()}
                    for k, e in floor_rows.items()
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
