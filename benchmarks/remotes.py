#!/usr/bin/env python3
"""Push and pull timings against a directory remote and a local S3-compatible server.

    python benchmarks/remotes.py [--small 10000] [--big-mib 1024] [--jobs 8]

Generates its data (N x 4 KiB files, and 4 large files adding up to --big-mib), snapshots it,
then times `mlv push` into an empty remote and `mlv pull` into a fresh clone, for a directory
remote and for moto's S3 server on 127.0.0.1 (needs `pip install -e '.[dev]'`). Prints a
Markdown table; with --out, appends it to that file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.s3server import create_bucket, moto_server  # noqa: E402


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def make_project(work: Path, name: str, small: int, big_mib: int) -> Path:
    repo = work / name
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    sh(["git", "init", "-q"], repo)
    sh(["git", "config", "user.email", "bench@mlv.invalid"], repo)
    sh(["git", "config", "user.name", "bench"], repo)
    sh(["mlv", "init"], repo)
    if small:
        for i in range(small):
            d = repo / "data" / f"d{i // 100:03d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i:05d}.bin").write_bytes(os.urandom(4096))
    if big_mib:
        (repo / "data").mkdir(exist_ok=True)
        for i in range(4):
            with open(repo / "data" / f"big{i}.bin", "wb") as handle:
                for _ in range(big_mib // 4):
                    handle.write(os.urandom(1024 * 1024))
    sh(["mlv", "track", "data"], repo)
    sh(["mlv", "snapshot", "-m", "data"], repo)
    return repo


def measure(
    repo: Path, work: Path, url: str, extra: list[str], jobs: int, env: dict[str, str]
) -> tuple[float, float]:
    sh(["mlv", "remote", "add", "bench", url, "--default", "--force", *extra], repo, env)
    sh(["git", "commit", "-qam", "remote"], repo)
    push = sh(["mlv", "push", "-j", str(jobs)], repo, env)
    clone = work / f"{repo.name}-clone"
    shutil.rmtree(clone, ignore_errors=True)
    sh(["git", "clone", "-q", str(repo), str(clone)], work)
    pull = sh(["mlv", "pull", "-j", str(jobs)], clone, env)
    shutil.rmtree(clone, ignore_errors=True)
    return push, pull


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "remotes")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    args.work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    rows = []
    datasets = [
        (f"{args.small:,} x 4 KiB", args.small, 0),
        (f"4 x {args.big_mib // 4} MiB", 0, args.big_mib),
    ]
    with moto_server() as endpoint:
        for label, small, big in datasets:
            for kind in ("directory", "S3 (moto, loopback)"):
                repo = make_project(args.work, "small" if small else "big", small, big)
                if kind == "directory":
                    target = args.work / f"remote-{repo.name}"
                    shutil.rmtree(target, ignore_errors=True)
                    push, pull = measure(repo, args.work, str(target), [], args.jobs, env)
                else:
                    bucket = f"bench-{repo.name}-{int(time.time())}"
                    create_bucket(endpoint, bucket)
                    push, pull = measure(
                        repo,
                        args.work,
                        f"s3://{bucket}/mlv",
                        ["--endpoint-url", endpoint],
                        args.jobs,
                        env,
                    )
                rows.append(f"| {label} | {kind} | {args.jobs} | {push:.2f} s | {pull:.2f} s |")
                print(rows[-1], flush=True)
    table = (
        "\n".join(
            [
                "| data | remote | --jobs | push | pull (fetch + checkout) |",
                "| --- | --- | --- | --- | --- |",
                *rows,
            ]
        )
        + "\n"
    )
    print(table)
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(table)
    shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
