"""``gc --remote`` on a real S3 server (SeaweedFS on loopback): the lock object, the grace
period from the listing's LastModified, a half-dead pack rewritten, a clone still pulls."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.project import open_project
from mlv.core.remote.fetch import fetch
from mlv.core.remote.gc import gc_remote
from mlv.core.remote.resolve import open_remote
from tests.cli.test_remote import clone, s3_endpoint, s3_env
from tests.conftest import MlvRunner, tree_snapshot
from tests.core.remote.remote_gc_setup import half_dead_remote
from tests.s3server import create_bucket

__all__ = ["s3_endpoint", "s3_env"]  # fixtures


@pytest.mark.slow
def test_s3_gc_remote_rewrites_under_its_lock(
    project: Path,
    mlv: MlvRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_endpoint: str,
    s3_env: None,
) -> None:
    create_bucket(s3_endpoint, "gc-bucket")
    half_dead_remote(project, mlv, "s3://gc-bucket/mlv", "--endpoint-url", s3_endpoint)
    proj = open_project(project)
    remote = open_remote(proj, None)
    names = sorted(RemotePacks(remote).sizes())
    try:
        young = gc_remote(proj)  # LastModified is seconds ago: within the grace period
        assert young.young_packs == 1 and young.removed_objects == 0
        assert sorted(RemotePacks(remote).sizes()) == names

        lock = f"{remote.root}/gc.lock"
        holder = {"host": "elsewhere", "pid": 1, "token": "t", "time": time.time()}
        remote.fs.pipe_file(lock, json.dumps(holder).encode())
        busy = mlv("gc", "--remote")
        assert busy.code == 1 and "holds its lock" in busy.err
        remote.fs.rm_file(lock)

        entries = len(RemotePacks(remote).entries())
        done = gc_remote(proj, grace=0)
        # 10 files, the model, the tree's levels: the top, part0/ and part2/
        assert done.removed_objects == 14 and len(done.rewritten_packs) == 1
        assert done.bytes_after < done.bytes_before
        assert len(RemotePacks(remote).entries()) == entries - 14
        assert sorted(RemotePacks(remote).sizes()) == sorted(
            f"{done.new_packs[0]}.{ext}" for ext in ("idx", "pack")
        )
        assert not remote.fs.exists(lock)
    finally:
        proj.close()

    copy = clone(project, tmp_path / "copy", monkeypatch)
    assert fetch(open_project(copy)).complete
    assert mlv("checkout").code == 0
    for name in ("data", "models"):
        assert tree_snapshot(copy / name) == tree_snapshot(project / name)
