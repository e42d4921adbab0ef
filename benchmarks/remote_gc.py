#!/usr/bin/env python3
"""`mlv gc --remote`: the remote's size before and after, and the time, with about half of its
objects dead, on a directory remote and on SeaweedFS (S3 on loopback).

    python benchmarks/remote_gc.py [--files 10000] [--out FILE]

Generates N x 4 KiB files (main), then a branch rewriting all of them and adding N/10 more
(dead once the branch is deleted and its reflog expired). Two layouts: "one pack" (main and the
branch pushed together: gc rewrites the pack, live share ~48%) and "two packs" (pushed apart:
gc deletes the branch's pack). Push is the core's packed push; gc runs with no grace period
(the packs are seconds old). Prints a Markdown table; with --out, appends it to that file.
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

from mlv.adapters.remote_packs import RemotePacks  # noqa: E402
from mlv.core.project import open_project  # noqa: E402
from mlv.core.remote.gc import gc_remote  # noqa: E402
from mlv.core.remote.push import push  # noqa: E402
from mlv.core.remote.resolve import open_remote  # noqa: E402
from tests.s3server import create_bucket, seaweed_server  # noqa: E402


def sh(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def make_project(repo: Path, files: int, url: str, extra: list[str], together: bool) -> None:
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.email", "b@x.invalid"],
                ["git", "config", "user.name", "bench"], ["mlv", "init"]):  # fmt: skip
        sh(cmd, repo)

    def write_all(count: int) -> None:
        for i in range(count):
            d = repo / "data" / f"d{i // 100:03d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i:05d}.bin").write_bytes(os.urandom(4096))

    write_all(files)
    sh(["mlv", "track", "data"], repo)
    sh(["mlv", "remote", "add", "origin", url, "--default", *extra], repo)
    sh(["mlv", "snapshot", "-m", "main"], repo)
    project = open_project(repo)
    if not together:
        push(project, revs=["main"], packed=True)
    sh(["git", "checkout", "-q", "-b", "exp"], repo)
    write_all(files + files // 10)
    sh(["mlv", "snapshot", "-m", "exp"], repo)
    push(project, revs=["main", "exp"] if together else ["exp"], packed=True)
    project.close()
    sh(["git", "checkout", "-q", "main"], repo)
    sh(["mlv", "checkout", "--force"], repo)
    sh(["git", "branch", "-q", "-D", "exp"], repo)
    sh(["git", "reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all"], repo)


def measure(repo: Path) -> dict[str, float]:
    project = open_project(repo)
    try:
        objects = len(RemotePacks(open_remote(project, None)).entries())
        start = time.perf_counter()
        result = gc_remote(project, grace=0)
        seconds = time.perf_counter() - start
    finally:
        project.close()
    return {"objects": objects, "removed": result.removed_objects, "seconds": seconds,
            "before": result.bytes_before, "after": result.bytes_after}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "remote_gc")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    work = args.work.resolve()
    rows = []
    with seaweed_server(work / "weed") as endpoint:
        create_bucket(endpoint, "bench")
        remotes = {
            "directory": (str(work / "remote-{}"), []),
            "SeaweedFS (S3)": ("s3://bench/{}", ["--endpoint-url", endpoint]),
        }
        for kind, (url, extra) in remotes.items():
            for together in (True, False):
                layout = "one pack" if together else "two packs"
                name = f"{'one' if together else 'two'}-{kind[:3]}"
                make_project(work / name, args.files, url.format(name), extra, together)
                rows.append((kind, layout, measure(work / name)))
    mib = 1024 * 1024
    lines = [
        "| remote | layout | objects | removed | packs before | packs after | gc time |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, layout, m in rows:
        lines.append(
            f"| {kind} | {layout} | {m['objects']:.0f} | {m['removed']:.0f} |"
            f" {m['before'] / mib:.1f} MiB | {m['after'] / mib:.1f} MiB | {m['seconds']:.2f} s |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as handle:
            handle.write(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
