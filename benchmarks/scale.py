#!/usr/bin/env python3
"""The scale tier: a million tiny files, mlv beside DVC and beside the floors.

    python benchmarks/scale.py [--files 1000000] [--dirs 1000] [--no-dvc] [--ten-million]

Generates N files of about 10 bytes in D directories (a minute per million), then, in a fresh
repository per tool: first snapshot (`mlv track` + `mlv snapshot --no-commit`; `dvc add`),
status with nothing changed, status after one changed file, checkout into an empty tree, gc.
Each command runs in its own child so its peak RSS is its own; bytes per file is that peak
divided by N. Floors on the same tree: a Python scandir+stat walk, and reading every file once.
`--ten-million` also times mlv's snapshot and status on 10,000,000 files (mlv alone; tens of
minutes). Writes its section of docs/benchmarks.md between its markers, and scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEGIN = "<!-- scale benchmark: written by benchmarks/scale.py -->"
END = "<!-- end of scale benchmark -->"


@dataclass
class Measure:
    wall: float
    rss_kib: int


def timed(cmd: list[str], cwd: Path) -> Measure:
    """Run ``cmd`` in a fresh child of a fresh child, so the peak RSS is that command's alone."""
    wrapper = [sys.executable, str(HERE / "measure_one.py"), "--", *cmd]
    out = subprocess.run(wrapper, cwd=cwd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-800:]}")
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return Measure(doc["wall"], doc["rss_kib"])


def sh(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def generate(target: Path, files: int, dirs: int) -> None:
    per_dir = max(1, files // dirs)
    made = 0
    for d in range(dirs):
        folder = target / f"d{d:04}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(per_dir if d < dirs - 1 else files - made):
            (folder / f"f{f:05}.txt").write_bytes(b"%d-%d\n" % (d, f))
        made += per_dir
        if made >= files:
            break


def floor_code(kind: str) -> str:
    read = "open(e.path,'rb').read()" if kind == "read" else "e.stat()"
    return (
        "import os\n"
        "def w(p):\n"
        "    for e in os.scandir(p):\n"
        "        if e.is_dir(follow_symlinks=False): w(e.path)\n"
        f"        else: {read}\n"
        "w('data')\n"
    )


def init(tool: str, exe: str, repo: Path) -> None:
    sh(["git", "init", "-q"], repo)
    sh(["git", "config", "user.email", "bench@mlv.invalid"], repo)
    sh(["git", "config", "user.name", "bench"], repo)
    if tool == "mlv":
        sh([exe, "init"], repo)
    else:
        sh([exe, "init", "-q"], repo)
        sh([exe, "config", "core.analytics", "false"], repo)
        sh([exe, "config", "core.autostage", "false"], repo)


def run_tool(
    tool: str, exe: str, work: Path, files: int, dirs: int, full: bool, floors: bool = False
) -> dict[str, Measure]:
    repo = work / f"{tool}-{files}"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    init(tool, exe, repo)
    print(f"[{tool}] generating {files:,} files", flush=True)
    generate(repo / "data", files, dirs)
    time.sleep(2.1)  # let the files age past any racy-clean window, as real data would be
    out: dict[str, Measure] = {}

    def record(name: str, cmds: list[list[str]]) -> None:
        total, peak = 0.0, 0
        for cmd in cmds:
            m = timed(cmd, repo)
            total, peak = total + m.wall, max(peak, m.rss_kib)
        out[name] = Measure(total, peak)
        print(f"[{tool}] {name}: {total:.2f} s, {peak / 1024:.0f} MiB", flush=True)

    if floors:
        record("walk (floor)", [[sys.executable, "-c", floor_code("stat")]])
        record("read every file (floor)", [[sys.executable, "-c", floor_code("read")]])
    if tool == "mlv":
        record("first snapshot", [[exe, "track", "data"], [exe, "snapshot", "--no-commit"]])
    else:
        record("first snapshot", [[exe, "add", "data"]])
    record("status, nothing changed", [[exe, "status"]])
    victim = repo / "data" / f"d{dirs // 2:04}" / "f00000.txt"
    victim.write_bytes(victim.read_bytes() + b"changed\n")
    record("status, one file changed", [[exe, "status"]])
    if not full:
        shutil.rmtree(repo, ignore_errors=True)
        return out
    victim.write_bytes(victim.read_bytes()[: -len(b"changed\n")])
    shutil.rmtree(repo / "data")
    record("checkout into empty tree", [[exe, "checkout", "--force"]])
    gc = [exe, "gc", "--workspace", "--force"] if tool == "mlv" else [exe, "gc", "-w", "-f"]
    record("gc", [gc])
    shutil.rmtree(repo, ignore_errors=True)
    return out


def section(results: dict[str, dict[str, dict[str, Measure]]], args: argparse.Namespace) -> str:
    lines = [
        BEGIN,
        "",
        "## Scale: a million files",
        "",
        f"Produced by `python benchmarks/scale.py --files {args.files}`"
        f" on {time.strftime('%Y-%m-%d')}."
        f" Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}.",
        f"Data: {args.files:,} files of about 10 bytes in {args.dirs:,} directories. One run each:"
        " wall time of the whole command, peak RSS of that command, bytes per file = peak RSS /"
        " files. The floors (a Python scandir+stat walk, reading every file once) ran on mlv's"
        " copy of the tree.",
        "",
        "| files | tool | operation | time | peak RSS | bytes per file |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for size, by_tool in results.items():
        for tool, ops in by_tool.items():
            for op, m in ops.items():
                per_file = m.rss_kib * 1024 / int(size)
                lines.append(
                    f"| {int(size):,} | {tool} | {op} | {m.wall:.2f} s | {m.rss_kib / 1024:.0f} MiB"
                    f" | {per_file:.0f} |"
                )
    lines += ["", END]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    doc = path.read_text() if path.exists() else ""
    if BEGIN in doc and END in doc:
        before, rest = doc.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        doc = before + text + after
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(doc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--dirs", type=int, default=1_000)
    parser.add_argument("--mlv", default=shutil.which("mlv"))
    parser.add_argument("--dvc", default=shutil.which("dvc"))
    parser.add_argument("--no-dvc", action="store_true")
    parser.add_argument(
        "--ten-million", action="store_true", help="also snapshot and status 10M files with mlv"
    )
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "scale")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=HERE / "scale.json")
    args = parser.parse_args()
    if not args.mlv:
        parser.error("mlv is not on PATH (pip install -e .)")
    args.work.mkdir(parents=True, exist_ok=True)
    size = str(args.files)
    results: dict[str, dict[str, dict[str, Measure]]] = {size: {}}
    mlv = run_tool("mlv", args.mlv, args.work, args.files, args.dirs, True, floors=True)
    results[size]["floor"] = {op: m for op, m in mlv.items() if op.endswith("(floor)")}
    results[size]["mlv"] = {op: m for op, m in mlv.items() if not op.endswith("(floor)")}
    if args.dvc and not args.no_dvc:
        results[size]["DVC"] = run_tool("dvc", args.dvc, args.work, args.files, args.dirs, True)
    if args.ten_million:
        big = 10_000_000
        results[str(big)] = {
            "mlv": run_tool("mlv", args.mlv, args.work, big, args.dirs * 10, False)
        }
    plain = {
        s: {t: {o: m.__dict__ for o, m in ops.items()} for t, ops in by_tool.items()}
        for s, by_tool in results.items()
    }
    args.json.write_text(json.dumps(plain, indent=1))
    write_section(args.out, section(results, args))
    print(f"wrote {args.out} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
