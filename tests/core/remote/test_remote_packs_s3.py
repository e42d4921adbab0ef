"""Remote packs on a real S3 server (SeaweedFS on loopback): packed push, ranged fetch, marker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.project import open_project
from mlv.core.remote.fetch import fetch
from mlv.core.remote.push import push
from mlv.core.remote.resolve import open_remote
from mlv.storage.chunk import CHUNK_FROM
from tests.cli.test_remote import clone, make_data, s3_endpoint, s3_env
from tests.conftest import MlvRunner, tree_snapshot, write
from tests.s3server import create_bucket

__all__ = ["s3_endpoint", "s3_env"]  # fixtures


@pytest.mark.slow
def test_s3_packed_push_then_ranged_fetch_and_pull(
    project: Path,
    mlv: MlvRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_endpoint: str,
    s3_env: None,
) -> None:
    create_bucket(s3_endpoint, "packs-bucket")
    make_data(project)
    write(project / "models/big.bin", os.urandom(CHUNK_FROM + 300_000))
    assert mlv("track", "data/raw", "models/m.pkl", "models/big.bin").code == 0
    url = "s3://packs-bucket/mlv"
    assert mlv("remote", "add", "origin", url, "--endpoint-url", s3_endpoint).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    pushed = push(open_project(project), packed=True)
    assert pushed.complete and pushed.transferred > 20
    remote = open_remote(open_project(project), None)
    names = sorted(p.rpartition("/")[2] for p in remote.fs.ls(f"{remote.root}/packs"))
    assert len(names) == 2 and names[0].endswith(".idx")
    assert remote.fs.exists(f"{remote.root}/mlv-remote.json")
    assert len(RemotePacks(remote).entries()) > pushed.transferred  # chunks too

    copy = clone(project, tmp_path / "copy", monkeypatch)
    fetched = fetch(open_project(copy))
    assert fetched.complete and fetched.transferred == pushed.transferred
    assert mlv("checkout").code == 0
    for name in ("data", "models"):
        assert tree_snapshot(copy / name) == tree_snapshot(project / name)


def test_s3_remote_marked_with_a_newer_format_is_refused(
    project: Path, mlv: MlvRunner, s3_endpoint: str, s3_env: None
) -> None:
    """RemoteStore.check reads an object store's marker: a newer format is refused (exit 2,
    upgrade hint) by every command, before anything is written; a marker mlv did not write
    too. A packed push marks a bucket format 2 first."""
    import boto3

    create_bucket(s3_endpoint, "marked-bucket")
    make_data(project, files=3)
    assert mlv("track", "data/raw").code == 0
    url = "s3://marked-bucket/mlv"
    assert mlv("remote", "add", "origin", url, "--endpoint-url", s3_endpoint).code == 0
    assert mlv("snapshot", "-m", "v1").code == 0
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    marker = {"Bucket": "marked-bucket", "Key": "mlv/mlv-remote.json"}
    s3.put_object(**marker, Body=b'{"format": 3, "what": "an mlv remote"}\n')
    for args in (["push"], ["push", "--loose"], ["fetch"], ["verify", "--remote", "origin"]):
        result = mlv(*args)
        assert result.code == 2, (args, result)
        assert "has format 3; this mlv knows format 2 at most" in result.err
        assert "hint: upgrade mlv" in result.err and "Traceback" not in result.err
    assert "Contents" not in s3.list_objects_v2(Bucket="marked-bucket", Prefix="mlv/packs/")
    s3.put_object(**marker, Body=b"not json")
    damaged = mlv("push")
    assert damaged.code == 2 and "is not a marker mlv wrote" in damaged.err
    s3.delete_object(**marker)  # no marker: a format-1 remote, or a new one
    pushed = mlv("push")
    assert pushed.code == 0 and "is now format 2" in pushed.out
    body = s3.get_object(**marker)["Body"].read()
    assert b'"format": 2' in body
