#!/usr/bin/env python3
"""Packed against loose push and pull: N x 4 KiB files, a directory remote and SeaweedFS.

    python benchmarks/push_packed.py [--small 10000] [--jobs 8]

Snapshots N small files once, then for each remote (a directory, a SeaweedFS bucket on
loopback) and each way of pushing (`mlv push --loose`: one object a file, format 1; `mlv
push`: packs) times the push into an empty remote and `mlv pull` into a fresh clone. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.s3server import create_bucket, seaweed_server  # noqa: E402

MLV = [sys.executable, "-m", "mlv"]


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def make_project(repo: Path, small: int) -> None:
    repo.mkdir(parents=True)
    sh(["git", "init", "-q"], repo)
    sh(["git", "config", "user.email", "bench@mlv.invalid"], repo)
    sh(["git", "config", "user.name", "bench"], repo)
    sh([*MLV, "init"], repo)
    for i in range(small):
        d = repo / "data" / f"d{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.bin").write_bytes(os.urandom(4096))
    sh([*MLV, "track", "data"], repo)
    sh([*MLV, "snapshot", "-m", "data"], repo)


def measure(
    repo: Path, work: Path, name: str, url: str, extra: list[str], how: list[str],
    env: dict[str, str], jobs: int,
) -> tuple[float, float]:
    sh([*MLV, "remote", "add", name, url, *extra], repo, env)
    push = sh([*MLV, "push", "-r", name, "-j", str(jobs), *how], repo, env)
    clone = work / f"clone-{name}"
    sh(["git", "clone", "-q", str(repo), str(clone)], work)
    sh([*MLV, "remote", "add", name, url, *extra, "--force"], clone, env)
    pull = sh([*MLV, "pull", "-r", name, "-j", str(jobs)], clone, env)
    return push, pull


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlv-bench-packed-"))
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")  # fmt: skip
    rows = []
    try:
        repo = work / "repo"
        make_project(repo, args.small)
        with seaweed_server(work / "weed") as endpoint:
            for how, label in (["--loose"], "loose (format 1)"), ([], "packs (format 2)"):
                tag = "loose" if how else "packed"
                remote = work / f"remote-{tag}"  # `mlv remote add` creates it
                push, pull = measure(repo, work, f"dir{tag}", str(remote), [], how, env,
                                     args.jobs)  # fmt: skip
                rows.append(("directory", label, push, pull))
                bucket = f"bench-{tag}"
                create_bucket(endpoint, bucket)
                push, pull = measure(repo, work, f"s3{tag}", f"s3://{bucket}/mlv",
                                     ["--endpoint-url", endpoint], how, env, args.jobs)  # fmt: skip
                rows.append(("SeaweedFS (S3)", label, push, pull))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.small} x 4 KiB files, -j {args.jobs}\n")
    print("| remote | push writes | push (s) | pull into a fresh clone (s) |")
    print("| --- | --- | ---: | ---: |")
    for remote_kind, label, push, pull in rows:
        print(f"| {remote_kind} | {label} | {push:.2f} | {pull:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
