"""Edges of the object store: a download that cannot be published, and a linked checkout that
cannot link (another file system, a missing directory)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlv.storage.hashing import hash_bytes
from mlv.storage.store import ObjectStore


@pytest.fixture
def other_file_system(tmp_path: Path) -> Iterator[Path]:
    """A directory on a file system other than tmp_path's (/dev/shm is a tmpfs)."""
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system at hand")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        yield Path(other)


def test_a_download_that_cannot_be_published_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "store", loose=True)
    data = b"downloaded bytes"
    oid = hash_bytes(data)
    tmp = store.temp_path(oid)
    tmp.write_bytes(data)
    fan = store.path_of(oid).parent
    fan.parent.mkdir(parents=True, exist_ok=True)
    fan.write_bytes(b"a file where the fan-out directory belongs")
    with pytest.raises(OSError):
        store.import_temp(tmp, oid)
    assert not tmp.exists()
    assert not os.path.lexists(store.path_of(oid))
    assert os.listdir(tmp.parent) == []


def test_a_hard_linked_checkout_to_another_file_system_copies(
    tmp_path: Path, other_file_system: Path
) -> None:
    store = ObjectStore(tmp_path / "store", loose=True)
    oid = store.add_bytes(b"model weights")
    dst = other_file_system / "m.bin"
    store.export(oid, dst, other_file_system, executable=False, hardlink=True)
    assert dst.read_bytes() == b"model weights"
    assert os.stat(dst).st_ino != os.stat(store.path_of(oid)).st_ino
    assert os.listdir(other_file_system) == ["m.bin"]  # no temporary file left


def test_a_hard_linked_checkout_into_a_missing_directory_raises(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "store", loose=True)
    oid = store.add_bytes(b"model weights")
    with pytest.raises(FileNotFoundError):
        store.export(oid, tmp_path / "gone/m.bin", tmp_path, executable=False, hardlink=True)
    assert not (tmp_path / "gone").exists()
