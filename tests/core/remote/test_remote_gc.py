"""``mlv gc --remote`` on a directory remote: dead packs go, half-dead ones are rewritten, young
packs and another gc's lock are respected, and a reader never loses a live object."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from mlv.adapters.remote_packs import RemotePacks
from mlv.core.objects.closure import default_revs, locks_at, top_level
from mlv.core.project import open_project
from mlv.core.remote.fetch import fetch
from mlv.core.remote.gc import gc_remote
from mlv.core.remote.pack_in import fetch_packed
from mlv.core.remote.push import push
from mlv.core.remote.resolve import open_remote
from mlv.storage.pack import decode_index
from tests.cli.test_remote import clone
from tests.conftest import MlvRunner, tree_snapshot
from tests.core.remote.remote_gc_setup import age, half_dead_remote
from tests.stored import damage_packed


def _packs(remote: Path) -> list[str]:
    return sorted(p.name for p in (remote / "packs").iterdir())


def _objects(remote: Path) -> set[bytes]:
    found: set[bytes] = set()
    for idx in (remote / "packs").glob("*.idx"):
        found |= {e[0] for e in decode_index(idx.read_bytes()) or []}
    return found


def test_gc_remote_rewrites_a_half_dead_pack_and_a_clone_still_pulls(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    before, objects = _packs(remote), _objects(remote)
    size = sum((remote / "packs" / n).stat().st_size for n in before)
    age(remote)
    dry = mlv("gc", "--remote", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    # 10 files, the model, and the tree levels they changed: the top, part0/ and part2/
    assert json.loads(dry.out)["removed_objects"] == 14
    assert _packs(remote) == before
    result = mlv("gc", "--remote", "origin", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["rewritten_packs"] == [before[0][:-4]] and len(doc["new_packs"]) == 1
    assert doc["removed_objects"] == 14 and doc["bytes_after"] < doc["bytes_before"] == size
    assert len(_objects(remote)) == len(objects) - 14
    assert not (remote / "gc.lock").exists()
    again = json.loads(mlv("gc", "--remote", "--json").out)  # the new pack is young
    assert again["removed_objects"] == 0 and again["young_packs"] == 1

    copy = clone(project, tmp_path / "copy", monkeypatch)
    assert mlv("pull").code == 0
    for name in ("data", "models"):
        assert tree_snapshot(copy / name) == tree_snapshot(project / name)


def test_a_dead_pack_is_deleted_and_young_packs_are_left_alone(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    proj = open_project(project)
    try:
        # An unindexed pack: a push killed before its index, or one still uploading.
        stray = remote / "packs" / ("0" * 32 + ".pack")
        stray.write_bytes(b"MLVPACK2")
        young = gc_remote(proj)  # just pushed: within the grace period
        assert young.young_packs == 1 and young.removed_objects == 0
        assert young.rewritten_packs == [] and young.unindexed_removed == []
        assert len(_packs(remote)) == 3 and stray.exists()
        done = gc_remote(proj, grace=0)
        assert len(done.rewritten_packs) == 1 and done.unindexed_removed == [stray.name]
        assert not stray.exists()
        # Now nothing but the live objects: a snapshot of only dead data leaves no pack.
        assert gc_remote(proj, grace=0).removed_objects == 0
    finally:
        proj.close()


def test_another_gc_holding_the_lock_stops_gc_and_a_dead_holder_does_not(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    age(remote)
    before = _packs(remote)
    lock = remote / "gc.lock"
    holder = {"host": "elsewhere", "pid": 1, "token": "x", "time": time.time()}
    lock.write_text(json.dumps(holder))
    busy = mlv("gc", "--remote")
    assert busy.code == 1 and "holds its lock" in busy.err and "gc.lock" in busy.err
    assert _packs(remote) == before and json.loads(lock.read_text()) == holder
    # A holder on this host whose process is gone is stale: taken over.
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    holder.update(host=socket.gethostname(), pid=dead)
    lock.write_text(json.dumps(holder))
    assert mlv("gc", "--remote").code == 0
    assert _packs(remote) != before and not lock.exists()


def test_a_reader_holding_the_old_listing_refetches_from_the_new_pack(
    project: Path, mlv: MlvRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch that listed the indexes before gc rewrote a pack reads the old pack, finds it
    gone, lists again and reads the copy (which gc uploaded before deleting anything)."""
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    age(remote)
    copy = clone(project, tmp_path / "copy", monkeypatch)
    reader = open_project(copy)
    stale = RemotePacks(open_remote(reader, None))
    listing = stale.entries()
    proj = open_project(project)
    try:
        assert len(gc_remote(proj).rewritten_packs) == 1
    finally:
        proj.close()
    locks = locks_at(reader, default_revs(reader), include_worktree=True)
    wanted = set(top_level(locks)[0])  # the trees and the model, listed before gc ran
    fetched, rest = fetch_packed(reader.store, stale, wanted, 2, lambda n: None, listing)
    assert fetched.transferred == len(wanted) and not fetched.corrupt and not rest
    assert any(f"{e.pack}.pack" not in stale.sizes() for e in listing.values())  # it was stale
    result = fetch(reader)
    assert result.complete
    reader.close()
    assert mlv("checkout").code == 0
    assert tree_snapshot(copy / "data") == tree_snapshot(project / "data")


def test_push_after_gc_remote_sends_what_gc_dropped_if_needed_again(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    age(remote)
    proj = open_project(project)
    try:
        gc_remote(proj)
        assert push(proj, packed=True).transferred == 0  # main's objects all stayed
    finally:
        proj.close()


def test_a_pack_whose_live_blob_is_damaged_is_kept_and_named(
    project: Path, mlv: MlvRunner, tmp_path: Path
) -> None:
    """gc --remote checks each blob it copies: a pack with a damaged live one is left for
    `mlv verify --remote`, and none of its objects counts as removed."""
    remote = tmp_path / "remote"
    half_dead_remote(project, mlv, str(remote))
    age(remote)
    (stem,) = (p.stem for p in (remote / "packs").glob("*.idx"))
    proj = open_project(project)
    try:
        lock = proj.read_lock()
        assert lock is not None
        damage_packed(remote, str(lock.artifacts["models/m.pkl"].id), "one byte flipped")
        done = gc_remote(proj, grace=0)
    finally:
        proj.close()
    assert done.damaged_packs == [stem] and done.rewritten_packs == done.deleted_packs == []
    assert done.removed_objects == 0 and done.removed_bytes == 0
    assert (remote / "packs" / f"{stem}.pack").exists() and (
        remote / "packs" / f"{stem}.idx"
    ).exists()
