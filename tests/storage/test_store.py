import os
import stat
from pathlib import Path

import pytest

from mlv.errors import CorruptObject, MissingObjects
from mlv.storage.hashing import hash_bytes
from mlv.storage.store import MAX_IN_MEMORY, FileChanged, ObjectStore, ObjectTooLarge


def test_add_file_is_content_addressed_read_only_and_fanned_out(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    src = tmp_path / "src"
    src.write_bytes(b"hello")
    oid = hash_bytes(b"hello")
    store.add_file(src, oid)
    path = store.path_of(oid)
    assert path == tmp_path / "cache" / "xxh128" / oid.digest[:2] / oid.digest[2:]
    assert path.read_bytes() == b"hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.exists(oid) and store.verify(oid)
    store.add_file(src, oid)  # adding again is harmless
    assert list(store.iter_ids()) == [oid]
    assert os.listdir(tmp_path / "cache" / "tmp") == []


def test_add_file_refuses_content_that_does_not_match(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    src = tmp_path / "src"
    src.write_bytes(b"changed meanwhile")
    oid = hash_bytes(b"what was hashed")
    with pytest.raises(FileChanged):
        store.add_file(src, oid)
    assert not store.exists(oid)
    assert os.listdir(tmp_path / "cache" / "tmp") == []


def test_read_bytes_detects_missing_and_corrupt(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.add_bytes(b"tree bytes")
    assert store.read_bytes(oid) == b"tree bytes"
    path = store.path_of(oid)
    path.chmod(0o644)
    path.write_bytes(b"tree bytez")
    with pytest.raises(CorruptObject):
        store.read_bytes(oid)
    assert not store.verify(oid)
    with pytest.raises(MissingObjects):
        store.read_bytes(hash_bytes(b"never stored"))


def test_read_bytes_refuses_a_huge_object_unread(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    small = store.add_bytes(b"x" * 100)
    assert store.read_bytes(small, max_size=100) == b"x" * 100
    with pytest.raises(ObjectTooLarge, match="101 bytes"):
        store.read_bytes(store.add_bytes(b"x" * 101), max_size=100)
    # A sparse file past the default limit: refused from its size alone, before any read.
    forged = hash_bytes(b"forged")
    path = store.path_of(forged)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(MAX_IN_MEMORY + 1)
    with pytest.raises(ObjectTooLarge) as info:
        store.read_bytes(forged)
    assert info.value.exit_code == 2 and info.value.hint
