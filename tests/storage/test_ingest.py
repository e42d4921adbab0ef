"""Hashing and storing a work-tree file in one read (``mlv.storage.ingest``)."""

from __future__ import annotations

import os
from pathlib import Path

from mlv.storage.chunk import CHUNK_FROM
from mlv.storage.hashing import hash_bytes
from mlv.storage.ingest import hash_and_add
from mlv.storage.store import ObjectStore
from tests.crash import assert_store_consistent


def test_a_small_file_is_stored_from_the_bytes_it_was_hashed_from(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    src = tmp_path / "f"
    src.write_bytes(b"hello")
    seen: list[int] = []
    oid, added = hash_and_add(store, src, 5, seen.append)
    assert (oid, added, seen) == (hash_bytes(b"hello"), True, [5])
    assert hash_and_add(store, src, 5) == (oid, False)  # already in the pack being written
    assert store.sync_written() == 1
    other = ObjectStore(tmp_path / "cache")
    assert other.read_bytes(oid) == b"hello"
    assert_store_consistent(tmp_path / "cache")


def test_an_object_another_process_packed_is_not_stored_again(tmp_path: Path) -> None:
    first = ObjectStore(tmp_path / "cache")
    oid = first.add_bytes(b"shared")
    first.sync_written()
    src = tmp_path / "f"
    src.write_bytes(b"shared")
    second = ObjectStore(tmp_path / "cache")  # has not listed packs/ yet
    assert hash_and_add(second, src, 6) == (oid, False)
    assert second.sync_written() == 0


def test_a_loose_object_is_not_stored_again(tmp_path: Path) -> None:
    ObjectStore(tmp_path / "cache", loose=True).add_bytes(b"old format")
    src = tmp_path / "f"
    src.write_bytes(b"old format")
    store = ObjectStore(tmp_path / "cache")
    assert hash_and_add(store, src, 10) == (hash_bytes(b"old format"), False)
    assert store.sync_written() == 0


def test_a_large_file_is_chunked_hashed_and_stored_in_one_pass(tmp_path: Path) -> None:
    data = os.urandom(CHUNK_FROM + 123_457)
    src = tmp_path / "big"
    src.write_bytes(data)
    store = ObjectStore(tmp_path / "cache")
    seen: list[int] = []
    oid, added = hash_and_add(store, src, len(data), seen.append)
    assert (oid, added, sum(seen)) == (hash_bytes(data), True, len(data))
    assert len(store.chunks_of(oid)) > 1
    assert hash_and_add(store, src, len(data)) == (oid, False)
    store.sync_written()
    assert ObjectStore(tmp_path / "cache").verify(oid)
    assert_store_consistent(tmp_path / "cache")


def test_a_file_that_grew_after_its_stat_is_stored_whole(tmp_path: Path) -> None:
    """The id is the hash of everything read, and everything read is stored."""
    src = tmp_path / "f"
    src.write_bytes(b"x" * 100)
    store = ObjectStore(tmp_path / "cache")
    oid, added = hash_and_add(store, src, 10)  # stat had said 10 bytes
    assert (oid, added) == (hash_bytes(b"x" * 100), True)
    store.sync_written()
    assert ObjectStore(tmp_path / "cache").read_bytes(oid) == b"x" * 100


def test_a_store_writing_loose_objects_only_hashes(tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"linked later")
    store = ObjectStore(tmp_path / "cache", loose=True)
    assert hash_and_add(store, src, 12) == (hash_bytes(b"linked later"), False)
    assert not store.exists(hash_bytes(b"linked later"))


def test_a_large_file_beside_loose_objects_is_only_hashed(tmp_path: Path) -> None:
    """It may be one of them (format 1): chunking it would store its bytes a second time."""
    data = os.urandom(CHUNK_FROM + 1)
    src = tmp_path / "big"
    src.write_bytes(data)
    ObjectStore(tmp_path / "cache", loose=True).add_file(src, hash_bytes(data))
    store = ObjectStore(tmp_path / "cache")
    assert hash_and_add(store, src, len(data)) == (hash_bytes(data), False)
    assert store.sync_written() == 0
