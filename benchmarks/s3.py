"""The S3 tier: push and pull of many small files to a real S3-compatible server (SeaweedFS on
loopback, started here and stopped by its pid), mlv beside DVC (dvc-s3), with two floors on the
same bytes: rclone with 16 parallel transfers (one request per object) and one large object."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Measure, environ, git_repo, sh, timed_isolated
from benchmarks.local import Dataset, generate

Record = Callable[[str, str, Measure], None]

PUSH = "push to S3 (SeaweedFS)"
PULL = "pull from S3 (empty cache and tree)"
RCLONE_UP = "rclone copy --transfers 16, upload"
RCLONE_DOWN = "rclone copy --transfers 16, download"
BIG_PUT = "one object of the same bytes, put (boto3)"
BIG_GET = "one object of the same bytes, get (boto3)"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

SIZES = {
    "full": Dataset("s3", 10_000, 4096, 100),
    "quick": Dataset("s3", 10_000, 4096, 100),
    "smoke": Dataset("s3", 200, 4096, 4),
}

_CLIENT = (
    "import boto3, sys; c = boto3.client('s3', endpoint_url=sys.argv[1],"
    " region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing');"
)
PUT = _CLIENT + "c.put_object(Bucket=sys.argv[2], Key='packed', Body=open(sys.argv[3], 'rb'))"
GET = (
    _CLIENT + "b = c.get_object(Bucket=sys.argv[2], Key='packed')['Body'];"
    " open(sys.argv[3], 'wb').write(b.read())"
)


def ensure_rclone() -> tuple[str | None, str]:
    """rclone from PATH, else Debian's package installed with apt-get (as root); with a note."""
    found = shutil.which("rclone")
    if found:
        return found, ""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None, "rclone is not installed (as root: apt-get install rclone); row skipped"
    env = environ(DEBIAN_FRONTEND="noninteractive")
    install = [apt, "install", "-y", "-qq", "rclone"]
    for steps in ([install], [[apt, "update", "-qq"], install]):  # update only when needed
        for args in steps:
            subprocess.run(args, env=env, capture_output=True, check=False, timeout=1200)
        found = shutil.which("rclone")
        if found:
            return found, ""
    return None, "apt-get could not install rclone; row skipped"


def _bucket(endpoint: str, name: str) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.s3server import create_bucket

    create_bucket(endpoint, name)
    return name


def _tool_run(
    name: str, exe: str, source: Path, work: Path, endpoint: str, bucket: str
) -> tuple[Measure, Measure]:
    env = environ(**KEYS, AWS_DEFAULT_REGION="us-east-1")
    repo, clone = work / f"s3-{name}", work / f"s3-{name}-clone"
    git_repo(repo)
    sh(["cp", "-r", str(source), str(repo / "data")], repo)
    url = f"s3://{bucket}/{name}"
    if name == "mlv":
        sh([exe, "init"], repo)
        sh([exe, "track", "data"], repo)
        sh([exe, "snapshot", "-m", "data"], repo)
        sh([exe, "remote", "add", "bench", url, "--default", "--endpoint-url", endpoint], repo)
    else:
        sh([exe, "init", "-q"], repo)
        sh([exe, "config", "core.analytics", "false"], repo)
        sh([exe, "add", "data"], repo)
        sh([exe, "remote", "add", "-d", "bench", url], repo)
        sh([exe, "remote", "modify", "bench", "endpointurl", endpoint], repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "data and remote"], repo)
    push = timed_isolated([exe, "push"], repo, env)
    shutil.rmtree(clone, ignore_errors=True)
    sh(["git", "clone", "-q", str(repo), str(clone)], work)
    pull = timed_isolated([exe, "pull"], clone, env)
    if sum(1 for p in (clone / "data").rglob("*.bin")) != sum(1 for _ in source.rglob("*.bin")):
        raise RuntimeError(f"{name} pull did not restore every file")
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(clone, ignore_errors=True)
    return push, pull


def _rclone(exe: str, source: Path, work: Path, endpoint: str, bucket: str) -> list[Measure]:
    env = environ(
        RCLONE_CONFIG=str(work / "rclone.conf"),  # never read: the remote is all in env vars
        RCLONE_CONFIG_BENCH_TYPE="s3",
        RCLONE_CONFIG_BENCH_PROVIDER="Other",
        RCLONE_CONFIG_BENCH_ENDPOINT=endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=KEYS["AWS_ACCESS_KEY_ID"],
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=KEYS["AWS_SECRET_ACCESS_KEY"],
        RCLONE_CONFIG_BENCH_REGION="us-east-1",
    )
    # The server is plain http on loopback; rclone fails on a CA bundle its transport cannot take.
    env.pop("AWS_CA_BUNDLE", None)
    target = work / "s3-rclone-down"
    shutil.rmtree(target, ignore_errors=True)
    up = [exe, "copy", "--transfers", "16", str(source), f"bench:{bucket}/rclone"]
    down = [exe, "copy", "--transfers", "16", f"bench:{bucket}/rclone", str(target)]
    result = [timed_isolated(up, work, env), timed_isolated(down, work, env)]
    shutil.rmtree(target, ignore_errors=True)
    return result


def _packed(source: Path, work: Path, endpoint: str, bucket: str) -> list[Measure]:
    packed, back = work / "s3-packed.bin", work / "s3-packed-back.bin"
    sh(["sh", "-c", f"find '{source}' -type f -name '*.bin' -exec cat {{}} + > '{packed}'"], work)
    py = sys.executable
    result = [
        timed_isolated([py, "-c", PUT, endpoint, bucket, str(packed)], work),
        timed_isolated([py, "-c", GET, endpoint, bucket, str(back)], work),
    ]
    if back.stat().st_size != packed.stat().st_size:
        raise RuntimeError("the packed object came back with another size")
    packed.unlink()
    back.unlink()
    return result


def run_tier(
    tools: dict[str, str], size: str, runs: int, work: Path, record: Record
) -> dict[str, str]:
    """Every run: each tool's push then pull, then the floors; all against one server.
    Returns notes (why a row is missing) and the tool versions seen here."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.s3server import seaweed_server, weed_executable

    ds = SIZES[size]
    source = work / "data" / f"s3-{size}"
    generate(ds, source)
    rclone, note = ensure_rclone()
    weed = weed_executable()
    info = {"data": ds.describe(), "rclone note": note}
    info["weed"] = subprocess.run(
        [weed or "weed", "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    weed_dir = work / "seaweedfs"
    shutil.rmtree(weed_dir, ignore_errors=True)
    with seaweed_server(weed_dir) as endpoint:
        for run in range(runs):
            order = list(tools.items())
            for name, exe in order if run % 2 == 0 else reversed(order):
                print(f"  s3 run {run + 1}/{runs}: {name}", flush=True)
                bucket = _bucket(endpoint, f"bench-{name}-{run}-{int(time.time())}")
                push, pull = _tool_run(name, exe, source, work, endpoint, bucket)
                record(PUSH, name, push)
                record(PULL, name, pull)
            bucket = _bucket(endpoint, f"bench-floor-{run}-{int(time.time())}")
            if rclone:
                up, down = _rclone(rclone, source, work, endpoint, bucket)
                record(RCLONE_UP, "floor", up)
                record(RCLONE_DOWN, "floor", down)
            put, get = _packed(source, work, endpoint, bucket)
            record(BIG_PUT, "floor", put)
            record(BIG_GET, "floor", get)
    shutil.rmtree(weed_dir, ignore_errors=True)
    return info
