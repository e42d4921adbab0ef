"""Hard-linked checkout proofs: an object verified once is linked unread while its stat identity
holds, and read again when anything could have changed its bytes (mlv.storage.state)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlv.errors import CorruptObject
from mlv.storage.hashing import hash_bytes
from mlv.storage.state import StatCache
from mlv.storage.store import ObjectStore

CONTENT = b"model weights, version one\n"


def linked(tmp_path: Path) -> tuple[ObjectStore, StatCache, Path, Path]:
    """A loose object, verified and linked into the work tree once, its proof recorded."""
    store = ObjectStore(tmp_path / "store", loose=True)
    oid = store.add_bytes(CONTENT)
    store.sync_written()
    cache = StatCache(tmp_path / ".mlv" / "state.db")
    work = tmp_path / "work"
    work.mkdir()
    obj = store.path_of(oid)
    while cache.clock().fs_ns <= obj.stat().st_mtime_ns:  # the object is older than the check
        pass
    clock = cache.clock()
    after = store.export(oid, work / "m.bin", tmp_path, executable=False, hardlink=True)
    assert after is not None and after.st_ino == obj.stat().st_ino
    cache.record_proof(oid, after, clock.stamp(after.st_dev))
    cache.flush()
    return store, cache, obj, work / "m.bin"


def proven(cache: StatCache, obj: Path) -> bool:
    return StatCache.proven(cache.proofs(), hash_bytes(CONTENT), obj.stat())


def test_a_proven_object_is_linked_unread_and_an_unproven_one_is_hashed(tmp_path: Path) -> None:
    store, cache, obj, _ = linked(tmp_path)
    assert proven(cache, obj)
    # Damage the bytes behind mlv's back: only hashing can tell now.
    obj.chmod(0o644)
    with open(obj, "r+b") as handle:
        handle.write(b"M")
    oid = hash_bytes(CONTENT)
    with pytest.raises(CorruptObject):
        store.export(oid, tmp_path / "a.bin", tmp_path, executable=False, hardlink=True)
    assert not (tmp_path / "a.bin").exists()
    # A proof says "unread": whatever the bytes (here: damaged), the link is made.
    store.export(
        oid, tmp_path / "b.bin", tmp_path, executable=False, hardlink=True, proven=lambda _: True
    )
    assert (tmp_path / "b.bin").read_bytes()[:1] == b"M"


def test_an_in_place_edit_through_the_work_tree_voids_the_proof(tmp_path: Path) -> None:
    _, cache, obj, work_file = linked(tmp_path)
    before = obj.stat()
    with open(work_file, "r+b") as handle:  # the same inode as the object (mlv runs as root
        handle.write(b"M")  # in CI; a user would chmod first, which moves the ctime too)
    assert not proven(cache, obj)  # the mtime moved
    os.utime(work_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # put back, as cp -p does
    assert obj.stat().st_mtime_ns == before.st_mtime_ns
    assert not proven(cache, obj)  # the ctime moved, the link count did not


def test_removing_a_work_tree_link_keeps_the_proof(tmp_path: Path) -> None:
    _, cache, obj, work_file = linked(tmp_path)
    work_file.unlink()  # the user's `rm -rf data`: only the link count and ctime move
    assert proven(cache, obj)


def test_a_chmod_voids_the_proof(tmp_path: Path) -> None:
    _, cache, obj, _ = linked(tmp_path)
    obj.chmod(0o644)
    assert not proven(cache, obj)


def test_a_racily_verified_object_is_not_proven(tmp_path: Path) -> None:
    _, cache, obj, _ = linked(tmp_path)
    after = obj.stat()
    cache.record_proof(hash_bytes(CONTENT), after, after.st_mtime_ns)  # checked in its tick
    cache.flush()
    assert not proven(cache, obj)
