#!/usr/bin/env python3
"""Storage and transfer after a 1-byte edit of a large file: mlv beside DVC.

    python benchmarks/dedup.py --dvc PATH/TO/dvc     # a 256 MiB file
    python benchmarks/dedup.py --size-mib 16 --no-dvc

For each tool, in a fresh repository with a directory remote: store the file and push it, flip
one byte in its middle, store it again and push again. Reported: wall time of each step (via
measure_one.py, so peak RSS is the command's own) and how many bytes the store and the remote
grew by. Prints a Markdown table and writes benchmarks/dedup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MiB = 1024 * 1024


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    wrapper = [sys.executable, str(HERE / "measure_one.py"), "--", *cmd]
    out = subprocess.run(wrapper, cwd=cwd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-800:]}")
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return doc["wall"], doc["rss_kib"]


def sh(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


def run_tool(name: str, exe: str, source: Path, work: Path) -> dict[str, float]:
    repo, remote = work / name / "repo", work / name / "remote"
    shutil.rmtree(work / name, ignore_errors=True)
    repo.mkdir(parents=True)
    remote.mkdir()
    sh(["git", "init", "-q"], repo)
    sh(["git", "config", "user.email", "bench@mlv.invalid"], repo)
    sh(["git", "config", "user.name", "bench"], repo)
    (repo / "data").mkdir()
    shutil.copyfile(source, repo / "data/model.bin")
    if name == "mlv":
        sh([exe, "init"], repo)
        sh([exe, "track", "data/model.bin"], repo)
        sh([exe, "remote", "add", "bench", str(remote), "--default"], repo)
        store_cmd, push_cmd, cache = [exe, "snapshot", "-m", "v"], [exe, "push"], ".mlv/cache"
    else:
        sh([exe, "init", "-q"], repo)
        sh([exe, "config", "core.analytics", "false"], repo)
        sh([exe, "remote", "add", "-d", "bench", str(remote)], repo)
        store_cmd, push_cmd, cache = [exe, "add", "data/model.bin"], [exe, "push"], ".dvc/cache"
    result: dict[str, float] = {}
    for step in ("first", "edit"):
        if step == "edit":
            path = repo / "data/model.bin"
            path.chmod(0o644)
            with open(path, "r+b") as handle:
                middle = path.stat().st_size // 2
                handle.seek(middle)
                byte = handle.read(1)
                handle.seek(middle)
                handle.write(bytes([byte[0] ^ 1]))
        store_before, remote_before = tree_bytes(repo / cache), tree_bytes(remote)
        wall, rss = timed(store_cmd, repo)
        result[f"{step} store s"] = wall
        result[f"{step} store MiB RSS"] = rss / 1024
        result[f"{step} store grew MiB"] = (tree_bytes(repo / cache) - store_before) / MiB
        if name != "mlv":
            sh(["git", "add", "-A"], repo)
            sh(["git", "commit", "-qm", step], repo)
        wall, rss = timed(push_cmd, repo)
        result[f"{step} push s"] = wall
        result[f"{step} push MiB RSS"] = rss / 1024
        result[f"{step} push grew MiB"] = (tree_bytes(remote) - remote_before) / MiB
    return result


def run_all(tools: dict[str, str], size_mib: int, work: Path) -> dict[str, dict[str, float]]:
    """Each tool's figures, on one generated file of ``size_mib`` MiB (kept in ``work``)."""
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"model-{size_mib}.bin"
    if not source.exists():
        rng = random.Random(13)
        with open(source, "wb") as out:
            for _ in range(size_mib):
                out.write(rng.randbytes(MiB))
    return {name: run_tool(name, exe, source, work) for name, exe in tools.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--dvc", default=shutil.which("dvc"))
    parser.add_argument("--no-dvc", action="store_true")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "dedup")
    parser.add_argument("--json", type=Path, default=HERE / "dedup.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    mlv = shutil.which("mlv", path=os.path.dirname(sys.executable)) or "mlv"
    tools = {"mlv": mlv}
    if args.dvc and not args.no_dvc:
        tools["dvc"] = args.dvc
    results = run_all(tools, args.size_mib, args.work)
    rows = list(next(iter(results.values())))
    print(f"1-byte edit in the middle of a {args.size_mib} MiB file, directory remote\n")
    print("| measure | " + " | ".join(results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for row in rows:
        print(f"| {row} | " + " | ".join(f"{results[t][row]:.2f}" for t in results) + " |")
    args.json.write_text(json.dumps({"size_mib": args.size_mib, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
