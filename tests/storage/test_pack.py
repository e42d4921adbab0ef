"""Store format 2 (docs/format.md): packs, chunked files, their damage, gc's repack."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from mlv import faults
from mlv.errors import CorruptObject, MissingObjects
from mlv.storage import repack as repack_module
from mlv.storage.chunk import CHUNK_FROM
from mlv.storage.hashing import hash_bytes
from mlv.storage.pack import UnknownFormat
from mlv.storage.repack_local import repack
from mlv.storage.store import ObjectStore
from tests.crash import assert_store_consistent, packed_entries
from tests.stored import damage_packed


def files_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_many_small_objects_make_one_pack_and_one_index(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    ids = [store.add_bytes(f"object {i}\n".encode()) for i in range(2000)]
    assert store.sync_written() == 2000
    names = files_in(tmp_path / "cache")
    assert len(names) == 3, names  # the format, one pack, its index
    assert (tmp_path / "cache/format").read_text() == "2\n"
    other = ObjectStore(tmp_path / "cache")  # another process's view
    assert all(other.read_bytes(oid) == f"object {i}\n".encode() for i, oid in enumerate(ids))
    assert sorted(other.iter_ids()) == sorted(ids)
    assert_store_consistent(tmp_path / "cache")


def test_objects_are_visible_to_others_only_once_synced(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.add_bytes(b"pending")
    assert store.exists(oid) and store.read_bytes(oid) == b"pending"  # its writer sees it
    other = ObjectStore(tmp_path / "cache")
    assert not other.exists(oid)
    with pytest.raises(MissingObjects):
        other.read_bytes(oid)
    store.sync_written()
    assert other.exists(oid) and other.read_bytes(oid) == b"pending"


def big(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def pack_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "packs").glob("*.pack"))


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d[:5_000_000] + bytes([d[5_000_000] ^ 1]) + d[5_000_001:],  # one byte
        lambda d: d[:7_000_000] + b"inserted" + d[7_000_000:],
        lambda d: d + b"appended" * 1000,
    ],
    ids=["one byte", "insertion", "append"],
)
def test_an_edit_of_a_large_file_stores_only_the_chunks_around_it(tmp_path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    store = ObjectStore(tmp_path / "cache")
    old = big(1, 16 * 1024 * 1024)
    new = edit(old)
    for name, data in (("old", old), ("new", new)):
        (tmp_path / name).write_bytes(data)
    store.add_file(tmp_path / "old", hash_bytes(old))
    store.sync_written()
    before = pack_bytes(tmp_path / "cache")
    assert before > len(old)  # stored once, with its chunk list
    store.add_file(tmp_path / "new", hash_bytes(new))
    store.sync_written()
    grown = pack_bytes(tmp_path / "cache") - before
    assert grown < 2 * 1024 * 1024, grown  # one or two chunks of at most 1 MiB
    dst = tmp_path / "restored"
    ObjectStore(tmp_path / "cache").export(
        hash_bytes(new), dst, tmp_path, executable=False, hardlink=False
    )
    assert dst.read_bytes() == new
    assert len(store.chunks_of(hash_bytes(new))) > 16
    assert_store_consistent(tmp_path / "cache")


def test_a_damaged_chunk_makes_exactly_the_files_using_it_corrupt(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    shared = big(2, CHUNK_FROM + 1024 * 1024)
    one, two = shared + b"tail one", shared + b"tail two"
    small = store.add_bytes(b"a small neighbour")
    for name, data in (("one", one), ("two", two)):
        (tmp_path / name).write_bytes(data)
        store.add_file(tmp_path / name, hash_bytes(data))
    store.sync_written()
    first = store.chunks_of(hash_bytes(one))[0]
    assert first == store.chunks_of(hash_bytes(two))[0]  # the same bytes, stored once
    damage_packed(tmp_path / "cache", str(first), "one byte flipped")
    fresh = ObjectStore(tmp_path / "cache")
    corrupt = sorted(str(o) for o in fresh.iter_ids() if not fresh.verify(o))
    assert corrupt == sorted(map(str, [first, hash_bytes(one), hash_bytes(two)]))
    dst = tmp_path / "restored"
    with pytest.raises(CorruptObject):
        fresh.export(hash_bytes(one), dst, tmp_path, executable=False, hardlink=False)
    assert not dst.exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".mlv-tmp")] == []
    assert fresh.read_bytes(small) == b"a small neighbour"  # its pack neighbours are intact


def test_a_damaged_index_is_not_believed(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.add_bytes(b"indexed")
    store.sync_written()
    [idx] = (tmp_path / "cache/packs").glob("*.idx")
    data = bytearray(idx.read_bytes())
    data[20] ^= 1  # inside the first entry's digest
    idx.chmod(0o644)
    idx.write_bytes(bytes(data))
    fresh = ObjectStore(tmp_path / "cache")
    assert not fresh.exists(oid)
    assert fresh.packs.damaged == [idx.name]


def test_a_newer_store_format_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache/format").write_text("3\n")
    with pytest.raises(UnknownFormat, match="newer than this mlv reads"):
        ObjectStore(tmp_path / "cache").exists(hash_bytes(b"x"))


def test_format_1_objects_stay_readable_and_new_ones_are_packed(tmp_path: Path) -> None:
    old = ObjectStore(tmp_path / "cache", loose=True)  # as mlv wrote stores before format 2
    loose = old.add_bytes(b"written in format 1")
    old.sync_written()
    store = ObjectStore(tmp_path / "cache")
    assert store.read_bytes(loose) == b"written in format 1"
    packed = store.add_bytes(b"written in format 2")
    store.sync_written()
    assert not store.path_of(packed).exists() and store.read_bytes(packed)
    assert sorted(store.iter_ids()) == sorted([loose, packed])


def test_a_pack_that_cannot_be_finished_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.add_bytes(b"x" * 1000)
    monkeypatch.setenv(faults.ENV, "enospc@1")
    faults.reload()
    try:
        with pytest.raises(OSError, match="No space left"):
            store.sync_written()
    finally:
        monkeypatch.delenv(faults.ENV)
        faults.reload()
    assert os.listdir(tmp_path / "cache/tmp") == []
    assert list((tmp_path / "cache/packs").glob("*")) == []
    assert not ObjectStore(tmp_path / "cache").exists(oid)


def test_repack_drops_dead_objects_and_keeps_live_ones_readable(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    live = [store.add_bytes(f"live {i}".encode()) for i in range(3)]
    dead = [store.add_bytes(f"dead {i}".encode() * 100) for i in range(10)]
    store.sync_written()
    gone = store.add_bytes(b"only dead here")
    store.sync_written()
    orphan = tmp_path / "cache/packs/0123.pack"  # a kill between a pack's two renames
    orphan.write_bytes(b"MLVPACK2")
    result = repack(store.packs, {bytes.fromhex(o.digest) for o in live}, dry_run=False)
    assert len(result.rewritten_packs) == 1 and len(result.deleted_packs) == 1
    assert {bytes.fromhex(o.digest) for o in [*dead, gone]} == result.removed
    fresh = ObjectStore(tmp_path / "cache")
    assert all(fresh.read_bytes(o) == f"live {i}".encode() for i, o in enumerate(live))
    assert not any(fresh.exists(o) for o in [*dead, gone])
    assert not orphan.exists()
    assert len(list((tmp_path / "cache/packs").glob("*.pack"))) == 1
    assert_store_consistent(tmp_path / "cache")


def test_repack_leaves_a_large_mostly_live_pack_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repack_module, "SMALL_PACK", 1000)
    store = ObjectStore(tmp_path / "cache")
    live = store.add_bytes(b"live" * 1000)
    dead = store.add_bytes(b"dead")
    store.sync_written()
    result = repack(store.packs, {bytes.fromhex(live.digest)}, dry_run=False)
    assert result.removed == set() and ObjectStore(tmp_path / "cache").exists(dead)
    monkeypatch.setattr(repack_module, "SMALL_PACK", 100_000)  # small: worth rewriting
    result = repack(store.packs, {bytes.fromhex(live.digest)}, dry_run=False)
    assert result.removed == {bytes.fromhex(dead.digest)}


def test_two_writers_of_one_store_each_publish_their_pack(tmp_path: Path) -> None:
    one, two = ObjectStore(tmp_path / "cache"), ObjectStore(tmp_path / "cache")
    a = [one.add_bytes(f"a{i}".encode()) for i in range(100)]
    b = [two.add_bytes(f"b{i}".encode()) for i in range(100)]
    both = one.add_bytes(b"same"), two.add_bytes(b"same")
    two.sync_written()
    one.sync_written()
    fresh = ObjectStore(tmp_path / "cache")
    assert all(fresh.read_bytes(o) for o in [*a, *b, *both])
    assert len(list(packed_entries(tmp_path / "cache"))) == 202  # "same" is in both packs
    assert_store_consistent(tmp_path / "cache")
